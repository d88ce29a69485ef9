"""Compare runs on one lm-eval suite task: check that they were scored alike, match their documents,
and bootstrap the difference of a metric's mean over the documents they share.

run: mixft compare smoke --view forgetting    |    pytest tests/compare/test_forgetting.py

Each evaluation keeps, per suite, settings.json (what its documents were scored under) and one record
per document (doc_id, doc_hash, prompt_hash, metrics); rundir.py owns the files. Two runs pair on a
suite task only when their settings for it agree on every field of CHECKED and their shared documents
were shown the same prompts; otherwise the difference would measure the evaluation, not the training.
Documents are matched by doc_id and kept only when every compared run has them with the same doc_hash.
Without records (a source that has only the scores), the scores come from the metrics and the
difference has no interval.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from mixft.runner.compare import stats
from mixft.runner.compare.intervals import SeedVariance
from mixft.runner.compare.measure import Measured, measured, trained_sides
from mixft.runner.compare.results import RunResult, suite_key

# settings that change what a document's score means (per task; engine and version per suite)
CHECKED = (
    "num_fewshot",
    "limit",
    "apply_chat_template",
    "generation_kwargs",
    "config_digest",
    "engine",
    "lm_eval_version",
)
SUITE_WIDE = ("engine", "lm_eval_version")
Table = dict[str, dict[str, Any]]  # doc_id (as text) -> the document's record


def task_settings(run: RunResult, suite: str, task: str) -> dict[str, Any] | None:
    """A suite task's settings in one run (the suite-wide engine and version included); None when the
    run has no settings for it."""
    settings = run.suite_settings(suite) or {}
    tasks = settings.get("tasks")
    if not isinstance(tasks, dict) or not isinstance(tasks.get(task), dict):
        return None
    return {k: settings[k] for k in SUITE_WIDE if k in settings} | tasks[task]


def primary_metric(run: RunResult, suite: str, task: str) -> tuple[str, bool | None] | None:
    """The metric compared on a suite task and whether higher is better: the first of the task's
    settings' metrics; without settings, the first of the run's metric names (direction unknown)."""
    settings = task_settings(run, suite, task)
    names = (settings or {}).get("metrics") or []
    if names:
        better = (settings or {}).get("higher_is_better") or {}
        return names[0], better.get(names[0])
    found = sorted(m for s, t, m in map(suite_key, run.suite_metrics) if (s, t) == (suite, task))
    return (found[0], None) if found else None


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """`<field> differs (<mine> vs <theirs>)` for every field of CHECKED the two settings disagree on."""
    return [
        f"{key} differs ({_text(mine.get(key))} vs {_text(theirs.get(key))})"
        for key in CHECKED
        if (key in mine or key in theirs) and mine.get(key) != theirs.get(key)
    ]


def _number(record: dict[str, Any], metric: str) -> bool:
    """Whether a document's record holds a number for the metric (bools count as 0/1)."""
    return isinstance((record.get("metrics") or {}).get(metric), int | float)


def _table(run: RunResult, suite: str, task: str) -> Table | None:
    records = run.suite_records(suite, task)
    if records is None:
        return None
    try:
        return {str(r["doc_id"]): r for r in records}
    except (KeyError, TypeError):  # records of another layout: scores only
        return None


def shared(tables: list[Table]) -> list[str]:
    """doc_ids every table has, with the same doc_hash in each, sorted."""
    common = set.intersection(*(set(t) for t in tables))
    return sorted(d for d in common if len({t[d].get("doc_hash") for t in tables}) == 1)


def refusal(suite: str, task: str, run: RunResult, ref: RunResult) -> str | None:
    """Why `run` cannot be compared with `ref` on a suite task (settings or prompts differ), or None."""
    for who in (run, ref):
        if (suite, task) not in who.suite_tasks:
            return f"run {who.id} has no score for it"
    mine, theirs = task_settings(run, suite, task), task_settings(ref, suite, task)
    if mine is None or theirs is None:
        who = run if mine is None else ref
        return f"run {who.id} has no settings for it (suites/{suite}/settings.json)"
    found = differences(mine, theirs)
    if found:
        return "; ".join(found)
    a, b = _table(run, suite, task), _table(ref, suite, task)
    if a is not None and b is not None:
        changed = sum(a[d].get("prompt_hash") != b[d].get("prompt_hash") for d in shared([a, b]))
        if changed:
            return f"prompt differs on {changed} documents"
    return None


def _from_metrics(
    suite: str, task: str, metric: str, runs: list[RunResult], refs: list[RunResult]
) -> Measured | None:
    key = f"suite/{suite}/{task}/{metric}"
    values = [r.suite_metrics.get(key) for r in [*runs, *refs]]
    if any(v is None for v in values):
        return None
    found = [float(v) for v in values if v is not None]
    return Measured(metric, found[: len(runs)], found[len(runs) :], None, None)


def suite_sample(
    suite: str, task: str, metric: str, runs: list[RunResult], resamples: int = stats.RESAMPLES
) -> stats.Sample | None:
    """The runs' mean of a suite task's metric over the documents they all share (same doc_hash), with
    row bootstrap draws; None when a run has no records or no document is shared."""
    import numpy as np

    found = [_table(r, suite, task) for r in runs]
    present = [t for t in found if t is not None]
    if len(present) < len(found):
        return None
    docs = [d for d in shared(present) if all(_number(t[d], metric) for t in present)]
    if not docs:
        return None
    columns = np.array([[float(t[d]["metrics"][metric]) for d in docs] for t in present]).T
    return stats.sample(stats.MEAN, columns, None, 0, resamples)


def measure_suite(
    suite: str,
    task: str,
    metric: str,
    runs: list[RunResult],
    refs: list[RunResult],
    confidence: float = stats.CONFIDENCE,
    resamples: int = stats.RESAMPLES,
    pooled: SeedVariance | None = None,
) -> Measured | None:
    """Compare `runs` (one per seed) with `refs` on one suite task's metric.

    Args:
        suite: The suite.
        task: Its task (an lm-eval task or group).
        metric: The metric compared (see `primary_metric`).
        runs: The compared runs, done, already checked against their references (`refusal`).
        refs: Their references: the base model, or the same runs without their regulariser (one per
            seed, in the same order).
        confidence: Coverage of the interval.
        resamples: Bootstrap resamples.
        pooled: A pooled seed variance of one run on this suite task (used with one seed).

    Returns:
        The mean of the per-document metric per run over the documents they all share, and the
        difference with its interval over seeds and documents (intervals.py); without records, the
        scores of the metrics and no interval; None when records hold no shared document, or neither
        exists.
    """
    tables = [_table(r, suite, task) for r in [*runs, *refs]]
    if any(t is None for t in tables):
        return _from_metrics(suite, task, metric, runs, refs)
    found = suite_sample(suite, task, metric, [*runs, *refs], resamples)
    if found is None:
        return None
    result = measured(found, len(runs), confidence, pooled, trained_sides(refs))
    return dataclasses.replace(result, metric=metric)
