"""A run's or a training's state machine (status.json): pending -> running -> done | failed | interrupted.

run: mixft status smoke    (failed or interrupted runs go back to running on their next attempt)

Every write is atomic. A run left `running` by a process that died reads as interrupted; the next
`mixft sweep` resumes it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.store.atomic import create_json, read_json, write_json

FILE = "status.json"
STATES = ("pending", "running", "done", "failed", "interrupted")
NEXT = {
    "pending": {"running"},
    "running": {"done", "failed", "interrupted"},
    "failed": {"running"},
    "interrupted": {"running", "failed"},
    "done": {"running"},  # a training whose weights were not kept, trained again
}
ERROR_TAIL = 4000  # characters of a traceback kept per attempt
UNRECORDED = "the run process ended without recording its state (killed, or a full disk)"


def now() -> str:
    """UTC timestamp, ISO 8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def create_pending(folder: Path) -> bool:
    """Create status.json as pending unless it exists (never over a status another process wrote)."""
    return create_json(folder / FILE, {"state": "pending", "attempts": 0, "updated": now(), "history": []})


def read_status(folder: Path) -> dict[str, Any]:
    """status.json; a missing file reads as pending, an unreadable one as interrupted (so it resumes).

    Unreadable: not JSON (cut off, zeroed by a crash), or JSON without a known state.
    """
    path = folder / FILE
    status = read_json(path)
    if status is not None and status.get("state") in STATES:
        return status
    if status is None and not path.exists():
        return {"state": "pending", "attempts": 0, "history": []}
    return {"state": "interrupted", "attempts": 0, "error": "status.json was unreadable", "history": []}


def set_state(folder: Path, state: str, error: str | None = None) -> dict[str, Any]:
    """Move the run to `state`, recording time, attempt count and the error tail of failed attempts."""
    status = read_status(folder)
    if state not in NEXT[status["state"]]:
        raise ConfigError(f"run {folder.name} is {status['state']}; it cannot become {state}")
    status["state"], status["updated"] = state, now()
    if state == "running":
        status["attempts"] = status.get("attempts", 0) + 1
        status["started"] = status["updated"]
        status.pop("error", None)
    else:
        status["finished"] = status["updated"]
        entry = {"attempt": status.get("attempts", 0), "state": state, "at": status["updated"]}
        if error:
            status["error"] = entry["error"] = error[-ERROR_TAIL:]
        status.setdefault("history", []).append(entry)
    write_json(folder / FILE, status)
    return status


def current_status(folder: Path, holder: str | None) -> dict[str, Any]:
    """status.json as it stands: a run left `running` by a process that died is interrupted.

    A live run holds its claim from before it becomes running until after its last state is written,
    so `running` with no live holder means SIGKILL, a lost node or a state that could not be written.

    Args:
        folder: The run directory.
        holder: Its live claim holder (`claims.claim_summary`), read before status.json.
    """
    status = read_status(folder)
    if status["state"] == "running" and holder is None:
        return status | {"state": "interrupted", "error": UNRECORDED}
    return status


def last_error_line(status: dict[str, Any]) -> str | None:
    """The last line of a status's recorded error (a traceback's exception line), or None."""
    lines = (status.get("error") or "").strip().splitlines()
    return lines[-1] if lines else None


def seconds_since(timestamp: str) -> float:
    """Seconds from a `now()` timestamp (UTC) to this moment, whatever the local time zone."""
    from datetime import UTC, datetime

    return (datetime.now(UTC) - datetime.fromisoformat(timestamp)).total_seconds()
