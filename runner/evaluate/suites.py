"""Score a model on lm-evaluation-harness suites, in this process, on the model already loaded.

run: mixft run model=tiny data.samples=true 'mixture.tasks=[fpb]' eval.suites=[general]

A suite (conf/suite/<name>.yaml) names lm-eval tasks or groups. lm-eval's HFLM wraps the model and
tokenizer the evaluation holds (no second load); a generative task (every leaf `generate_until`)
generates through the run's engine (engines/vllm_lm_eval.py). Each document's record goes to
suites/<suite>/<task>.jsonl (doc_id, doc_hash, prompt_hash, target_hash, metrics, response), and
suites/<suite>/settings.json says what they were scored under (few-shot, limit, chat template,
decoding, a digest of lm-eval's resolved task config, each task's engine, lm-eval version).
`mixft compare --view forgetting` pairs runs by document from these files. A group (mmlu) is one
task of the suite: its records are its leaves' documents, doc_id `<leaf>/<doc_id>`.

Scores go to metrics as `suite/<suite>/<task>/<metric>`, lm-eval's metric names with the filter
appended when it is not "none" (`exact_match_strict-match`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from mixft.runner.config.eval_schema import SuiteConfig
from mixft.runner.config.validate import require_lm_eval
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate.engines.base import Generation
from mixft.runner.store import rundir

log = logging.getLogger(__name__)

HF = "hf"
# lm-eval's seeds, fixed so that few-shot examples are the same documents for every run
SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234, "fewshot_random_seed": 1234}


@cache
def _task_manager(include_path: str | None, include_defaults: bool) -> Any:
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include_path, include_defaults=include_defaults)


def _metric_name(metric: str, filter_name: str) -> str:
    return metric if filter_name == "none" else f"{metric}_{filter_name}"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _build(manager: Any, name: str, revision: str | None) -> list[Any]:
    """Task, group or tag `name` built, with its dataset at `revision` when given. lm-eval has no
    public option for a revision: its factory takes config overrides, and a group hands them to each
    of its tasks."""
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = manager.task_index[name]
    overrides = None
    if revision is not None:
        kwargs = {}
        if entry.yaml_path is not None:
            kwargs = dict(load_yaml(entry.yaml_path, resolve_func=False).get("dataset_kwargs") or {})
        overrides = {"dataset_kwargs": kwargs | {"revision": revision}}
    built = manager._factory.build(entry, overrides=overrides, registry=manager.task_index)
    return built if isinstance(built, list) else [built]  # a tag is a list of tasks


def _check_names(suite: SuiteConfig, manager: Any) -> None:
    """Every task the suite names is in `manager`'s index, and every revision names one of them."""
    unknown = [t for t in suite.tasks if t not in manager.all_tasks]
    if unknown:
        where = f" or in {suite.include_path}" if suite.include_path else ""
        raise ConfigError(
            f"suite '{suite.name}': lm-eval has no task {', '.join(unknown)}{where} (see `lm-eval ls tasks`)"
        )
    extra = sorted(set(suite.revisions) - set(suite.tasks))
    if extra:
        raise ConfigError(f"suite '{suite.name}': revisions name tasks it does not run: {', '.join(extra)}")


def _tasks(suite: SuiteConfig, manager: Any) -> dict[str, list[Any]]:
    """The suite's tasks and groups, each built by `manager`, by the name the suite gives it."""
    _check_names(suite, manager)
    return {t: _build(manager, t, suite.revisions.get(t)) for t in suite.tasks}


def _generative(built: Any) -> bool:
    """Whether every leaf task of a built task, group (a dict of its children) or tag generates."""
    if isinstance(built, dict):
        return all(_generative(child) for child in built.values())
    if isinstance(built, list | tuple):
        return all(_generative(child) for child in built)
    return getattr(built, "OUTPUT_TYPE", None) == "generate_until"


