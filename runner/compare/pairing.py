"""Pair runs for `mixft compare`: every mixture with its single-task baselines, every trained run with
the base model on held-out tasks, and every run that adds data with the same run without it.

run: mixft compare smoke    |    mixft compare smoke --view all --format json

A baseline for task t is the done run in the same context and seed trained on {t} alone, regulariser
none (results.py says what a context is). A mixture's seeds are compared with the baselines of the
same seeds; a seed whose baseline is missing is left out and reported. Held-out tasks are scored
tasks that no run of the sweep trains on (fiqa_sa in the study); runs are compared there with the
untrained base model.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from mixft.runner.compare import stats
from mixft.runner.compare.corrections import DEFAULT, adjust_families
from mixft.runner.compare.intervals import ROWS
from mixft.runner.compare.measure import Measured, measure, task_sample
from mixft.runner.compare.pooling import SeedPools
from mixft.runner.compare.results import RunResult

BASELINE, BASE = "baseline", "base"


@dataclass(frozen=True)
class Options:
    metric: str = "accuracy"  # accuracy | macro_f1 (numeric tasks: numeric_accuracy)
    confidence: float = stats.CONFIDENCE
    resamples: int = stats.RESAMPLES
    correction: str = DEFAULT  # holm | fdr | none, within each family (corrections.py)


@dataclass(frozen=True)
class Comparison:
    """Runs (over seeds) against a reference on one task."""

    model: str
    recipe: str
    task: str
    mixture: tuple[str, ...]  # what the compared runs trained on
    regularizer: str
    reference: str  # baseline | base | without <data>
    held_out: bool
    measured: Measured
    run_ids: tuple[str, ...]
    reference_ids: tuple[str, ...]
    p_adjusted: float | None = None  # within the comparison's family (corrections.py)
    correction: str = "none"
    alpha: float = 1 - stats.CONFIDENCE

    @property
    def significant(self) -> int | None:
        """+1 / -1 when the delta is above / below zero after the family's correction, 0 when not (or
        when the interval makes no claim), None without an interval."""
        interval = self.measured.interval
        if interval is None:
            return None
        if not interval.claims or self.p_adjusted is None or self.p_adjusted >= self.alpha:
            return 0
        return 1 if interval.estimate > 0 else -1

    def row(self) -> dict[str, Any]:
        """The JSON row: model, task, mixture, metric, baseline, score, delta, ci_low, ci_high,
        ci_method, p_value, p_adjusted, correction, significant, n_seeds, ..."""
        m, interval = self.measured, self.measured.interval
        return {
            "model": self.model,
            "recipe": self.recipe,
            "task": self.task,
            "mixture": list(self.mixture),
            "regularizer": self.regularizer,
            "reference": self.reference,
            "held_out": self.held_out,
            "metric": m.metric,
            "baseline": _mean(m.reference),
            "baseline_std": _std(m.reference),
            "score": _mean(m.scores),
            "score_std": _std(m.scores),
            "delta": m.delta,
            "ci_low": interval.low if interval else None,
            "ci_high": interval.high if interval else None,
            "ci_method": interval.method if interval else None,
            "df": interval.df if interval else None,
            "p_value": interval.p_value if interval else None,
            "p_adjusted": self.p_adjusted,
            "correction": self.correction,
            "significant": self.significant,
            "n_seeds": len(m.scores),
            "n_examples": m.n_examples,
            "run_ids": list(self.run_ids),
            "reference_ids": list(self.reference_ids),
        }


@dataclass
class Report:
    """Everything compare found: comparisons, and what it could not compare and why."""

    comparisons: list[Comparison] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # one line each
    runs: list[RunResult] = field(default_factory=list)

    @property
    def not_done(self) -> list[RunResult]:
        return [r for r in self.runs if r.state != "done"]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _std(values: list[float]) -> float | None:
    import statistics

    return statistics.stdev(values) if len(values) > 1 else None


def seed_groups(runs: list[RunResult]) -> dict[tuple[Any, ...], list[RunResult]]:
    """Trained runs that differ only in their seed, sorted by seed."""
    groups: dict[tuple[Any, ...], list[RunResult]] = defaultdict(list)
    for run in runs:
        groups[(run.context, run.tasks, run.regularizer)].append(run)
    return {k: sorted(v, key=lambda r: (r.seed is None, r.seed)) for k, v in groups.items()}


def describe(run: RunResult | None, what: str) -> str:
    """The line for a reference that cannot be used: not in this sweep, or its state (and error)."""
    if run is None:
        return f"{what}: not in this sweep"
    detail = f": {run.error}" if run.state == "failed" and run.error else ""
    return f"{what}: run {run.id} is {run.state}{detail}"


class _Pairer:
    def __init__(self, runs: list[RunResult], options: Options) -> None:
        self.options, self.report = options, Report(runs=runs)
        self.done = [r for r in runs if r.state == "done"]
        self.baselines = {
            (r.context, r.targets[0], r.seed): r
            for r in runs
            if r.role == "baseline" and len(r.targets) == 1 and not r.additions
        }
        self.bases = {r.base_context: r for r in runs if r.role == "base"}
        trained = {t for r in runs for t in r.tasks}
        self.held_out = {t for r in runs for t in r.scored if t not in trained}
        self.pools = SeedPools(list(seed_groups(self.done).values()), self._arm_sample)

    def _arm_sample(self, arm: list[RunResult], task: str) -> stats.Sample | None:
        info = arm[0].scored.get(task)
        if info is None or any(task not in r.evaluated for r in arm):
            return None
        return task_sample(task, info, self.options.metric, arm, self.options.resamples)

    def add(
        self, first: RunResult, task: str, runs: list[RunResult], refs: list[RunResult], reference: str
    ) -> None:
        info, o = first.scored[task], self.options
        pooled = self.pools.get(first.context, task) if len(runs) == 1 else None
        found = measure(task, info, o.metric, runs, refs, o.confidence, o.resamples, pooled)
        if found is None:
            self.report.missing.append(f"{task} of {first.id}: no predictions or scores to compare")
            return
        comparison = Comparison(
            first.model,
            first.recipe,
            task,
            first.tasks,
            first.regularizer,
            reference,
            task in self.held_out,
            found,
            tuple(r.id for r in runs),
            tuple(dict.fromkeys(r.id for r in refs)),
        )
        self.report.comparisons.append(comparison)

    def with_baselines(self, group: list[RunResult]) -> None:
        first = group[0]
        for task in first.targets:
            pairs = []
            for run in group:
                baseline = self.baselines.get((run.context, task, run.seed))
                if baseline is not None and baseline.state == "done":
                    pairs.append((run, baseline))
                else:
                    what = f"baseline {task} ({run.model}, {run.recipe}, seed {run.seed}) for {'+'.join(run.tasks)}"
                    self.report.missing.append(describe(baseline, what))
            if pairs:
                self.add(first, task, [p[0] for p in pairs], [p[1] for p in pairs], BASELINE)

    def with_base(self, group: list[RunResult]) -> None:
        first = group[0]
        tasks = [t for t in first.evaluated if t in self.held_out and t in first.scored]
        if not tasks:
            return
        base = self.bases.get(first.base_context)
        if base is None or base.state != "done":
            self.report.missing.append(
                describe(base, f"base model {first.model} for held-out {', '.join(tasks)}")
            )
            return
        for task in tasks:
            self.add(first, task, group, [base], BASE)


def pair(runs: list[RunResult], options: Options | None = None) -> Report:
    """Compare every done mixture with its baselines and every done trained run with the base model on
    held-out tasks; note what is missing (one line each, deduplicated)."""
    pairer = _Pairer(runs, options or Options())
    for group in seed_groups([r for r in pairer.done if r.role != "base"]).values():
        if group[0].role == "mixture":
            pairer.with_baselines(group)
        pairer.with_base(group)
    return corrected(pairer.report, pairer.options)


def pair_additions(runs: list[RunResult], options: Options | None = None) -> Report:
    """Compare every done run that adds data (a regulariser, or unscored tasks such as open_orca) with the
    same run without it, on its targets and the held-out tasks."""
    pairer = _Pairer(runs, options or Options())
    plain = {(r.context, r.targets, r.seed): r for r in runs if r.role != "base" and not r.additions}
    for group in seed_groups([r for r in pairer.done if r.additions and r.targets]).values():
        first = group[0]
        label = "without " + " + ".join(first.additions)
        pairs = []
        for run in group:
            ref = plain.get((run.context, run.targets, run.seed))
            if ref is not None and ref.state == "done":
                pairs.append((run, ref))
            else:
                what = f"{'+'.join(run.targets)} {label} ({run.model}, seed {run.seed})"
                pairer.report.missing.append(describe(ref, what))
        tasks = [t for t in first.evaluated if t in first.targets or t in pairer.held_out]
        for task in tasks if pairs else []:
            pairer.add(first, task, [p[0] for p in pairs], [p[1] for p in pairs], label)
    return corrected(pairer.report, pairer.options)


def family(c: Comparison) -> tuple[Any, ...]:
    """The comparisons corrected together: one model, recipe and task against one kind of reference."""
    return (c.model, c.recipe, c.task, c.held_out, c.reference)


def p_value(c: Comparison) -> float | None:
    """The comparison's raw p-value; None when its interval makes no claim."""
    interval = c.measured.interval
    return interval.p_value if interval is not None and interval.method != ROWS else None


def corrected(report: Report, options: Options) -> Report:
    """The report with every comparison's p-value adjusted in its family, and `missing` deduplicated."""
    adjusted = adjust_families(report.comparisons, family, p_value, options.correction)
    alpha = 1 - options.confidence
    report.comparisons = [
        dataclasses.replace(c, p_adjusted=p, correction=options.correction, alpha=alpha)
        for c, p in zip(report.comparisons, adjusted, strict=True)
    ]
    report.missing = list(dict.fromkeys(report.missing))
    return report
