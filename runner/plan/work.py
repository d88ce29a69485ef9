"""What a sweep would do for each planned run, from what the store holds, and why.

run: mixft plan smoke eval.max_examples=32    (every run: "eval", its saved model is scored again)

    done        the run (its evaluation) is done
    eval        its training is done with its weights kept (or it scores the base model)
    train       its training has to run first; `why` says when that is not simply new work:
                "weights not kept (training.keep=none)" or "data changed: <file>"
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.paths import run_dir, runs_root, training_dir
from mixft.runner.plan.grid import PlannedRun
from mixft.runner.store import rundir
from mixft.runner.store.status import read_status


@dataclass(frozen=True)
class Work:
    what: str  # done | eval | train
    why: str = ""


def _trainings_by_recipe(root: Path) -> dict[str, dict[str, Any]]:
    """run.json of every training in the store, by recipe key (see `run_ids` in store/identity.py)."""
    found: dict[str, dict[str, Any]] = {}
    for meta_path in root.glob(f"*/{rundir.META}"):
        meta = rundir.read_meta(meta_path.parent)
        if meta.get("kind") == "training" and isinstance(meta.get("recipe"), str):
            found.setdefault(meta["recipe"], meta)
    return found


def _changed_files(planned: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """Files whose content differs from what a stored training of the same recipe read."""
    return sorted(path for path, digest in planned.items() if path in stored and stored[path] != digest)


class WorkOf:
    """Work of planned runs; reads the store's trainings once, when a run needs a new one."""

    def __init__(self) -> None:
        self._recipes: dict[str, dict[str, Any]] | None = None
        root = runs_root()
        # one listing, not a stat per run: a 10,000-run plan on an empty store reads nothing else
        self._stored = {p.name for p in root.iterdir()} if root.is_dir() else set()

    def __call__(self, run: PlannedRun) -> Work:
        stored = run.training in self._stored
        if stored and read_status(run_dir(run.id))["state"] == "done":
            return Work("done")
        if run.role == "base":
            return Work("eval")
        if not stored:
            return Work("train", self._why_new(run))
        training = training_dir(run.id)
        state = read_status(training)["state"]
        if state == "done" and rundir.has_weights(training):
            return Work("eval")
        if state == "done":
            return Work("train", "weights not kept (training.keep=none): trains again")
        return Work("train", self._why_new(run) if state == "pending" else "")

    def _why_new(self, run: PlannedRun) -> str:
        if run.ids is None or not run.ids.files:
            return ""
        if self._recipes is None:
            self._recipes = _trainings_by_recipe(runs_root())
        stored = self._recipes.get(run.ids.recipe)
        changed = _changed_files(run.ids.files, (stored or {}).get("data") or {})
        return f"data changed: {', '.join(changed)}" if changed else ""


def work_of(runs: Iterable[PlannedRun]) -> dict[str, Work]:
    """Work per run id."""
    of = WorkOf()
    return {run.id: of(run) for run in runs}
