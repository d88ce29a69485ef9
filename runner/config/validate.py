"""Checks on a composed config that types alone cannot express; each failure is one line.

run: mixft config show mixture.tasks=[fpb,fpb]    (-> duplicate task error, exit code 2)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from mixft.runner.config.eval_schema import ENGINES
from mixft.runner.config.executors import ExecutorConfig
from mixft.runner.config.model_refs import chat_template_known
from mixft.runner.config.schema import Config, MixtureConfig, ModelConfig, SuiteConfig, TaskConfig
from mixft.runner.config.secrets import refuse_secrets
from mixft.runner.config.trackers import MlflowConfig, TrackerConfig, WandbConfig, tracker_config
from mixft.runner.config.types import check_types
from mixft.runner.errors import ConfigError, unknown
from mixft.runner.scoring.scorers import NO_METRIC, SCORERS, TASK_KINDS

METHODS = ("full", "lora", "qlora")
KEEPS = ("final", "adapter", "none")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DTYPES = ("auto", "bfloat16", "float16", "float32")
MLFLOW_SCHEMES = ("http", "https", "file", "sqlite", "postgresql", "mysql", "databricks")
TRACKER_MODES = ("auto", "online", "offline", "disabled")
BUDGET_UNITS = ("examples", "tokens")
DEEPSPEED_CONFIGS = ("zero2_offload", "zero2")
MAX_SEED = 2**32 - 1
# most times a source may repeat: the mix is built as a list of row indices, so this bounds its size
MAX_REPEAT = 1000
# largest regulariser or pool-sized task, as a multiple of the task pool (the study: 1.0 and 0.5)
MAX_RATIO = 1000


def _choice(where: str, value: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise unknown(f"value for {where}", value, choices)


def _finite(value: float) -> bool:
    # math.isfinite would raise OverflowError for an int too large for a float
    return isinstance(value, int) or math.isfinite(value)


def _positive(where: str, value: float | None) -> None:
    # nan passes `value <= 0` and inf passes everything; both crash later (floor, int(), the trainer)
    if value is not None and not (_finite(value) and value > 0):
        raise ConfigError(f"{where} must be positive (and finite), got {value}")


def _ratio(where: str, value: float | None) -> None:
    # rows = round(ratio x pool rows): 1e308 x a pool of two overflows to inf, and round(inf) raises
    _positive(where, value)
    if value is not None and value > MAX_RATIO:
        raise ConfigError(f"{where} must be at most {MAX_RATIO} (times the task pool), got {value}")


def _between(where: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not (_finite(value) and low <= value <= high):
        raise ConfigError(f"{where} must be from {low:g} to {high:g}, got {value}")


def _seed(where: str, value: int) -> None:
    # numpy seeds with 32 bits: transformers' set_seed and the mix shuffle refuse anything else
    if not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{where} must be 0 or more and at most {MAX_SEED}, got {value}")


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
    metrics = [NO_METRIC, SCORERS[task.kind].metric] if task.kind in SCORERS else [NO_METRIC]
    _choice(f"{where} metric (kind {task.kind})", task.metric, metrics)
    if task.max_examples is not None and task.pool_ratio is not None:
        raise ConfigError(f"{where}: set max_examples or pool_ratio, not both")
    _positive(f"{where} max_examples", task.max_examples)
    _ratio(f"{where} pool_ratio", task.pool_ratio)
    _positive(f"{where} max_new_tokens", task.max_new_tokens)
    _positive(f"{where} typical.tokens_per_row", task.typical.tokens_per_row)
    _between(f"{where} typical.eval_rows", task.typical.eval_rows, 0, math.inf)
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
    for name in mix.pool:
        if catalogue[name].pool_ratio is not None:
            raise ConfigError(f"mixture.pool: task '{name}' is itself sized from the pool; leave it out")
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
    if not (_finite(mix.max_repeat) and 1 <= mix.max_repeat <= MAX_REPEAT):
        raise ConfigError(
            f"mixture.max_repeat must be from 1 (no upsampling) to {MAX_REPEAT}, got {mix.max_repeat}"
        )
    if mix.seed is not None:
        _seed("mixture.seed", mix.seed)
    _choice("mixture.budget.unit", mix.budget.unit, BUDGET_UNITS)
    _positive("mixture.budget.total", mix.budget.total)


def check_ranges(cfg: Config) -> None:
    """Numeric knobs that the trainer, the evaluator or the executor would refuse, or choke on, later."""
    reg, t = cfg.regularizer, cfg.training
    for where, value in (
        ("regularizer.neftune_noise_alpha", reg.neftune_noise_alpha),
        ("regularizer.weight_decay", reg.weight_decay),
        ("training.weight_decay", t.weight_decay),
        ("training.max_grad_norm", t.max_grad_norm),
        ("training.warmup_steps", t.warmup_steps),
        ("eval.numeric_rel_tol", cfg.eval.numeric_rel_tol),
    ):
        _between(where, value, 0, math.inf)
    for where, value in (
        ("regularizer.lora_dropout", reg.lora_dropout),
        ("training.lora.dropout", t.lora.dropout),
    ):
        _between(where, value, 0, 1)
    for where, value in (
        ("training.logging_steps", t.logging_steps),
        ("training.save_steps", t.save_steps),
        ("training.lora.r", t.lora.r),
        ("training.lora.alpha", t.lora.alpha),
        ("eval.max_new_tokens", cfg.eval.max_new_tokens),
        ("model.context_length", cfg.model.context_length),
        ("data.sample_train_rows", cfg.data.sample_train_rows),
        ("data.sample_eval_rows", cfg.data.sample_eval_rows),
    ):
        _positive(where, value)


def validate_executor(ex: ExecutorConfig) -> None:
    """Settings of the chosen executor: types and ranges, each checked by its own dataclass."""
    check_types(ex, type(ex), "executor")
    ex.check()


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
        _ratio(f"regularizer.sources.{name} (a ratio of the task pool)", ratio)
        if not cfg.task[name].trainable:
            raise ConfigError(f"regularizer source '{name}' is evaluation-only; it cannot be trained on")
    check_task_names("eval.tasks", cfg.eval.tasks, cfg.task)
    for name in cfg.eval.tasks:
        if cfg.task[name].metric == "none":
            raise ConfigError(f"eval.tasks: task '{name}' has no metric, so it cannot be scored")
    _positive("eval.batch_size", cfg.eval.batch_size)
    _choice("eval.engine", cfg.eval.engine, ENGINES)
    for suite in cfg.suite.values():
        validate_suite(suite)
    _positive("eval.max_examples", cfg.eval.max_examples)
    _positive("data.max_rows", cfg.data.max_rows)
    _check_chat_template(cfg.model)
    t = cfg.training
    _choice("training.method", t.method, METHODS)
    _choice("training.precision", t.precision, PRECISIONS)
    _check_keep(t.method, t.keep)
    _positive("training.learning_rate", t.learning_rate)
    _positive("training.per_device_train_batch_size", t.per_device_train_batch_size)
    _positive("training.gradient_accumulation_steps", t.gradient_accumulation_steps)
    _positive("training.num_train_epochs", t.num_train_epochs)
    _positive("training.max_length", t.max_length)
    for rule in t.epochs_by_sources:
        _positive("training.epochs_by_sources num_train_epochs", rule.num_train_epochs)
        _positive("training.epochs_by_sources max_sources", rule.max_sources)
    if t.deepspeed is not None:
        _choice("training.deepspeed", t.deepspeed, DEEPSPEED_CONFIGS)
    check_ranges(cfg)
    _check_tracker(cfg.tracker)
    validate_executor(cfg.executor)
    _seed("seed", cfg.seed)
    refuse_secrets(dataclasses.asdict(cfg))


def _check_tracker(tracker: TrackerConfig) -> None:
    tracker_config(tracker.name)  # a registered tracker, else one line with the nearest name
    if isinstance(tracker, WandbConfig):
        _choice("tracker.mode", tracker.mode, TRACKER_MODES)
    if isinstance(tracker, MlflowConfig) and tracker.tracking_uri is not None:
        scheme = tracker.tracking_uri.partition(":")[0]
        if not tracker.tracking_uri.strip() or scheme not in MLFLOW_SCHEMES:
            raise ConfigError(
                f"tracker.tracking_uri: '{tracker.tracking_uri}' is not an MLflow tracking URI; use "
                "http://host:port, file:/path or sqlite:///path (null: a local store under $MIXFT_HOME)"
            )
        if urlsplit(tracker.tracking_uri).password:  # the URI is saved with every run's config
            raise ConfigError(
                "tracker.tracking_uri holds a password: pass it through the environment "
                "(MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD), never in configs, which are saved"
            )


def validate_suite(suite: SuiteConfig) -> None:
    """A suite's values, and lm-eval being installed (a suite runs nothing without it)."""
    if not suite.tasks:
        raise ConfigError(f"suite '{suite.name}': tasks is empty; name lm-eval tasks to score")
    _positive(f"suite {suite.name}: limit", suite.limit)
    _positive(f"suite {suite.name}: batch_size", suite.batch_size)
    _positive(f"suite {suite.name}: max_gen_toks", suite.max_gen_toks)
    if suite.num_fewshot is not None and suite.num_fewshot < 0:
        raise ConfigError(f"suite {suite.name}: num_fewshot must be 0 or more, got {suite.num_fewshot}")
    if suite.include_path is not None and not Path(suite.include_path).is_dir():
        raise ConfigError(f"suite {suite.name}: include_path {suite.include_path} is not a folder")
    require_lm_eval(suite.name)


