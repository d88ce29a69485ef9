"""`mixft data`: list tasks, show examples as the model sees them, mix statistics, validate files.

run: mixft data ls    |    mixft data show fpb -n 2 --samples    |    mixft data stats smoke
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from mixft.cli.formats import Format, TableOrJson

app = typer.Typer(help="Inspect tasks, examples, mixtures and data files.", no_args_is_help=True)

Overrides = Annotated[list[str] | None, typer.Argument(help="Overrides, e.g. data.samples=true.")]


class Split(StrEnum):
    train = "train"
    eval = "eval"


Samples = Annotated[bool, typer.Option("--samples", help="Use the offline sample suite (data.samples=true).")]


@app.command("ls")
def ls() -> None:
    """List tasks: kind, metric, source, splits and training size."""
    from mixft.cli import render
    from mixft.runner.config.load import load_config

    render.task_table(load_config([]).task)


@app.command("show")
def show(
    task: Annotated[str, typer.Argument(help="A task name (see `mixft data ls`).")],
    n: Annotated[int, typer.Option("-n", help="Examples to show.")] = 3,
    model: Annotated[str, typer.Option("--model", help="Whose chat template to apply.")] = "tiny",
    split: Annotated[Split, typer.Option("--split", help="train or eval.")] = Split.train,
    samples: Samples = False,
    overrides: Overrides = None,
) -> None:
    """Print examples exactly as the model will see them, chat template applied."""
    from mixft.cli import render
    from mixft.runner.data.inspect import show_examples

    extra = ["data.samples=true"] if samples else []
    render.examples(show_examples(task, n, split.value, [f"model={model}", *extra, *(overrides or [])]))


@app.command("stats")
def stats(
    target: Annotated[
        str, typer.Argument(help="A mixture option (see `mixft config ls mixture`) or a sweep.")
    ],
    overrides: Overrides = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Count tokens with this model's tokenizer.")
    ] = None,
    samples: Samples = False,
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f", help="table or json.")] = Format.table,
) -> None:
    """Rows and tokens per source and realised shares, for a mixture or every run of a sweep."""
    from mixft.cli import render
    from mixft.runner.data.inspect import mixture_stats
    from mixft.runner.plan.mixes import training_configs

    extra = ([f"model={model}"] if model else []) + (["data.samples=true"] if samples else [])
    result = mixture_stats(training_configs(target, [*(overrides or []), *extra]))
    render.stats_json(result) if fmt == Format.json else render.stats_table(result)


@app.command("validate")
def validate(
    file: Annotated[str, typer.Argument(help="A jsonl, csv or parquet file.")],
    task: Annotated[str, typer.Option("--task", help="The task whose schema and labels it must match.")],
) -> None:
    """Check a local data file against a task's columns and label space before any run."""
    from mixft.runner.data.inspect import validate_file

    report = validate_file(file, task)
    typer.echo(f"ok: {report['rows']} rows of task '{task}' in {file}")
    for label, count in report["labels"].items():
        typer.echo(f"  {label}: {count}")
