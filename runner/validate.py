"""Checks on a composed config that types alone cannot express; each failure is one line.

run: mixft config show mixture.tasks=[fpb,fpb]    (-> duplicate task error, exit code 2)
"""

from __future__ import annotations

from collections.abc import Iterable

from mixft.runner.errors import ConfigError, unknown
from mixft.runner.rundir import SECRET_NAME
from mixft.runner.schema import Config, MixtureConfig, TaskConfig

TASK_KINDS = ("classification", "numeric_qa", "generation")
METRICS = ("accuracy_f1", "numeric_accuracy", "none")
METHODS = ("full", "lora", "qlora")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DTYPES = ("auto", "bfloat16", "float16", "float32")
TRACKERS = ("none", "wandb")
TRACKER_MODES = ("auto", "online", "offline", "disabled")
EXECUTORS = ("local", "slurm")
BUDGET_UNITS = ("examples", "tokens")
DEEPSPEED_CONFIGS = ("zero2_offload", "zero2")


def _choice(where: str, value: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise unknown(f"value for {where}", value, choices)


def _positive(where: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ConfigError(f"{where} must be positive, got {value}")


def check_task_names(where: str, names: list[str], catalogue: dict[str, TaskConfig]) -> None:
    """Every name must be a known task, listed once."""
    seen: set[str] = set()
    for name in names:
        if name not in catalogue:
            raise unknown(f"task in {where}", name, catalogue)
        if name in seen:
            raise ConfigError(f"{where} lists task '{name}' twice; name each task once")
        seen.add(name)


def validate_task(task: TaskConfig, key: str) -> None:
    """Check one catalogue entry (conf/task/<key>.yaml)."""
    where = f"task '{key}'"
    if task.name != key:
        raise ConfigError(f"{where}: name is '{task.name}'; it must match its key '{key}'")
    _choice(f"{where} kind", task.kind, TASK_KINDS)
    _choice(f"{where} metric", task.metric, METRICS)
    if task.max_examples is not None and task.pool_ratio is not None:
        raise ConfigError(f"{where}: set max_examples or pool_ratio, not both")
    _positive(f"{where} max_examples", task.max_examples)
    _positive(f"{where} pool_ratio", task.pool_ratio)
    _positive(f"{where} max_new_tokens", task.max_new_tokens)
    if task.source.hf_id is None and task.source.path is None:
        raise ConfigError(f"{where}: source needs hf_id or path")
    if task.kind == "classification" and not task.labels:
        raise ConfigError(f"{where}: a classification task needs its labels")
    stray = sorted(set(task.label_map.values()) - set(task.labels))
    if stray:
        raise ConfigError(f"{where}: label_map maps to {stray}, which are not in labels {task.labels}")
    if task.trainable and task.source.train_split is None:
        raise ConfigError(f"{where}: a trainable task needs source.train_split")
    if task.metric != "none" and task.source.eval_split is None:
        raise ConfigError(f"{where}: a scored task needs source.eval_split")


def validate_mixture(mix: MixtureConfig, catalogue: dict[str, TaskConfig]) -> None:
    """Tasks known, trainable and listed once; caps, shares and budget that can make a mix."""
    check_task_names("mixture.tasks", mix.tasks, catalogue)
    for name in mix.tasks:
        if not catalogue[name].trainable:
            raise ConfigError(f"task '{name}' is evaluation-only (held out); it cannot be trained on")
    check_task_names("mixture.pool", mix.pool, catalogue)
    for name, cap in mix.caps.items():
        check_task_names("mixture.caps", [name], catalogue)
        _positive(f"mixture.caps.{name}", cap)
    if mix.shares:
        if set(mix.shares) != set(mix.tasks):
            raise ConfigError(
                f"mixture.shares must give a share for every task in mixture.tasks {sorted(mix.tasks)}, "
                f"got {sorted(mix.shares)}"
            )
        for name, share in mix.shares.items():
            _positive(f"mixture.shares.{name}", share)
        total = sum(mix.shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"mixture.shares must sum to 1, got {total:g}")
    if mix.max_repeat < 1:
        raise ConfigError(f"mixture.max_repeat must be at least 1 (no upsampling), got {mix.max_repeat}")
    _choice("mixture.budget.unit", mix.budget.unit, BUDGET_UNITS)
    _positive("mixture.budget.total", mix.budget.total)


def validate_config(cfg: Config) -> None:
    """Raise ConfigError for the first value no run could use."""
    for key, task in cfg.task.items():
        validate_task(task, key)
    if cfg.model.hf_id is None and cfg.model.build is None:
        raise ConfigError(f"model '{cfg.model.name}': set hf_id, or build for a local model")
    _choice("model.dtype", cfg.model.dtype, DTYPES)
    _positive("model.num_parameters", cfg.model.num_parameters)
    validate_mixture(cfg.mixture, cfg.task)
    check_task_names("regularizer.sources", list(cfg.regularizer.sources), cfg.task)
    for name, ratio in cfg.regularizer.sources.items():
        _positive(f"regularizer.sources.{name} (a ratio of the task pool)", ratio)
        if not cfg.task[name].trainable:
            raise ConfigError(f"regularizer source '{name}' is evaluation-only; it cannot be trained on")
    check_task_names("eval.tasks", cfg.eval.tasks, cfg.task)
    for name in cfg.eval.tasks:
        if cfg.task[name].metric == "none":
            raise ConfigError(f"eval.tasks: task '{name}' has no metric, so it cannot be scored")
    _positive("eval.batch_size", cfg.eval.batch_size)
    _positive("eval.max_examples", cfg.eval.max_examples)
    t = cfg.training
    _choice("training.method", t.method, METHODS)
    _choice("training.precision", t.precision, PRECISIONS)
    _positive("training.learning_rate", t.learning_rate)
    _positive("training.per_device_train_batch_size", t.per_device_train_batch_size)
    _positive("training.gradient_accumulation_steps", t.gradient_accumulation_steps)
    _positive("training.num_train_epochs", t.num_train_epochs)
    _positive("training.max_length", t.max_length)
    for rule in t.epochs_by_sources:
        _positive("training.epochs_by_sources num_train_epochs", rule.num_train_epochs)
        _positive("training.epochs_by_sources max_sources", rule.max_sources)
    for name in t.sft_kwargs:
        if SECRET_NAME.search(name):
            raise ConfigError(
                f"training.sft_kwargs.{name} looks like a secret; pass it through the environment"
            )
    if t.deepspeed is not None:
        _choice("training.deepspeed", t.deepspeed, DEEPSPEED_CONFIGS)
    _choice("tracker.name", cfg.tracker.name, TRACKERS)
    _choice("tracker.mode", cfg.tracker.mode, TRACKER_MODES)
    _choice("executor.name", cfg.executor.name, EXECUTORS)
    if cfg.executor.gpus_per_run < 0:
        raise ConfigError(f"executor.gpus_per_run must be 0 or more, got {cfg.executor.gpus_per_run}")
    if cfg.seed < 0:
        raise ConfigError(f"seed must be 0 or more, got {cfg.seed}")


def validate_run(cfg: Config) -> None:
    """Checks that depend on a run's task set (set per run when planning)."""
    validate_mixture(cfg.mixture, cfg.task)
    if cfg.regularizer.sources and not (cfg.mixture.pool or cfg.mixture.tasks):
        raise ConfigError(
            "regularizer sources are sized as a ratio of the task pool, which is empty: "
            "set mixture.tasks or mixture.pool"
        )