def require_lm_eval(suite: str) -> None:
    """One line when lm-evaluation-harness, which suites run on, is not installed."""
    import importlib.util

    if importlib.util.find_spec("lm_eval") is None:
        raise ConfigError(
            f"eval.suites=[{suite}] needs lm-evaluation-harness, which is not installed: "
            "pip install 'mixft[eval]'"
        )


def _check_chat_template(model: ModelConfig) -> None:
    """A model whose tokenizer has no chat template (a local folder's, or a hub model's as the Hugging
    Face cache holds it) needs one given."""
    if model.chat_template is not None or model.hf_id is None:
        return
    if chat_template_known(model.hf_id, model.revision) is False:
        raise ConfigError(
            f"model '{model.name}': the tokenizer of {model.hf_id} has no chat template; set "
            "model.chat_template='...' (a Jinja template), or use the model's instruction-tuned version"
        )


def _check_keep(method: str, keep: str | None) -> None:
    """training.keep must name weights the method makes (a full fine-tune has no adapter)."""
    if keep is None:
        return
    _choice("training.keep", keep, KEEPS)
    if keep == "adapter" and method == "full":
        raise ConfigError("training.keep=adapter: a full fine-tune has no adapter; keep final or none")
    if keep == "final" and method == "qlora":
        raise ConfigError(
            "training.keep=final: a QLoRA adapter merges poorly into 4-bit weights; keep adapter"
        )


def validate_run(cfg: Config) -> None:
    """Checks that depend on a run's task set (set per run when planning)."""
    validate_mixture(cfg.mixture, cfg.task)
    both = sorted(set(cfg.mixture.tasks) & set(cfg.regularizer.sources))
    if both:
        raise ConfigError(
            f"{both} are both mixture tasks and regulariser sources; name each once "
            "(as a task, or through regularizer=...)"
        )
    if cfg.regularizer.sources and not (cfg.mixture.pool or cfg.mixture.tasks):
        raise ConfigError(
            "regularizer sources are sized as a ratio of the task pool, which is empty: "
            "set mixture.tasks or mixture.pool"
        )
