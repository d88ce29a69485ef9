"""W&B's part of `mixft sync`: upload offline W&B runs with `wandb sync` once there is a network and
credentials: runs, searches' rounds (searches/NAME) and comparisons (compare/SWEEP).

run: mixft sync --all    (a run's resumed pieces upload in order; a failure is reported, never raised)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mixft.runner.tracking.base import SyncResult, one_line

SYNC_TIMEOUT_S = 120.0  # per run; an offline run's log is small
# offline W&B runs under a store, its runs/ folder, or one run dir (runs/<training>/evals/<eval>/)
OFFLINE_GLOBS = (
    "wandb/offline-run-*",
    "*/wandb/offline-run-*",
    "*/evals/*/wandb/offline-run-*",
    "runs/*/wandb/offline-run-*",
    "runs/*/evals/*/wandb/offline-run-*",
    "compare/*/wandb/offline-run-*",  # `mixft compare --publish` (or --wandb)
    "searches/*/wandb/offline-run-*",  # `mixft search ... tracker=wandb`: its rounds
)


def offline_runs(root: Path) -> list[Path]:
    """Offline W&B run folders under a store, its runs/ folder or one run dir, in start order per run."""
    found = {p for pattern in OFFLINE_GLOBS for p in root.glob(pattern) if any(p.glob("*.wandb"))}
    return sorted(found)


def _synced(folder: Path) -> bool:
    """wandb sync leaves run-ID.wandb.synced beside a log it uploaded."""
    return any(folder.glob("*.wandb.synced"))


def _last_line(output: str) -> str:
    lines = [ln.strip().removeprefix("wandb: ").strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    return (errors or lines or [""])[-1]


def _upload(folders: list[Path], timeout_s: float) -> str:
    """One `wandb sync` for a run's offline folders (resumed pieces upload in order); its last line."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}  # an upload is never offline
    env["WANDB_DIR"] = str(folders[0].parent.parent)  # wandb's own CLI log stays in the run dir
    cmd = [sys.executable, "-m", "wandb", "sync", *map(str, folders)]
    try:
        done = subprocess.run(
            cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s (no network?); the offline run is kept, retry later"
    except OSError as exc:
        return f"cannot run wandb sync: {one_line(exc)}"
    return _last_line(done.stdout + "\n" + done.stderr) or f"wandb sync exited with {done.returncode}"


def sync(paths: list[Path], timeout_s: float | None = None) -> list[tuple[Path, bool, str]]:
    """Upload offline W&B run folders with `wandb sync`; a failure is reported, never raised.

    Args:
        paths: Offline run folders (see `offline_runs`).
        timeout_s: Limit per run dir (default SYNC_TIMEOUT_S); after one timeout the rest are
            skipped, since the network is down.

    Returns:
        (folder, uploaded, one-line message) per folder, in the order given.
    """
    timeout_s = SYNC_TIMEOUT_S if timeout_s is None else timeout_s
    groups: dict[Path, list[Path]] = {}
    for path in paths:
        groups.setdefault(path.parent, []).append(path)
    messages: dict[Path, str] = {}
    timed_out = False
    for folders in groups.values():
        pending = sorted(f for f in folders if not _synced(f))
        if not pending:
            continue
        message = "skipped: an earlier upload timed out" if timed_out else _upload(pending, timeout_s)
        timed_out = timed_out or message.startswith("timed out")
        messages |= dict.fromkeys(pending, message)
    done = {path: _synced(path) for path in paths}
    uploaded = {True: "uploaded", False: "already uploaded"}
    return [(p, done[p], uploaded[p in messages] if done[p] else messages[p]) for p in paths]


def offline_targets(root: Path) -> dict[str, list[Path]]:
    """Offline W&B folders under a store, per what they track: a run (`<training>-<eval>`, or
    `<training>` for an older run dir), a search (`searches/NAME`) or a comparison (`compare/SWEEP`)."""
    targets: dict[str, list[Path]] = {}
    runs = root / "runs"
    for folder in offline_runs(root):
        owner = folder.parent.parent  # <owner>/wandb/offline-run-*
        if owner.parent.name == "evals" and owner.parent.parent.parent == runs:
            label = f"{owner.parent.parent.name}-{owner.name}"
        elif owner.parent == runs:
            label = owner.name
        else:
            label = f"{owner.parent.name}/{owner.name}"
        targets.setdefault(label, []).append(folder)
    return targets


def upload(label: str, folders: list[Path]) -> SyncResult:
    """Upload one label's offline W&B folders (see `offline_targets`); never raises."""
    results = sync(folders)
    bad = [message for _, ok, message in results if not ok]
    if bad:
        return SyncResult(label, False, f"failed: {bad[0]}")
    return SyncResult(label, True, results[-1][2] if results else "nothing to upload")
