"""`mixft sync`: send what the trackers could not: offline W&B runs, runs MLflow missed.

run: mixft sync 3f2a9c0e1b7d-5e0c1a2b    |    mixft sync --all    (W&B needs WANDB_API_KEY or `wandb login`)

--all also sends the side runs: a search's rounds (searches/NAME) and comparisons (compare/SWEEP).
Sending twice sends nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def sync_command(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="RUN_ID...", help="Runs whose unsent tracking to send.", show_default=False),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every run, search and comparison in the store.")
    ] = False,
) -> None:
    """Send offline W&B runs and what MLflow missed (W&B needs WANDB_API_KEY or `wandb login`); exit 1
    if any send failed."""
    failed, down = False, set()
    for tracker, label, records in _targets(run_ids or [], all_):
        line, ok = _send(tracker, label, records, network_down=tracker in down)
        if "timed out" in line:  # the next sends would only wait for the same timeout
            down.add(tracker)
        failed = failed or not ok
        typer.secho(line, fg=None if ok else typer.colors.RED)
    raise typer.Exit(1 if failed else 0)


def _send(tracker: str, label: str, records: list[Path], network_down: bool) -> tuple[str, bool]:
    """Send one label's records with one tracker; its output line and whether it is fine."""
    from mixft.runner.tracking import tracker_named

    if not records:
        return f"{label}  nothing to upload (no offline W&B run)", True
    if "/" not in label and _state(label) == "running":  # a send now would send half a run
        return f"{label}  skipped: still running; sync it when it ends", True
    if network_down:
        return f"{label}  skipped: an earlier upload timed out (no network?)", False
    result = tracker_named(tracker).sync(label, records)
    return f"{label}  {result.message}", result.ok


def _targets(run_ids: list[str], all_: bool) -> list[tuple[str, str, list[Path]]]:
    """(tracker, label, records) to send: every tracker's for the named runs, or all of them (--all)."""
    from mixft.runner.errors import ConfigError, did_you_mean
    from mixft.runner.paths import run_dir, runs_root, store_root
    from mixft.runner.tracking import TRACKERS, tracker_named

    if all_ == bool(run_ids):
        raise ConfigError("name the runs to upload (mixft sync RUN_ID ...) or pass --all; one of the two")
    pending = {name: tracker_named(name).pending(store_root()) for name in TRACKERS}
    if all_:
        targets = [
            (name, label, records) for name, found in pending.items() for label, records in found.items()
        ]
        if not targets:
            typer.echo(f"nothing to send under {store_root()}: no offline W&B run, nothing MLflow missed")
        return targets
    known = sorted(f"{p.parent.parent.name}-{p.name}" for p in runs_root().glob("*/evals/*"))
    for rid in run_ids:
        if not run_dir(rid).is_dir():
            raise ConfigError(f"unknown run '{rid}'{did_you_mean(rid, known)}: no {run_dir(rid)}")
    targets = []
    for rid in dict.fromkeys(run_ids):
        found = [(name, rid, records[rid]) for name, records in pending.items() if records.get(rid)]
        targets += found or [("none", rid, [])]
    return targets


def _state(rid: str) -> str:
    from mixft.runner.paths import run_dir
    from mixft.runner.store.status import read_status

    return str(read_status(run_dir(rid)).get("state", ""))
