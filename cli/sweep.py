"""`mixft sweep`: run every run of a sweep on this host that is not done yet.

run: mixft sweep smoke    |    mixft sweep cocktail_paper --gpus 0-7 --retries 1
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

import typer


def sweep(
    name: Annotated[str, typer.Argument(help="A packaged sweep name or a YAML path.")],
    overrides: Annotated[list[str] | None, typer.Argument(help="Overrides, as for `mixft plan`.")] = None,
    executor: Annotated[
        str, typer.Option(help="local (this host) or slurm (job arrays, conf/executor/slurm.yaml).")
    ] = "local",
    gpus: Annotated[
        str | None, typer.Option(help="GPUs to use: all, none, or ids such as 0-3,6 [default: executor.gpus]")
    ] = None,
    gpus_per_run: Annotated[
        int | None,
        typer.Option(help="GPUs per run; K > 1 launches through accelerate [default: executor.gpus_per_run]"),
    ] = None,
    max_parallel: Annotated[
        int | None, typer.Option(help="Most runs at once [default: executor.max_parallel, one per slot]")
    ] = None,
    retries: Annotated[
        int | None, typer.Option(help="Extra attempts for a failed run [default: executor.retries]")
    ] = None,
    timeout_min: Annotated[
        float | None, typer.Option(help="Per-run wall-clock limit, minutes [default: executor.timeout_min]")
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(help="Only runs matching FIELD=VALUE[,...] (fields of sweep filters, and id)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would run, run nothing.")] = False,
) -> None:
    """Run a sweep's runs that are not done: skip done, resume interrupted, retry failed ones."""
    from mixft.cli import render
    from mixft.runner.errors import ConfigError
    from mixft.runner.execute.executors.slots import device_slots
    from mixft.runner.execute.sweep import Options, eligible, run_sweep
    from mixft.runner.plan.filters import check_filters, matches, parse_only
    from mixft.runner.plan.grid import expand
    from mixft.runner.plan.sweepfile import load_sweep

    if executor not in ("local", "slurm"):
        raise ConfigError(f"--executor {executor!r}: choose local or slurm")
    extra = ["executor=slurm"] if executor == "slurm" else []
    plan = expand(load_sweep(name), [*extra, *(overrides or [])])
    if only:
        flt = parse_only(only)
        check_filters([flt], [])
        plan = type(plan)(plan.sweep, [run for run in plan.runs if matches(run, [flt], default=True)])
    # an option given here wins over the executor config (conf/executor/*.yaml, executor.* overrides)
    given = {"gpus": gpus, "gpus_per_run": gpus_per_run, "max_parallel": max_parallel}
    given |= {"retries": retries, "timeout_min": timeout_min}
    settings = dataclasses.replace(
        plan.runs[0].config.executor, **{k: v for k, v in given.items() if v is not None}
    )
    todo = [run for run in plan.runs if eligible(run.id, settings.retries)]
    if executor == "slurm":
        _slurm(plan, todo, settings, dry_run)
        return
    slots = device_slots(settings.gpus, settings.gpus_per_run, settings.max_parallel)
    typer.echo(
        f"sweep {plan.sweep}: {len(plan.runs)} runs, {len(todo)} to run on {len(slots)} slot(s) "
        f"({', '.join(s.name for s in slots)})"
    )
    if dry_run:
        render.plan_table(type(plan)(plan.sweep, todo))
        return

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, transient=True) as progress:
        bar = progress.add_task(f"sweep {plan.sweep}", total=len(todo))

        def report(event: str, text: str) -> None:
            progress.console.print(f"{time.strftime('%H:%M:%S')} {event:<11} {text}", highlight=False)
            if event == "done":
                progress.advance(bar)

        outcome = run_sweep(plan, slots, Options(settings.retries, settings.timeout_min), report)
    _finish(outcome)


def _line(event: str, text: str) -> None:
    typer.echo(f"{time.strftime('%H:%M:%S')} {event:<11} {text}")


def _finish(outcome: object) -> None:
    typer.echo("  ".join(f"{state}: {count}" for state, count in outcome.counts.items() if count))
    for rid, error in outcome.failed:
        typer.secho(f"failed {rid}: {error}", fg="red", err=True)
    for rid, state in outcome.unfinished:  # stopped by a signal, or a state a full disk lost
        typer.secho(f"not done {rid}: {state}; run the sweep again to resume it", fg="yellow", err=True)
    if outcome.interrupted:
        raise typer.Exit(code=130)
    if outcome.failed or outcome.unfinished:
        raise typer.Exit(code=1)


def _slurm(plan: object, todo: list, settings: object, dry_run: bool) -> None:
    """Submit the runs that are not done as one SLURM job array and wait for it."""
    from mixft.cli import render
    from mixft.runner.execute.sweep import run_on_slurm

    typer.echo(f"sweep {plan.sweep}: {len(plan.runs)} runs, {len(todo)} to run on SLURM")
    if dry_run:
        render.plan_table(type(plan)(plan.sweep, todo))
        return
    _finish(run_on_slurm(plan, settings, _line))
