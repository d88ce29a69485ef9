"""`mixft search`: a budgeted search for the best mixture of a search file's sources.

run: mixft search search_smoke --budget 6 --batch 2    (docs/search.md)
"""

from __future__ import annotations

import importlib.util
import time
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mixft.runner.search.state import SearchState


def search(
    spec: Annotated[
        str, typer.Argument(help="A search file: a sweep file with a `search:` section (name or path).")
    ],
    overrides: Annotated[list[str] | None, typer.Argument(help="Overrides joining the file's base.")] = None,
    budget: Annotated[int | None, typer.Option(help="Candidate trainings (default: search.budget)")] = None,
    batch: Annotated[int | None, typer.Option(help="Candidates per round (default: search.batch)")] = None,
    halving: Annotated[
        bool, typer.Option("--halving", help="Successive halving: short trainings choose who trains in full")
    ] = False,
    confirm: Annotated[
        bool,
        typer.Option(help="Train the predicted best again at a fresh seed and compare it with its baselines"),
    ] = True,
) -> None:
    """Propose mixtures round by round (Optuna), fit a surrogate over their scores, predict the best
    mixture with an interval, and confirm it; a re-run reuses every done run."""
    from mixft.runner.config.overrides import parse_overrides
    from mixft.runner.errors import ConfigError
    from mixft.runner.plan.sweepfile import load_sweep
    from mixft.runner.search.loop import Search, settings_of
    from mixft.runner.search.outputs import write_outputs
    from mixft.runner.search.wandb_log import log_search

    missing = [name for name in ("optuna", "sklearn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"mixft search needs {' and '.join(missing)}: pip install 'mixft[search]'")
    parse_overrides(overrides or [])
    sweep_spec = load_sweep(spec)
    settings = settings_of(sweep_spec, budget, batch, halving)
    runner = Search(sweep_spec, overrides or [], settings)

    def report(event: str, text: str) -> None:
        typer.echo(f"{time.strftime('%H:%M:%S')} {event:<11} {text}")

    state = runner.run(report, confirm_best=confirm)
    folder = write_outputs(state)
    _print(state)
    typer.echo(f"files: {folder}/search.json, ratios.csv, metrics.csv")
    logged = log_search(state, runner.tracker, folder)
    if logged:
        typer.echo(f"{runner.tracker['name']}: {logged}")
    if state.interrupted:
        raise typer.Exit(code=130)
    if state.unfinished:
        for rid, why in state.unfinished:
            typer.secho(f"not done {rid}: {why}; run the search again to go on", fg="yellow", err=True)
        raise typer.Exit(code=1)


def _print(state: SearchState) -> None:
    s = state
    done = [o for o in s.observations if o.value is not None]
    typer.echo(
        f"search {s.name}: {len(s.observations)} candidates in {max((o.round for o in s.observations), default=0)} "
        f"rounds, objective {s.settings.objective} ({s.settings.metric}) over {', '.join(s.targets)}"
    )
    for o in sorted(done, key=lambda o: -(o.value or 0.0)):
        typer.echo(f"  round {o.round}  {o.value:+.4f}  {o.mixture.label()}  ({o.run_id})")
    if s.stopped:
        typer.echo(f"stopped early: {s.stopped}")
    if s.rungs:
        spent, full = sum(r.spent_hours for r in s.rungs), sum(r.all_full_hours for r in s.rungs)
        went_on = sum(len(r.survivors) for r in s.rungs)
        typer.echo(
            f"halving: {went_on} of {sum(len(r.early) for r in s.rungs)} candidates trained in full, chosen by "
            f"early scores ({s.settings.rung_fraction:g} of their steps, {s.settings.rung_eval_examples} rows a "
            f"target); estimated GPU-hours {spent:.3g} against {full:.3g} for all in full "
            f"(H100 at 40% MFU): {full - spent:.3g} saved, {spent / full if full else 0:.2f}x spent"
        )
    if not s.predictions:
        return
    p = s.predictions[-1]
    typer.echo(
        f"predicted best: {p.mixture.label()}  {p.mean:+.4f} [{p.low:+.4f}, {p.high:+.4f}] (95%, {p.model}"
        + (
            f"; leave-one-out RMSE {', '.join(f'{k} {v:.4f}' for k, v in p.loo_rmse.items())})"
            if p.loo_rmse
            else ")"
        )
    )
    typer.echo(
        f"  selected as the best of {len(done) + len(s.baselines)} scored mixtures: its own scores are optimistic "
        "(best-of-N); the confirmation below is the unbiased check"
    )
    c = s.confirmation
    if c is None:
        return
    mean = f"{c.objective:+.4f}" if c.objective is not None else "n/a"
    typer.echo(f"confirmation at seed {c.seed} ({c.run_id}): mean delta {mean}")
    for task, row in c.targets.items():
        interval = row["interval"]
        how = {"pooled": ", pooled baseline seeds", "rows": ", eval rows only: no claim"}.get(
            row.get("ci_method"), ""
        )
        span = f" [{interval[0]:+.4f}, {interval[1]:+.4f}{how}]" if interval else ""
        typer.echo(f"  {task:<14} {row['metric']} {row['delta']:+.4f}{span}  n={row['n_examples']}")
