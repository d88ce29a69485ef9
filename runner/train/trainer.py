"""Train one run with TRL's SFTTrainer, resuming from its last checkpoint when there is one.

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb]
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.config.run import kept_weights
from mixft.runner.config.schema import Config
from mixft.runner.store import rundir
from mixft.runner.train.checkpoints import last_checkpoint
from mixft.runner.train.models import load_model
from mixft.runner.train.throughput import reset_peak_memory, throughput, tokens_seen
from mixft.runner.train.trl_adapter import lora_config, quantization_config, to_sft_config

log = logging.getLogger(__name__)


@dataclass
class Trained:
    model: Any
    metrics: dict[str, float]
    # the optimizer step training restarted from (0 for a fresh start)
    resumed_from_step: int


def json_log_callback(folder: Path) -> Any:
    """A TrainerCallback appending every trainer log to the run's train.log (kept even if the run dies).

    At the start it records the total steps `mixft status` measures progress against.
    """
    from transformers import TrainerCallback

    class JsonLog(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                rundir.write_progress(folder, state.max_steps)

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            if logs and state.is_world_process_zero:
                rundir.append_train_log(folder, {"step": state.global_step, **logs})

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


def _save_final(trainer: Any, tokenizer: Any, folder: Path, keep: str) -> Any:
    """Save the weights `keep` asks for to folder/model, through a staging folder and one rename.

    Every process calls save_model (DeepSpeed gathers the shards collectively); the main one renames.
    keep=final on a LoRA run saves the adapter merged into the model. Returns the model to evaluate.
    """
    final = rundir.model_dir(folder)
    if keep == "none":
        if trainer.is_world_process_zero():
            shutil.rmtree(final, ignore_errors=True)
        return trainer.model
    staging = final.with_name(f".{final.name}-staging")
    if trainer.is_world_process_zero():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    model = trainer.model
    if keep == "final" and hasattr(model, "merge_and_unload"):  # a LoRA adapter: merge it
        model = model.merge_and_unload()
        if trainer.is_world_process_zero():
            model.save_pretrained(str(staging), safe_serialization=True)
    else:
        trainer.save_model(str(staging))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(staging))
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    return model


def train(cfg: Config, rows: Any, tokenizer: Any, run_dir: Path, report_to: str) -> Trained:
    """Fine-tune the run's model on its mix and keep its weights in run_dir/model (see training.keep).

    Args:
        cfg: The resolved run config.
        rows: The training mix (input_ids, labels), from `build_training_set`.
        tokenizer: The model's tokenizer.
        run_dir: The training's folder; checkpoints go to run_dir/checkpoints.
        report_to: "wandb" or "none".
    """
    from trl import SFTTrainer

    checkpoints = rundir.checkpoints_dir(run_dir)
    args = to_sft_config(cfg, checkpoints, report_to)
    model = load_model(cfg.model, quantization_config(cfg))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=_train_rows(cfg, rows),
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=[json_log_callback(run_dir), stop_at_max_steps()],
    )
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # logs go to train.log (and W&B), not to stdout
    resume, step = last_checkpoint(checkpoints)
    if resume:
        log.info("resuming from %s (step %d)", resume, step)
    seen_before = tokens_seen(resume)
    reset_peak_memory()
    try:
        result = trainer.train(resume_from_checkpoint=resume)
        loss_now, runtime = float(result.training_loss), float(result.metrics.get("train_runtime", 0.0))
    except AlreadyTrained:  # the checkpoint is the final one: its weights are loaded, nothing to train
        loss_now, runtime = 0.0, 0.0
    keep = kept_weights(cfg)
    model = _save_final(trainer, tokenizer, run_dir, keep)
    if (cfg.training.save_final_only or keep == "none") and trainer.is_world_process_zero():
        shutil.rmtree(checkpoints, ignore_errors=True)
    history, steps = trainer.state.log_history, trainer.state.global_step
    loss = run_loss(history, step, steps - step, loss_now)
    metrics = {
        **({"train/loss": loss} if loss is not None else {}),
        "train/steps": float(steps),
        "train/runtime_s": runtime,  # this attempt's
        "train/examples": float(len(rows)),
        # the autocast training.precision resolved to on this machine (auto is what the id hashes)
        "train/bf16": float(args.bf16),
        "train/fp16": float(args.fp16),
        **_loss_metrics(history),
        **throughput(trainer.state.num_input_tokens_seen - seen_before, runtime),
    }
    return Trained(model, metrics, step)
