"""Train one run with TRL's SFTTrainer, resuming from its last checkpoint when there is one.

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb]
"""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import Config
from mixft.runner.store.atomic import write_json
from mixft.runner.train.models import load_model
from mixft.runner.train.trl_adapter import lora_config, quantization_config, to_sft_config

log = logging.getLogger(__name__)


@dataclass
class Trained:
    model: Any
    metrics: dict[str, float]
    # the optimizer step training restarted from (0 for a fresh start)
    resumed_from_step: int


def json_log_callback(path: Path) -> Any:
    """A TrainerCallback appending every trainer log as one JSON line (kept even if the run dies).

    At the start it writes progress.json beside the log: the total steps `mixft status` measures against.
    """
    from transformers import TrainerCallback

    class JsonLog(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                write_json(path.parent / "progress.json", {"max_steps": state.max_steps})

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            if logs and state.is_world_process_zero:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return JsonLog()


class AlreadyTrained(Exception):
    """Raised instead of a step past max_steps (see `stop_at_max_steps`)."""


def stop_at_max_steps() -> Any:
    """A TrainerCallback that refuses to start a step once max_steps are done.

    transformers (5.23) resuming from the final checkpoint of a max_steps run trains one step more
    (global_step max_steps + 1): its loop checks the stop flag only after a step. A run killed after
    its training ended (final save, evaluation, metrics) resumes from that checkpoint.
    """
    from transformers import TrainerCallback

    class StopAtMaxSteps(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if 0 < state.max_steps <= state.global_step:
                raise AlreadyTrained(f"step {state.global_step} of {state.max_steps}")

    return StopAtMaxSteps()


def last_checkpoint(folder: Path) -> tuple[str | None, int]:
    """The newest complete checkpoint in `folder` and its step, or (None, 0).

    A checkpoint that is not whole (see `complete`) was cut off mid-save (a kill, a full disk) or
    mid-copy (a store on a bucket mount synced half-way before a preemption): it is removed, and the
    one before it is used.
    """
    steps = sorted(
        (
            int(p.name.rsplit("-", 1)[1])
            for p in folder.glob("checkpoint-*")
            if p.name.rsplit("-", 1)[1].isdigit()
        ),
        reverse=True,
    )
    for step in steps:
        path = folder / f"checkpoint-{step}"
        if not complete(path):
            log.warning("removing incomplete checkpoint %s", path)
            shutil.rmtree(path, ignore_errors=True)
            continue
        return str(path), step
    return None, 0


TORCH_FILES = (".pt", ".pth", ".bin")  # torch.save writes zip archives (central directory last)


def complete(path: Path) -> bool:
    """Whether every file of a checkpoint is whole.

    trainer_state.json parses (the trainer writes it last), every torch file is a zip archive with
    its central directory (written last), and every .safetensors file holds the bytes its header
    promises. A save or copy cut off anywhere fails one of these, whatever order files were written in.
    """
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        for file in path.rglob("*"):
            if file.suffix in TORCH_FILES and not zipfile.is_zipfile(file):
                return False
            if file.suffix == ".safetensors" and not _whole_safetensors(file):
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # unreadable or malformed
        return False
    return True


def _whole_safetensors(file: Path) -> bool:
    """The file is 8 bytes of header length, the JSON header, then the tensors it locates."""
    size = file.stat().st_size
    with file.open("rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        if size < 8 + length:
            return False
        header = json.loads(handle.read(length))
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    return size == 8 + length + max(ends, default=0)


def _train_rows(cfg: Config, rows: Any) -> Any:
    rows = rows.select_columns(["input_ids", "labels"])
    if not cfg.training.assistant_only_loss:  # loss on every token, prompt included
        rows = rows.map(lambda row: {"labels": row["input_ids"]})
    return rows


def _loss_metrics(history: list[dict[str, Any]]) -> dict[str, float]:
    losses = [entry["loss"] for entry in history if "loss" in entry]
    return {"train/first_loss": losses[0], "train/last_loss": losses[-1]} if losses else {}


def run_loss(
    history: list[dict[str, Any]], resumed_from: int, steps_now: int, loss_now: float
) -> float | None:
    """Mean training loss per optimizer step over the whole run, across resumes.

    transformers' training_loss covers only the steps of the last `train()` call (0.0 when it trained
    none). The steps before the resume point come from the logged losses the checkpoint kept (each
    the mean since the previous log); steps trained after the last log before the checkpoint are
    unknown and left out (none when logging_steps divides save_steps).

    Args:
        history: trainer.state.log_history (restored from the checkpoint on resume).
        resumed_from: The checkpoint step training restarted from (0: a fresh start).
        steps_now: Optimizer steps trained by this call.
        loss_now: transformers' training_loss of this call.

    Returns:
        The mean loss, or None when no step's loss is known.
    """
    if resumed_from == 0:
        return loss_now
    total, known, last = loss_now * steps_now, steps_now, 0
    for entry in history:
        if "loss" in entry and last < entry["step"] <= resumed_from:
            total += entry["loss"] * (entry["step"] - last)
            known += entry["step"] - last
            last = entry["step"]
    return total / known if known else None


def _save_final(trainer: Any, tokenizer: Any, run_dir: Path) -> None:
    """Save the weights (or adapter) to run_dir/model through a staging folder and one rename.

    Every process calls save_model (DeepSpeed gathers the shards collectively); the main one renames.
    """
    staging, final = run_dir / ".model-staging", run_dir / "model"
    if trainer.is_world_process_zero():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(staging))
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)


def train(cfg: Config, rows: Any, tokenizer: Any, run_dir: Path, report_to: str) -> Trained:
    """Fine-tune the run's model on its mix and save the final weights (or LoRA adapter) to run_dir/model.

    Args:
        cfg: The resolved run config.
        rows: The training mix (input_ids, labels), from `build_training_set`.
        tokenizer: The model's tokenizer.
        run_dir: The run directory; checkpoints go to run_dir/checkpoints.
        report_to: "wandb" or "none".
    """
    from trl import SFTTrainer

    checkpoints = run_dir / "checkpoints"
    n_sources = len(cfg.mixture.tasks) + len(cfg.regularizer.sources)
    args = to_sft_config(cfg, checkpoints, n_sources, report_to)
    model = load_model(cfg.model, quantization_config(cfg))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=_train_rows(cfg, rows),
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=[json_log_callback(run_dir / "train.log"), stop_at_max_steps()],
    )
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # logs go to train.log (and W&B), not to stdout
    resume, step = last_checkpoint(checkpoints)
    if resume:
        log.info("resuming from %s (step %d)", resume, step)
    try:
        result = trainer.train(resume_from_checkpoint=resume)
        loss_now, runtime = float(result.training_loss), float(result.metrics.get("train_runtime", 0.0))
    except AlreadyTrained:  # the checkpoint is the final one: its weights are loaded, nothing to train
        loss_now, runtime = 0.0, 0.0
    _save_final(trainer, tokenizer, run_dir)
    if cfg.training.save_final_only and trainer.is_world_process_zero():
        shutil.rmtree(checkpoints, ignore_errors=True)
    history, steps = trainer.state.log_history, trainer.state.global_step
    loss = run_loss(history, step, steps - step, loss_now)
    metrics = {
        **({"train/loss": loss} if loss is not None else {}),
        "train/steps": float(steps),
        "train/runtime_s": runtime,  # this attempt's
        "train/examples": float(len(rows)),
        **_loss_metrics(history),
    }
    return Trained(trainer.model, metrics, step)
