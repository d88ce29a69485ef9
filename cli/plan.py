"""`mixft plan`: expand a sweep into its runs without starting any, with what they would cost.

run: mixft plan cocktail_paper --gpu A100 --mfu 0.35    |    mixft plan smoke --format json
"""

from __future__ import annotations

from typing import Annotated

import typer

from mixft.cli.formats import Format, PlanFormat


def plan(
    sweep: Annotated[
        str, typer.Argument(help="A packaged sweep name (see `mixft config ls sweep`) or a YAML path.")
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Overrides; one naming a grid axis (or a,b,c) replaces that axis."),
    ] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    gpu: Annotated[
        str, typer.Option(help="GPU the GPU-hours assume: H100, H200, A100, L40S, A10G, ...")
    ] = "H100",
    mfu: Annotated[float, typer.Option(help="Model FLOPs utilisation assumed, a fraction of peak.")] = 0.4,
    peak_tflops: Annotated[
        float | None, typer.Option(help="Peak dense TFLOP/s, for a GPU that --gpu does not know.")
    ] = None,
) -> None:
    """Expand a sweep and print its runs (id, model, tasks, regulariser, seed, role), their cost
    (training tokens, FLOPs, GPU-hours) and totals."""
    from mixft.cli import render
    from mixft.runner.plan.cost import plan_cost
    from mixft.runner.plan.grid import expand
    from mixft.runner.plan.hardware import hardware
    from mixft.runner.plan.sweepfile import load_sweep

    hw = hardware(gpu, mfu, peak_tflops)
    result = expand(load_sweep(sweep), overrides or [])
    cost = plan_cost(result, hw)
    {Format.table: render.plan_table, Format.json: render.plan_json, Format.csv: render.plan_csv}[fmt](
        result, cost
    )