def check_suite(suite: SuiteConfig) -> None:
    """Refuse, before anything trains, a suite that lm-eval cannot run: lm-eval missing, a task name it
    does not know, a revision for a task the suite does not run. Indexes the tasks, builds none (a
    build reads the dataset).

    Raises:
        ConfigError: one line naming the suite and what is wrong.
    """
    require_lm_eval(suite.name)
    if suite.include_path is not None:
        if not Path(suite.include_path).is_dir():
            raise ConfigError(f"suite include_path {suite.include_path}: no such folder")
        if set(suite.tasks) <= set(_task_manager(suite.include_path, False).all_tasks):
            _check_names(suite, _task_manager(suite.include_path, False))
            return
    _check_names(suite, _task_manager(suite.include_path, True))


def _load(suite: SuiteConfig) -> tuple[Any, dict[str, list[Any]]]:
    """The task index and the suite's built tasks. A suite whose tasks all live in its include_path is
    built from that folder alone: indexing lm-eval's own ~15,000 task files takes seconds."""
    if suite.include_path is not None:
        if not Path(suite.include_path).is_dir():
            raise ConfigError(f"suite include_path {suite.include_path}: no such folder")
        local = _task_manager(suite.include_path, False)
        if set(suite.tasks) <= set(local.all_tasks):
            try:
                return local, _tasks(suite, local)
            except KeyError:  # a group of the folder names a task of lm-eval's own catalogue
                pass
    manager = _task_manager(suite.include_path, True)
    return manager, _tasks(suite, manager)


def run_lm_eval(
    suite: SuiteConfig, model: Any, tokenizer: Any, generation: Generation | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """lm-eval's result dict (samples logged) for one suite on a loaded model, and the engine that
    scored each task of the suite: hf (HFLM on `model`), or the engine of `generation` for generative
    tasks when it has a model for lm-eval. HFLM's tasks go first: a vLLM engine takes the GPU."""
    require_lm_eval(suite.name)
    manager, built = _load(suite)
    on_engine = generation.suite_model if generation is not None else None
    engines = {t: generation.engine if on_engine and _generative(b) else HF for t, b in built.items()}
    results = []
    for engine in dict.fromkeys(sorted(engines.values(), key=lambda e: e != HF)):
        tasks = [b for t, parts in built.items() if engines[t] == engine for b in parts]
        lm = _hflm(suite, model, tokenizer) if engine == HF else on_engine(suite)  # type: ignore[misc]
        results.append(_simple_evaluate(suite, lm, tasks, manager))
    return _merge(results), engines


def _hflm(suite: SuiteConfig, model: Any, tokenizer: Any) -> Any:
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=suite.batch_size)


def _simple_evaluate(suite: SuiteConfig, lm: Any, tasks: list[Any], manager: Any) -> dict[str, Any]:
    from lm_eval import simple_evaluate

    gen_kwargs = {"max_gen_toks": suite.max_gen_toks} if suite.max_gen_toks is not None else None
    chat, few = suite.apply_chat_template, suite.num_fewshot
    # bootstrap_iters=0: compare bootstraps over documents, paired between runs
    result = simple_evaluate(
        model=lm, tasks=tasks, task_manager=manager, num_fewshot=few, limit=suite.limit,
        apply_chat_template=chat, gen_kwargs=gen_kwargs, log_samples=True, bootstrap_iters=0, **SEEDS,
    )  # fmt: skip
    assert result is not None  # None only off rank 0; mixft evaluates in one process
    return result


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result dict of several `simple_evaluate` calls over disjoint tasks (per-task keys merged)."""
    merged: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged.setdefault(key, value)
    return merged


def _leaves(result: dict[str, Any], task: str) -> list[str]:
    """The leaf tasks of a suite task: itself, or a group's tasks (through sub-groups)."""
    children = result.get("group_subtasks", {}).get(task)
    if not children:
        return [task]
    return [leaf for child in children for leaf in _leaves(result, child)]


