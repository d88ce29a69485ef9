"""`mixft plan`: expand a sweep into its runs without starting any.

run: mixft plan cocktail_paper    |    mixft plan smoke --format json
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def plan(
    sweep: Annotated[
        str, typer.Argument(help="A packaged sweep name (see `mixft config ls sweep`) or a YAML path.")
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Overrides; one naming a grid axis (or a,b,c) replaces that axis."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Expand a sweep and print its runs (id, model, tasks, regulariser, seed, role) and totals."""
    from mixft.cli import render
    from mixft.runner.grid import expand
    from mixft.runner.sweepfile import load_sweep

    result = expand(load_sweep(sweep), overrides or [])
    {Format.table: render.plan_table, Format.json: render.plan_json, Format.csv: render.plan_csv}[fmt](result)
