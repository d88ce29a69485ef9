"""Pair runs on lm-eval suites for `mixft compare --view forgetting`: what fine-tuning lost or gained
in general ability, and what a regulariser gave back.

run: mixft compare smoke --view forgetting    |    mixft compare smoke --view forgetting --plot forgetting.png

Per model and suite task, two comparisons:
- every trained arm (mixtures and single-task baselines, over seeds) against the untrained base model
  of the same model, data and eval settings (its base_context);
- every regularised arm (regulariser not "none") against the same mixture without the regulariser:
  the run in the same context, with the same tasks and seed, regulariser "none".
Each pair is checked first (suites.refusal): runs scored under different settings or prompts are not
compared, and the report says what differs, one line each. The metric is each suite task's primary
metric (the first of its settings' metrics), whatever `--metric` says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mixft.runner.compare import stats
from mixft.runner.compare.corrections import adjust_families
from mixft.runner.compare.pairing import (
    BASE,
    Comparison,
    Options,
    Report,
    describe,
    p_value,
    seed_groups,
)
from mixft.runner.compare.pooling import SeedPools
from mixft.runner.compare.results import RunResult
from mixft.runner.compare.suites import measure_suite, primary_metric, refusal, suite_sample

KEYS = (
    "model",
    "recipe",
    "suite",
    "task",
    "metric",
    "higher_is_better",
    "mixture",
    "regularizer",
    "reference",
    "score",
    "score_std",
    "baseline",
    "baseline_std",
    "delta",
    "ci_low",
    "ci_high",
    "ci_method",
    "p_value",
    "p_adjusted",
    "correction",
    "significant",
    "n_seeds",
    "n_examples",
    "run_ids",
    "reference_ids",
)


@dataclass(frozen=True)
class SuiteComparison:
    """Runs (over seeds) against a reference on one suite task."""

    suite: str
    higher_is_better: bool | None  # None when the settings do not say
    comparison: Comparison  # its task is the suite's task; held_out is unused

    def row(self) -> dict[str, Any]:
        """The JSON row (KEYS): the comparison's fields, with the suite in place of held_out;
        n_examples counts the documents compared."""
        row = self.comparison.row() | {"suite": self.suite, "higher_is_better": self.higher_is_better}
        return {key: row[key] for key in KEYS}


@dataclass
class SuiteReport(Report):
    """A Report whose comparisons are on suite tasks."""

    suite_comparisons: list[SuiteComparison] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per comparison: per model and suite task, against the base model first."""

        def order(row: dict[str, Any]) -> tuple[Any, ...]:
            return (
                row["model"],
                row["recipe"],
                row["suite"],
                row["task"],
                row["reference"] != BASE,
                row["reference"],
                len(row["mixture"]),
                row["mixture"],
                row["regularizer"] != "none",
                row["regularizer"],
            )

        return sorted((c.row() for c in self.suite_comparisons), key=order)


def _unique(runs: list[RunResult]) -> list[RunResult]:
    return list({r.id: r for r in runs}.values())


