"""What a run's tracker could not send: <run dir>/tracking.json, read by `mixft sync`.

run: mixft sweep smoke tracker=mlflow tracker.tracking_uri=http://127.0.0.1:5000    (server down: the
     runs end done, each with a tracking.json; `mixft sync --all` sends them once it is back)

{"<tracker>": {"unsent": "<one line: what failed>", "time": ...}}: a tracker that sends a run whole
from its store files (MLflow) records here that it did not; a later send that succeeds removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixft.runner.store.atomic import exclusive, read_json, write_json
from mixft.runner.store.status import now

TRACKING = "tracking.json"


def mark_unsent(folder: Path, tracker: str, reason: str, **details: Any) -> None:
    """Record that `tracker` has not sent this run (`reason`: the failure, one line; `details`: what a
    later send needs, JSON)."""
    path = folder / TRACKING
    with exclusive(path):
        record = read_json(path) or {}
        record[tracker] = {"unsent": reason, "time": now(), **details}
        write_json(path, record)


def mark_sent(folder: Path, tracker: str) -> None:
    """Forget that `tracker` had not sent this run (the file goes when nothing is left in it)."""
    path = folder / TRACKING
    if not path.exists():
        return
    with exclusive(path):
        record = read_json(path) or {}
        record.pop(tracker, None)
        if record:
            write_json(path, record)
        else:
            path.unlink(missing_ok=True)


def unsent(folder: Path) -> dict[str, Any]:
    """tracker -> what it could not send, for one run dir (empty when everything was sent)."""
    return read_json(folder / TRACKING) or {}


def unsent_runs(runs_root: Path, tracker: str) -> list[Path]:
    """Run dirs (runs/<training>/evals/<eval>/) that `tracker` has not sent, sorted."""
    return sorted(p.parent for p in runs_root.glob(f"*/evals/*/{TRACKING}") if tracker in unsent(p.parent))
