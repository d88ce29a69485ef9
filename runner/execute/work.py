"""What a run's process does once it holds its claims: train (unless its training is done and its
weights kept), then evaluate. Each stage records its own state: the training in runs/<training>/,
the evaluation in the run's folder.

run: python -m mixft.runner.execute.entry RUN_ID    (see entry.py)
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mixft.runner.config.run import eval_tasks, kept_weights, role_of
from mixft.runner.config.schema import Config
from mixft.runner.execute.states import cause_of
from mixft.runner.plan.hardware import mfu
from mixft.runner.store import rundir
from mixft.runner.store.status import read_status, record_end, set_state


class Interrupted(BaseException):
    """SIGTERM (preemption, scancel, a second Ctrl-C upstream): stop and mark the run interrupted."""


@contextlib.contextmanager
def recorded(folder: Path) -> Iterator[None]:
    """Record how a stage (a training, a run) ends unless it ends well: interrupted on SIGTERM or
    Ctrl-C or a fault of the machine (a full disk, host memory: store/faults.py), failed with its
    traceback on any other error. Recording never raises over the error (a full disk may refuse it:
    the executor then reads the cause from the run.log and the exit code)."""
    try:
        yield
    except (KeyboardInterrupt, Interrupted) as exc:
        record_end(folder, "interrupted", f"{type(exc).__name__}: {exc}")
        raise
    except BaseException:
        text = traceback.format_exc()
        cause = cause_of(text, folder)
        record_end(folder, "interrupted" if cause.resumable else "failed", text, cause.line)
        raise


def needs_training(cfg: Config, training: Path) -> bool:
    """True unless the run scores the base model, or its training is done with its weights kept."""
    if role_of(cfg) == "base":
        return False
    return read_status(training)["state"] != "done" or not rundir.has_weights(training)


def _train(cfg: Config, tokenizer: Any, training: Path, report_to: str) -> tuple[Any, dict[str, float]]:
    """Train and record the training's state and metrics in its own folder."""
    from mixft.runner.data.build import build_training_set
    from mixft.runner.train.trainer import train

    if read_status(training)["state"] == "running":  # we hold its claim: its last holder died
        set_state(training, "interrupted", "the previous attempt ended without recording its state")
    set_state(training, "running")
    with recorded(training):
        clock = time.perf_counter()
        built_before_ranks_meet(cfg)
        built = build_training_set(cfg, tokenizer)
        rundir.write_manifest(training, built.manifest)
        metrics = {"time/data_s": time.perf_counter() - clock}
        trained = train(cfg, built.rows, tokenizer, training, report_to)
        metrics |= {**trained.metrics, "train/resumed_from_step": float(trained.resumed_from_step)}
        metrics["train/world_size"] = float(world_size())
        metrics["time/train_s"] = time.perf_counter() - clock - metrics["time/data_s"]
        metrics |= utilisation(cfg, metrics)
        rundir.write_metrics(training, metrics)
        set_state(training, "done")
        return trained.model, metrics


def built_before_ranks_meet(cfg: Config) -> None:
    """Build a local model (the tiny one) now, before the trainer forms a run's process group: once
    it has, transformers' save_pretrained writes no weights in a rank > 0, and the rank that builds
    the model first would leave a folder without them."""
    from mixft.runner.train.models import model_source

    model_source(cfg.model)


def world_size() -> int:
    """Processes the training ran on: the size of its process group (1 when it had none, as when
    each process of a launch trains alone, which a CPU launch without accelerate's CPU mode does)."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def utilisation(cfg: Config, metrics: dict[str, float]) -> dict[str, float]:
    """`train/mfu` of a training on a GPU plan/hardware.py knows (nothing on CPU)."""
    import torch

    if not torch.cuda.is_available() or "train/tokens_per_s" not in metrics:
        return {}
    device = torch.cuda.get_device_name(0)
    value = mfu(cfg.model.num_parameters, metrics["train/tokens_per_s"], cfg.training.method, device)
    return {} if value is None else {"train/mfu": value}


def _kept(cfg: Config, training: Path) -> tuple[Any, dict[str, float]]:
    """The kept weights of a done training, and its metrics."""
    from mixft.runner.train.models import load_kept
    from mixft.runner.train.trl_adapter import quantization_config

    adapter = kept_weights(cfg) == "adapter"
    model = load_kept(
        cfg.model, rundir.model_dir(training), adapter, quantization_config(cfg) if adapter else None
    )
    return model, rundir.read_metrics(training)


def work(cfg: Config, folder: Path, training: Path, train_now: bool, report_to: str) -> dict[str, float]:
    """Data, training (when `train_now`) and evaluation of one run; `time/*` give each stage's seconds.

    Args:
        cfg: The run's resolved config.
        folder: The run's folder (its evaluation).
        training: Its training's folder.
        train_now: Train (we hold the training's claim), else load the kept weights.
        report_to: "wandb" or "none", for the trainer.
    """
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.evaluate.engines import task_generator
    from mixft.runner.evaluate.evaluator import eval_examples, evaluate_run
    from mixft.runner.evaluate.suites import check_suite
    from mixft.runner.train.models import load_model, model_source

    # loaded before training: an eval source that cannot load fails the run before it trains
    examples = {task: eval_examples(cfg, task) for task in eval_tasks(cfg)}
    for suite in cfg.eval.suites:
        check_suite(cfg.suite[suite])
    tokenizer = load_tokenizer(cfg.model)
    if role_of(cfg) == "base":
        model, metrics = load_model(cfg.model), {}
    elif train_now:
        model, metrics = _train(cfg, tokenizer, training, report_to)
    else:
        model, metrics = _kept(cfg, training)
    start_eval = time.perf_counter()
    base = model_source(cfg.model)[0]
    weights = base if role_of(cfg) == "base" else None
    if weights is None and rundir.has_weights(training):
        weights = str(rundir.model_dir(training))
    generate = task_generator(cfg, model, tokenizer, base, weights)
    metrics = {**metrics, **evaluate_run(cfg, model, tokenizer, folder, examples, generate)}
    metrics["time/eval_s"] = time.perf_counter() - start_eval
    return metrics


def train_only(cfg: Config, training: Path) -> None:
    """A non-main process of a run on several GPUs or CPU processes: take part in training; states, eval and W&B are rank 0's."""
    from mixft.runner.data.build import build_training_set
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.train.trainer import train

    tokenizer = load_tokenizer(cfg.model)
    if needs_training(cfg, training):
        built_before_ranks_meet(cfg)
        train(cfg, build_training_set(cfg, tokenizer).rows, tokenizer, training, "none")
