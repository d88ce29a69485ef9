"""`mixft sweep`: run every run of a sweep that is not done yet, on the sweep's executor.

run: mixft sweep smoke    |    mixft sweep cocktail_paper --gpus 0-7 --retries 1
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mixft.runner.execute.sweep import Outcome
    from mixft.runner.plan.grid import Plan


def sweep(
    name: Annotated[str, typer.Argument(help="A packaged sweep name or a YAML path.")],
    overrides: Annotated[list[str] | None, typer.Argument(help="Overrides, as for `mixft plan`.")] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            help="local (this host), slurm (a job array) or ray (a Ray cluster); the same as the override executor=NAME (default: the config's, local)"
        ),
    ] = None,
    gpus: Annotated[
        str | None, typer.Option(help="GPUs to use: all, none, or ids such as 0-3,6 (default: executor.gpus)")
    ] = None,
    gpus_per_run: Annotated[
        int | None,
        typer.Option(help="GPUs per run; K > 1 launches through accelerate (default: executor.gpus_per_run)"),
    ] = None,
    procs_per_run: Annotated[
        int | None,
        typer.Option(
            help="CPU processes per run; P > 1 launches through torchrun, DDP over gloo (default: executor.procs_per_run)"
        ),
    ] = None,
    max_parallel: Annotated[
        int | None, typer.Option(help="Most runs at once (default: executor.max_parallel, one per slot)")
    ] = None,
    runs_per_gpu: Annotated[
        int | None,
        typer.Option(
            help="Most runs on one GPU, packed by memory estimate (default: executor.runs_per_gpu, 1)"
        ),
    ] = None,
    retries: Annotated[
        int | None, typer.Option(help="Extra attempts for a failed run (default: executor.retries)")
    ] = None,
    timeout_min: Annotated[
        float | None, typer.Option(help="Per-run wall-clock limit, minutes (default: executor.timeout_min)")
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(help="Only runs matching FIELD=VALUE[,...] (fields of sweep filters, and id)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would run, run nothing.")] = False,
    rehearse: Annotated[
        bool,
        typer.Option(
            "--rehearse",
            help="Its shape on the tiny model, 48 real rows a source, 2 steps (own store)",
        ),
    ] = False,
    sample: Annotated[int | None, typer.Option(help="With --rehearse: only N trainings of the grid")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run even when the store's disk looks too small for the runs.")
    ] = False,
) -> None:
    """Run a sweep's runs that are not done: skip done, resume interrupted, retry failed ones."""
    from mixft.runner.execute import rehearse as rehearsal
    from mixft.runner.execute.options import planned

    options = {"gpus": gpus, "gpus_per_run": gpus_per_run, "max_parallel": max_parallel}
    options |= {"runs_per_gpu": runs_per_gpu, "procs_per_run": procs_per_run}
    options |= {"retries": retries, "timeout_min": timeout_min}
    if sample is not None and (not rehearse or sample < 1):
        raise typer.BadParameter("--sample N (N >= 1) goes with --rehearse", param_hint="--sample")
    if rehearse:
        typer.echo(f"rehearsal: tiny model, store {rehearsal.use_rehearsal_store()}")
        overrides = [*(overrides or []), *rehearsal.OVERRIDES]
    plan = planned(name, overrides or [], executor, options, only)
    _sweep(rehearsal.sample(plan, sample) if sample else plan, dry_run, checks=rehearse, force=force)


def evaluate(
    name: Annotated[str, typer.Argument(help="A packaged sweep name or a YAML path.")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Overrides, as for `mixft plan` (eval.*, eval.tasks=[...]).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local, slurm or ray, as for `mixft sweep` (default: the config's)")
    ] = None,
    gpus: Annotated[str | None, typer.Option(help="GPUs to use, as for `mixft sweep`")] = None,
    only: Annotated[str | None, typer.Option(help="Only runs matching FIELD=VALUE[,...].")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would run, run nothing.")] = False,
) -> None:
    """Score a sweep's saved models again (new eval settings or tasks); train nothing."""
    from mixft.runner.execute.options import planned
    from mixft.runner.plan.work import work_of

    plan = planned(name, overrides or [], executor, {"gpus": gpus}, only)
    work = work_of(plan.runs)
    untrained = [run for run in plan.runs if work[run.id].what == "train"]
    if untrained:
        typer.secho(
            f"{len(untrained)} run(s) have no saved model to score ({work[untrained[0].id].why or 'not trained'}"
            f"); `mixft sweep {plan.sweep}` trains them",
            fg="yellow",
            err=True,
        )
    _sweep(plan.only([run for run in plan.runs if work[run.id].what != "train"]), dry_run)


def _sweep(plan: Plan, dry_run: bool, checks: bool = False, force: bool = False) -> None:
    from mixft.cli import render
    from mixft.runner.execute.executors import executor_for
    from mixft.runner.execute.sweep import disk_check, queue

    if not plan.runs:
        raise typer.Exit(code=1)
    settings = plan.executor()
    todo = queue(plan, settings.retries)
    runner = executor_for(settings)
    typer.echo(f"sweep {plan.sweep}: {len(plan.runs)} runs, {len(todo)} to run on {runner.where()}")
    typer.echo(disk_check(todo, force=force or dry_run))  # refused here (exit 2) when it cannot fit
    if dry_run:
        render.plan_table(plan.only(todo))
        for line in runner.layout(todo):
            typer.echo(f"  {line}")
        return
    _finish(_run(plan, len(todo), checks))


def _run(plan: Plan, total: int, checks: bool = False) -> Outcome:
    """Run the plan with a live progress bar and one line per run start and end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mixft.runner.execute.sweep import run_sweep

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, transient=True) as progress:
        bar = progress.add_task(f"sweep {plan.sweep}", total=total)

        def report(event: str, text: str) -> None:
            progress.console.print(f"{time.strftime('%H:%M:%S')} {event:<11} {text}", highlight=False)
            if event == "done":
                progress.advance(bar)

        return run_sweep(plan, report, checks=checks)


def _finish(outcome: Outcome) -> None:
    typer.echo("  ".join(f"{state}: {count}" for state, count in outcome.counts.items() if count))
    for rid, error in outcome.failed:
        typer.secho(f"failed {rid}: {error}", fg="red", err=True)
    for rid, state in outcome.unfinished:  # stopped by a signal, or a state a full disk lost
        typer.secho(f"not done {rid}: {state}; run the sweep again to resume it", fg="yellow", err=True)
    if outcome.interrupted:
        raise typer.Exit(code=130)
    if outcome.failed or outcome.unfinished:
        raise typer.Exit(code=1)
