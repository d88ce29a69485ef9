"""`mixft compare` in one call: read a sweep's runs, pair them, and build the rows of a view.

run: mixft compare smoke --format json
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixft.runner.compare import sources, views
from mixft.runner.compare.forgetting import pair_forgetting
from mixft.runner.compare.pairing import Options, Report, pair, pair_additions
from mixft.runner.compare.results import RunResult
from mixft.runner.compare.summary import summary_rows
from mixft.runner.errors import ConfigError, unknown
from mixft.runner.paths import compare_dir


@dataclass
class Result:
    """A view's rows, the comparisons behind them, and what could not be compared."""

    sweep: str
    view: str
    options: Options
    rows: list[dict[str, Any]]
    report: Report
    unreadable: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [*self.unreadable, *self.report.missing]


def load_runs(
    sweep: str, source: str, project: str | None, entity: str | None, overrides: list[str] | None = None
) -> tuple[list[RunResult], list[str]]:
    """The sweep's runs from the store or a tracker, and a line per run that could not be read.

    With `overrides`, the runs the sweep plans with them (store only): `eval.max_examples=32` reads
    the evaluations made with those settings, whichever the sweep ran last.
    """
    if source not in sources.SOURCES:
        raise unknown("source", source, sources.SOURCES)
    if source == "store":
        return sources.store_runs(sweep, overrides)
    if overrides:
        raise ConfigError(
            f"compare --source {source} reads the sweep's tracked runs as they are; it takes no overrides"
        )
    return sources.tracker_runs(sweep, source, project, entity), []


def build(sweep: str, view: str, options: Options, runs: list[RunResult], unreadable: list[str]) -> Result:
    """Pair the runs and build the rows of one view (see views.py)."""
    if view not in views.VIEWS:
        raise unknown("view", view, views.VIEWS)
    if view == "regularizer":
        report = pair_additions(runs, options)
        rows = views.regularizer_rows(report)
    elif view == "forgetting":
        report = pair_forgetting(runs, options)
        rows = report.rows()
    else:
        report = pair(runs, options)
        rows = {
            "tasks": lambda: views.task_rows(report, options.confidence, options.correction),
            "summary": lambda: summary_rows(report, options),
            "all": lambda: views.all_rows(report),
            "pairs": lambda: views.pair_rows(report),
        }[view]()
    return Result(sweep, view, options, rows, report, unreadable)


def heatmap_path(sweep: str, view: str = "tasks") -> Path:
    """Where --publish writes the plot when --plot names no file."""
    return compare_dir(sweep) / ("forgetting.png" if view == "forgetting" else "heatmap.png")


def plot_result(result: Result, path: Path) -> Path:
    """Heatmap of every comparison behind the view (against baselines, or without added data); for
    the forgetting view, each suite task's delta against the base model per regulariser."""
    from mixft.runner.compare.plot import forgetting_plot, heatmap

    if result.view == "forgetting":
        return forgetting_plot(result.rows, path, f"{result.sweep}: delta on suites against the base model")
    reference = (
        "the same run without the added data" if result.view == "regularizer" else "single-task baseline"
    )
    title = f"{result.sweep}: delta in score (classification: {result.options.metric})"
    return heatmap(
        views.all_rows(result.report), path, title, f"delta vs {reference} (held out: vs base model)"
    )


def publish_result(result: Result, image: Path | None, tracker: str | None = None) -> str | None:
    """Log the view's rows, every comparison and the heatmap to a side run beside the sweep's runs in
    `tracker` (default: the one the sweep ran with)."""
    from mixft.runner.compare.publish import publish

    tables = {result.view: result.rows}
    if result.view != "forgetting":  # its rows are every comparison already
        tables["comparisons"] = views.all_rows(result.report)
    if result.view in ("tasks", "all", "pairs"):  # the one answer across tasks goes along
        tables["summary"] = summary_rows(result.report, result.options)
    settings = {"view": result.view, **dataclasses.asdict(result.options)}
    folder = compare_dir(result.sweep)
    return publish(
        result.sweep, sources.sweep_tracker(result.sweep, tracker), tables, image, folder, settings
    )