class _Forgetting:
    def __init__(self, runs: list[RunResult], options: Options) -> None:
        self.options, self.report = options, SuiteReport(runs=runs)
        self.bases = {r.base_context: r for r in runs if r.role == BASE}
        self.plain = {
            (r.context, r.tasks, r.seed): r for r in runs if r.role != BASE and r.regularizer == "none"
        }
        trained = [r for r in runs if r.state == "done" and r.role != BASE]
        self.pools = SeedPools(list(seed_groups(trained).values()), self._arm_sample)

    def _arm_sample(self, arm: list[RunResult], what: tuple[str, str]) -> stats.Sample | None:
        suite, task = what
        primary = primary_metric(arm[0], suite, task)
        if primary is None or any(what not in r.suite_tasks for r in arm):
            return None
        return suite_sample(suite, task, primary[0], arm, self.options.resamples)

    def against_base(self, group: list[RunResult]) -> None:
        first = group[0]
        base = self.bases.get(first.base_context)
        tasks = sorted({t for r in group for t in r.suite_tasks})
        if not tasks:
            return
        if base is None or base.state != "done":
            suites = ", ".join(dict.fromkeys(s for s, _ in tasks))
            self.report.missing.append(describe(base, f"base model {first.model} for suite {suites}"))
            return
        for suite, task in tasks:
            self.compare(suite, task, [(run, base) for run in group], BASE)

    def against_plain(self, group: list[RunResult]) -> None:
        first = group[0]
        label = f"without {first.regularizer}"
        pairs = []
        for run in group:
            ref = self.plain.get((run.context, run.tasks, run.seed))
            if ref is not None and ref.state == "done":
                pairs.append((run, ref))
            elif run.suite_tasks:
                what = f"{'+'.join(run.tasks)} {label} ({run.model}, {run.recipe}, seed {run.seed})"
                self.report.missing.append(describe(ref, what))
        tasks = {t for run, _ in pairs for t in run.suite_tasks}
        for suite, task in sorted(tasks):
            self.compare(suite, task, pairs, label)

    def compare(
        self, suite: str, task: str, pairs: list[tuple[RunResult, RunResult]], reference: str
    ) -> None:
        """Measure the pairs that may be compared on one suite task; report the others."""
        kept = []
        for run, ref in pairs:
            why = refusal(suite, task, run, ref)
            if why is None:
                kept.append((run, ref))
                continue
            whom = f"base {ref.id}" if reference == BASE else f"{ref.id} ({reference})"
            self.report.missing.append(f"{suite}/{task}: cannot pair run {run.id} with {whom}: {why}")
        if kept:
            self.add(suite, task, [p[0] for p in kept], _unique([p[1] for p in kept]), reference)

    def add(
        self, suite: str, task: str, runs: list[RunResult], refs: list[RunResult], reference: str
    ) -> None:
        first, options = runs[0], self.options
        primary = primary_metric(first, suite, task)
        found = None
        if primary is not None:
            pooled = self.pools.get(first.context, (suite, task)) if len(runs) == 1 else None
            found = measure_suite(
                suite, task, primary[0], runs, refs, options.confidence, options.resamples, pooled
            )
        if primary is None or found is None:
            self.report.missing.append(
                f"{suite}/{task} of {first.id}: no shared documents or scores to compare with {reference}"
            )
            return
        ids, ref_ids = tuple(r.id for r in runs), tuple(r.id for r in refs)
        comparison = Comparison(
            first.model,
            first.recipe,
            task,
            first.tasks,
            first.regularizer,
            reference,
            False,
            found,
            ids,
            ref_ids,
        )
        self.report.suite_comparisons.append(SuiteComparison(suite, primary[1], comparison))


def pair_forgetting(runs: list[RunResult], options: Options | None = None) -> SuiteReport:
    """Compare every done trained arm with the base model, and every done regularised arm with the same
    mixture without its regulariser, on every suite task; note what is missing (one line each)."""
    pairer = _Forgetting(runs, options or Options())
    trained = [r for r in runs if r.state == "done" and r.role != BASE]
    for group in seed_groups(trained).values():
        pairer.against_base(group)
        if group[0].regularizer != "none":
            pairer.against_plain(group)
    report, options = pairer.report, pairer.options
    found = report.suite_comparisons

    def family(s: SuiteComparison) -> tuple[Any, ...]:
        c = s.comparison
        return (c.model, c.recipe, s.suite, c.task, c.reference == BASE)

    adjusted = adjust_families(found, family, lambda s: p_value(s.comparison), options.correction)
    report.suite_comparisons = [
        dataclasses.replace(
            s,
            comparison=dataclasses.replace(
                s.comparison, p_adjusted=p, correction=options.correction, alpha=1 - options.confidence
            ),
        )
        for s, p in zip(found, adjusted, strict=True)
    ]
    report.missing = list(dict.fromkeys(report.missing))
    return report
