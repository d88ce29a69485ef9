"""Migrate a store written by mixft 0.1 (one folder per run, runs/<id>/) to trainings and evaluations.

run: mixft store migrate --dry-run    then    mixft store migrate

Each old run folder becomes its training's folder, runs/<training id>/ (weights, checkpoints,
manifest, train.log), and its evaluation beneath it, evals/<eval>/ (metrics, predictions, W&B files,
run.log), under the ids the run's overrides have now. Nothing is trained again and nothing is
deleted: a second old run of a training already migrated (the same weights, evaluated with other
settings) keeps its own evaluation, and what is left of its folder goes to migrated/<old id>/.

Every step is a rename or an atomic write, and a folder counts as migrated only once its training's
run.json says so (written last), so a migration cut short is finished by running it again.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.paths import migrated_root, run_dir, runs_root, sweeps_root, training_dir
from mixft.runner.store import rundir
from mixft.runner.store.atomic import read_json, write_json
from mixft.runner.store.status import FILE as STATUS
from mixft.runner.store.status import read_status

# What an evaluation takes from an old run folder; the rest stays with the training.
EVAL_FILES = (rundir.PREDICTIONS, rundir.WANDB, rundir.RUN_LOG, rundir.SLURM)
TRAINING_METRICS = ("train/", "time/data_s", "time/train_s")

# overrides -> (run id, resolved config, role, training facts), as a sweep would plan them now
Identify = Callable[[list[str]], tuple[str, Config, str, dict[str, Any]]]


@dataclass
class Move:
    old: str  # the old run id (its folder's name)
    new: str  # its run id now, `<training>-<eval>`; empty when it cannot be migrated
    state: str
    role: str = ""
    error: str = ""

    def line(self) -> str:
        """One line of the dry run (and of the migration's report)."""
        if self.error:
            return f"runs/{self.old}: left as it is: {self.error}"
        training, _, evaluation = self.new.partition("-")
        return f"runs/{self.old} ({self.role}, {self.state}) -> runs/{training}/ + evals/{evaluation}/"


def old_runs(root: Path | None = None) -> list[Path]:
    """Run folders of mixft 0.1 in the store: an overrides.yaml, and no run.json kind."""
    root = root or runs_root()
    found = []
    for folder in sorted(root.glob(f"*/{rundir.OVERRIDES}")):
        if "kind" not in rundir.read_meta(folder.parent):
            found.append(folder.parent)
    return found


def plan_migration(identify: Identify) -> list[Move]:
    """What `migrate` would do with every old run folder; changes nothing."""
    moves = []
    for folder in old_runs():
        state = read_status(folder)["state"]
        try:
            rid, _, role, _ = identify(rundir.read_overrides(folder))
        except ConfigError as exc:
            moves.append(Move(folder.name, "", state, error=str(exc)))
            continue
        moves.append(Move(folder.name, rid, state, role))
    return moves


def _move(source: Path, target: Path) -> None:
    if source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a half-finished earlier migration: the old copy wins, it is the source
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        source.rename(target)


def _split_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k.startswith(TRAINING_METRICS)}


def _training_status(old: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A done run's training is done; any other was cut short: it resumes from its checkpoints."""
    if old["state"] == "done":
        return old
    return old | {"state": "interrupted" if rundir.checkpoints_dir(folder).exists() else "pending"}


def _migrate_one(folder: Path, move: Move, cfg: Config, facts: dict[str, Any], overrides: list[str]) -> None:
    meta, status = rundir.read_meta(folder), read_status(folder)
    metrics = rundir.read_metrics(folder)
    training, evaluation = training_dir(move.new), run_dir(move.new)
    if folder != training and training.exists():  # another old run of the same training came first
        for name in EVAL_FILES:
            _move(folder / name, evaluation / name)
        parked = migrated_root() / folder.name
        _move(folder, parked)
        folder = parked
    elif folder != training:
        _move(folder, training)
        folder = training
    for name in EVAL_FILES:
        _move(folder / name, evaluation / name)
    rundir.write_run_files(evaluation, cfg, overrides, move.new, move.role, None)
    write_json(
        evaluation / STATUS, status if status["state"] == "done" else {"state": "pending", "attempts": 0}
    )
    if metrics:
        rundir.write_metrics(evaluation, metrics)
    rundir.update_meta(evaluation, sweeps=meta.get("sweeps", []), migrated_from=move.old)
    if folder == training:
        if move.role == "base":  # the untrained model has no state of its own
            (training / STATUS).unlink(missing_ok=True)
        else:
            write_json(training / STATUS, _training_status(status, training))
            if _split_metrics(metrics):
                rundir.write_metrics(training, _split_metrics(metrics))
        (training / rundir.META).unlink(missing_ok=True)  # its kind, written last, marks it migrated
        kind = {"kind": "base" if move.role == "base" else "training"}
        rundir.write_run_files(
            training, cfg, overrides, move.new.partition("-")[0], move.role, None, kind | facts
        )
        rundir.update_meta(training, sweeps=meta.get("sweeps", []), migrated_from=move.old)


def migrate(identify: Identify, report: Callable[[str], None]) -> list[Move]:
    """Move every old run folder to its training and evaluation, then rewrite the sweep index.

    Args:
        identify: Plans one run from its overrides as a sweep would now.
        report: Called with one line per folder as it is migrated.
    """
    moves = plan_migration(identify)
    for move in moves:
        if not move.error:
            folder = runs_root() / move.old
            overrides = rundir.read_overrides(folder)
            _, cfg, _, facts = identify(overrides)
            _migrate_one(folder, move, cfg, facts, overrides)
        report(move.line())
    _rewrite_sweep_index({m.old: m.new for m in moves if not m.error})
    return moves


def _rewrite_sweep_index(new_ids: dict[str, str]) -> None:
    """Every sweep's record names its runs by their new ids."""
    for path in sorted(sweeps_root().glob("*.json")):
        record = read_json(path)
        runs = record.get("runs") if record else None
        if isinstance(runs, list) and any(r in new_ids for r in runs):
            write_json(path, record | {"runs": [new_ids.get(str(r), str(r)) for r in runs]})


def old_layout_error(count: int) -> str:
    """The one line that stops a sweep on a store not yet migrated."""
    return (
        f"the store ({runs_root()}) holds {count} run folder(s) of mixft 0.1's layout, which this sweep "
        "would train again; run `mixft store migrate` first (`--dry-run` shows the moves)"
    )
