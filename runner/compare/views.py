"""The rows of each `mixft compare` view, as plain dicts (tables, CSV and JSON print these).

run: mixft compare smoke --view tasks|all|regularizer|pairs|forgetting

tasks (default): per task, the baseline, the best mixture and how many mixtures beat the baseline
significantly after the family's correction (corrections.py), out of how many tried; held-out tasks
follow, against the base model. The best of N is picked on the same eval rows it is scored on, so
its delta is biased upwards: the rows say N.
summary: per mixture arm, its mean delta over its target tasks and P(mixture > baseline) (summary.py).
all: every comparison. regularizer: every run that adds data against the same run without it.
pairs: the task x task matrix, training on A + B against A alone, scored on A.
forgetting: per suite task (lm-eval), every trained arm against the base model and every regularised
arm against the same mixture without its regulariser (forgetting.py).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mixft.runner.compare.pairing import BASE, BASELINE, Comparison, Report

VIEWS = ("tasks", "summary", "all", "regularizer", "pairs", "forgetting")


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["model"], row["recipe"], row["held_out"], row["task"], -row["delta"], row["mixture"])


def all_rows(report: Report) -> list[dict[str, Any]]:
    """One row per comparison: targets against baselines, then held-out tasks against the base model."""
    return sorted((c.row() for c in report.comparisons), key=_sort_key)


def base_scores(report: Report) -> dict[tuple[str, str, str], float]:
    """(model, task, metric) -> the base model's score, from its metrics."""
    found = {}
    for run in report.runs:
        if run.role == BASE and run.state == "done":
            for key, value in run.metrics.items():
                _, task, metric = key.split("/", 2)
                found[(run.model, task, metric)] = value
    return found


def task_rows(report: Report, confidence: float, correction: str) -> list[dict[str, Any]]:
    """Per model, recipe and task: the reference, the best run and the count of significant wins."""
    groups: dict[tuple[Any, ...], list[Comparison]] = defaultdict(list)
    for c in report.comparisons:
        if c.reference in (BASELINE, BASE):
            groups[(c.model, c.recipe, c.task, c.reference)].append(c)
    base = base_scores(report)
    rows = []
    for (model, _, task, reference), items in groups.items():
        rows_of = [c.row() for c in items]
        best = max(rows_of, key=lambda r: r["delta"])
        signs = [r["significant"] for r in rows_of]
        rows.append(
            best
            | {
                "base": base.get((model, task, best["metric"])),
                "n_mixtures": len(rows_of),
                "n_better": signs.count(1),
                "n_worse": signs.count(-1),
                # uncorrected, chance alone gives about this many ▲; corrected, any ▲ at most 1 - confidence
                "n_expected_by_chance": len(rows_of) * (1 - confidence) / 2 if correction == "none" else None,
                "reference": reference,
            }
        )
    return sorted(rows, key=_sort_key)


def regularizer_rows(additions: Report) -> list[dict[str, Any]]:
    """Every run that adds data against the same run without it (see `pairing.pair_additions`)."""
    return sorted(
        (c.row() for c in additions.comparisons),
        key=lambda r: (
            r["model"],
            r["recipe"],
            r["held_out"],
            r["task"],
            r["reference"],
            len(r["mixture"]),
            r["mixture"],
        ),
    )


def pair_rows(report: Report) -> list[dict[str, Any]]:
    """Comparisons of two-task mixtures (no regulariser) on each of their tasks, with `other`: the
    task trained alongside."""
    rows = []
    for c in report.comparisons:
        if c.reference == BASELINE and len(c.mixture) == 2 and c.regularizer == "none":
            other = next(t for t in c.mixture if t != c.task)
            rows.append(c.row() | {"other": other})
    return sorted(rows, key=lambda r: (r["model"], r["recipe"], r["task"], r["other"]))


def pair_matrix(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]]:
    """(model, recipe) -> task A -> task B -> the row of A + B scored on A."""
    matrix: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for row in rows:
        matrix[(row["model"], row["recipe"])][row["task"]][row["other"]] = row
    return matrix