def _records(result: dict[str, Any], task: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One record per document of a suite task, and its metric names (primary first) with lm-eval's
    metric each reports."""
    leaves = _leaves(result, task)
    by_doc: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for leaf in leaves:
        for sample in result["samples"].get(leaf, []):
            key = sample["doc_id"] if len(leaves) == 1 else f"{leaf}/{sample['doc_id']}"
            record = by_doc.setdefault(
                str(key),
                {
                    "doc_id": key,
                    "doc_hash": sample["doc_hash"],
                    "prompt_hash": sample["prompt_hash"],
                    "target_hash": sample["target_hash"],
                    "metrics": {},
                    "response": str(sample["filtered_resps"])[:2000],
                },
            )
            for metric in sample["metrics"]:
                name = _metric_name(metric, sample["filter"])
                names[name] = metric
                record["metrics"][name] = float(sample[metric])
    return list(by_doc.values()), names


def _task_settings(
    suite: SuiteConfig,
    result: dict[str, Any],
    task: str,
    records: list[Any],
    names: dict[str, str],
    engine: str,
) -> dict[str, Any]:
    leaves = _leaves(result, task)
    configs = {leaf: result["configs"][leaf] for leaf in leaves}
    for config in configs.values():
        config.pop("metadata", None)  # lm-eval's run metadata: the model, dates
    first = configs[leaves[0]]
    better = result.get("higher_is_better", {}).get(leaves[0], {})
    return {
        "num_fewshot": result.get("n-shot", {}).get(leaves[0], suite.num_fewshot),
        "limit": suite.limit,
        "apply_chat_template": suite.apply_chat_template,
        "output_type": first.get("output_type"),
        "generation_kwargs": first.get("generation_kwargs"),
        "config_digest": _digest(configs),
        "engine": engine,
        "n_docs": len(records),
        "metrics": list(names),
        "higher_is_better": {name: bool(better.get(metric, True)) for name, metric in names.items()},
    }


def _scores(
    result: dict[str, Any], task: str, records: list[dict[str, Any]], names: dict[str, str]
) -> dict[str, float]:
    """lm-eval's own score of each metric; for a group without one, the mean over its documents."""
    reported = result["results"].get(task, {})
    scores = {}
    for key, value in reported.items():
        metric, _, filter_name = key.partition(",")
        if filter_name and not metric.endswith("_stderr") and isinstance(value, int | float):
            scores[_metric_name(metric, filter_name)] = float(value)
    for name in names:
        if name not in scores:
            values = [r["metrics"][name] for r in records if name in r["metrics"]]
            scores[name] = sum(values) / len(values) if values else float("nan")
    return scores


def evaluate_suite(
    suite: SuiteConfig, model: Any, tokenizer: Any, run_dir: Path | None, generation: Generation | None = None
) -> dict[str, float]:
    """Score a loaded model on one suite; write its records and settings when `run_dir` is given.

    Args:
        suite: The suite (its include_path already absolute).
        model: A causal LM (transformers), on the device it is evaluated on.
        tokenizer: Its tokenizer.
        run_dir: The evaluation's folder; None writes nothing.
        generation: The run's generator (engines.task_generator): its engine scores the generative
            tasks when it has a model for lm-eval; None: HFLM scores every task.

    Returns:
        {"suite/<suite>/<task>/<metric>": score} for every task of the suite.

    Raises:
        ConfigError: lm-eval is missing, a task name is unknown, or include_path is not a folder.
    """
    from importlib.metadata import version

    result, engines = run_lm_eval(suite, model, tokenizer, generation)
    metrics: dict[str, float] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    tasks: dict[str, Any] = defaultdict(dict)
    for task in suite.tasks:
        rows, names = _records(result, task)
        records[task] = rows
        tasks[task] = _task_settings(suite, result, task, rows, names, engines[task])
        scores = _scores(result, task, rows, names)
        log.info(
            "suite %s/%s (%s): %s",
            suite.name,
            task,
            engines[task],
            " ".join(f"{k}={v:.4g}" for k, v in scores.items()),
        )
        metrics |= {f"suite/{suite.name}/{task}/{name}": value for name, value in scores.items()}
    engine = generation.engine if generation is not None else HF
    settings = {"suite": suite.name, "lm_eval_version": version("lm_eval"), "engine": engine, "tasks": tasks}
    if run_dir is not None:
        rundir.write_suite(Path(run_dir), suite.name, settings, records)
    return metrics
