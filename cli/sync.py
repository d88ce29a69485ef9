"""`mixft sync`: upload the offline W&B runs of finished runs, once credentials and network are there.

run: mixft sync 3f2a9c0e1b7d    |    mixft sync --all    (needs WANDB_API_KEY or `wandb login`)

--all also uploads the comparison runs of `mixft compare --wandb`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def sync_command(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN_ID...", help="Runs whose offline W&B runs to upload.", show_default=False
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every run in the store.")] = False,
) -> None:
    """Upload offline W&B runs (needs WANDB_API_KEY or `wandb login`); exit 1 if any upload failed."""
    failed = down = False
    for rid, folders in _targets(run_ids or [], all_).items():
        line, ok = _upload_run(rid, folders, network_down=down)
        down = down or "timed out" in line  # the next runs would only wait for the same timeout
        failed = failed or not ok
        typer.secho(line, fg=None if ok else typer.colors.RED)
    raise typer.Exit(1 if failed else 0)


def _upload_run(rid: str, folders: list[Path], network_down: bool) -> tuple[str, bool]:
    """Upload one run's offline W&B folders; its output line and whether it is fine."""
    from mixft.runner.tracking.sync import sync

    if not folders:
        return f"{rid}  nothing to upload (no offline W&B run)", True
    if _state(rid) == "running":  # an upload now would send half a run and mark it synced
        return f"{rid}  skipped: still running; sync it when it ends", True
    if network_down:
        return f"{rid}  skipped: an earlier upload timed out (no network?)", False
    results = sync(folders)
    bad = [message for _, ok, message in results if not ok]
    return (f"{rid}  failed: {bad[0]}", False) if bad else (f"{rid}  {results[-1][2]}", True)


def _targets(run_ids: list[str], all_: bool) -> dict[str, list[Path]]:
    """Offline W&B folders per run id: the named runs, or every run that has some (--all)."""
    from mixft.runner.errors import ConfigError, did_you_mean
    from mixft.runner.paths import compare_root, run_dir, runs_root, store_root
    from mixft.runner.tracking.sync import offline_runs

    runs = runs_root()
    if all_ == bool(run_ids):
        raise ConfigError("name the runs to upload (mixft sync RUN_ID ...) or pass --all; one of the two")
    if all_:
        targets: dict[str, list[Path]] = {}
        # runs/<training>/evals/<eval>/wandb/offline-run-* (run `<training>-<eval>`), and
        # compare/<sweep>/wandb/offline-run-* (`mixft compare --wandb`)
        for folder in [*offline_runs(runs), *offline_runs(compare_root())]:
            owner = folder.parent.parent
            if owner.parent.name == "evals" and owner.parent.parent.parent == runs:
                name = f"{owner.parent.parent.name}-{owner.name}"
            else:
                name = owner.name if owner.parent == runs else f"compare/{owner.name}"
            targets.setdefault(name, []).append(folder)
        if not targets:
            typer.echo(f"no offline W&B runs under {store_root()}")
        return targets
    known = sorted(f"{p.parent.parent.name}-{p.name}" for p in runs.glob("*/evals/*"))
    for rid in run_ids:
        if not run_dir(rid).is_dir():
            raise ConfigError(f"unknown run '{rid}'{did_you_mean(rid, known)}: no {run_dir(rid)}")
    return {rid: offline_runs(run_dir(rid)) for rid in dict.fromkeys(run_ids)}


def _state(rid: str) -> str:
    from mixft.runner.paths import run_dir
    from mixft.runner.store.status import read_status

    return str(read_status(run_dir(rid)).get("state", ""))
