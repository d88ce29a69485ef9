"""`mixft compare`: every mixture against its single-task baselines, with confidence intervals.

run: mixft compare smoke    |    mixft compare smoke --view pairs --plot deltas.png --format md
     mixft compare smoke --view forgetting --plot forgetting.png    (lm-eval suites against the base model)
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mixft.cli.formats import CompareFormat, Format


class View(StrEnum):
    tasks = "tasks"
    summary = "summary"
    all = "all"
    regularizer = "regularizer"
    pairs = "pairs"
    forgetting = "forgetting"


class Metric(StrEnum):
    accuracy = "accuracy"
    macro_f1 = "macro_f1"


class Correction(StrEnum):
    holm = "holm"
    fdr = "fdr"
    none = "none"


class Source(StrEnum):
    store = "store"
    wandb = "wandb"
    mlflow = "mlflow"


def compare(
    sweep: Annotated[
        str, typer.Argument(help="A sweep that has run (in this store, or in a tracker with --source).")
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="Overrides, as for `mixft sweep`: compare the runs they plan (eval.max_examples=32)."
        ),
    ] = None,
    view: Annotated[
        View,
        typer.Option(
            help="tasks: best mixture per task; summary: each mixture across its tasks (mean delta, P(better)); all: every comparison; regularizer: effect of added data; pairs: task x task; forgetting: lm-eval suites vs the base model and without the regulariser."
        ),
    ] = View.tasks,
    fmt: Annotated[CompareFormat, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    metric: Annotated[
        Metric,
        typer.Option(
            help="Classification metric (numeric tasks use numeric_accuracy; suites each task's primary metric)."
        ),
    ] = Metric.accuracy,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a heatmap of deltas (mixtures x tasks) to this PNG; forgetting: delta vs base per regulariser."
        ),
    ] = None,
    publish_: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="Log the table and heatmap to a comparison run beside the sweep's runs in its tracker.",
        ),
    ] = False,
    wandb: Annotated[
        bool,
        typer.Option("--wandb", help="Like --publish, to W&B whatever tracker the sweep ran with."),
    ] = False,
    source: Annotated[
        Source,
        typer.Option(
            help="store: this machine's run dirs; wandb: the W&B API (online); mlflow: the sweep's MLflow tracking URI."
        ),
    ] = Source.store,
    project: Annotated[
        str | None, typer.Option(help="W&B project for --source wandb (default: the sweep's).")
    ] = None,
    entity: Annotated[
        str | None, typer.Option(help="W&B entity for --source wandb (default: the sweep's).")
    ] = None,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Coverage of the bootstrap intervals.")
    ] = 0.95,
    resamples: Annotated[int, typer.Option(min=100, max=1_000_000, help="Bootstrap resamples.")] = 10_000,
    correction: Annotated[
        Correction,
        typer.Option(
            help="Counting wins among the N mixtures of a task: holm (family-wise), fdr (Benjamini-Hochberg) or none."
        ),
    ] = Correction.holm,
) -> None:
    """Compare every mixture with its single-task baselines (intervals over seeds and eval rows)."""
    from mixft.cli import compare_render as render
    from mixft.runner.compare.core import build, heatmap_path, load_runs, plot_result, publish_result
    from mixft.runner.compare.pairing import Options

    runs, unreadable = load_runs(sweep, source.value, project, entity, overrides)
    options = Options(metric.value, confidence, resamples, correction.value)
    result = build(sweep, view.value, options, runs, unreadable)
    {
        Format.table: render.table,
        Format.md: render.markdown,
        Format.csv: render.as_csv,
        Format.json: render.as_json,
        Format.latex: render.latex,
    }[fmt](result)
    publishing = publish_ or wandb
    image = plot_result(result, plot or heatmap_path(sweep, view.value)) if plot or publishing else None
    if plot:
        typer.echo(f"{'plot' if view == View.forgetting else 'heatmap'}: {plot}", err=fmt != Format.table)
    if publishing:
        where = publish_result(result, image, "wandb" if wandb else None)
        typer.echo(f"published: {where}" if where else "not published (see the warning above)", err=True)
