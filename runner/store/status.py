"""A run's or a training's state machine (status.json): pending -> running -> done | failed | interrupted.

run: mixft status smoke    (failed or interrupted runs go back to running on their next attempt)

Every write is atomic. A run left `running` by a process that died reads as interrupted; the next
`mixft sweep` resumes it. An attempt that ended records its error (a traceback tail) and its cause,
one line (store/faults.py): `failed` for an error of the run, `interrupted` for a fault of the machine.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.store.atomic import create_json, read_json, write_json
from mixft.runner.store.faults import classify, error_line, log_tracebacks

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
LOG_TAIL = 16_000  # characters of an attempt's run.log read for its cause
RUN_LOG = "run.log"  # the run process's output (store/rundir.py's run_log)
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


def set_state(folder: Path, state: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
    """Move the run to `state`, recording time, attempt count, and the error tail and one-line cause
    of an attempt that ended badly (`cause`: store/faults.py's line; left out, the error's last line).
    """
    status = read_status(folder)
    if state not in NEXT[status["state"]]:
        raise ConfigError(f"run {folder.name} is {status['state']}; it cannot become {state}")
    status["state"], status["updated"] = state, now()
    if state == "running":
        status["attempts"] = status.get("attempts", 0) + 1
        status["started"] = status["updated"]
        status["log_from"] = _size(folder / RUN_LOG)  # this attempt's output starts there
        for key in ("error", "cause"):
            status.pop(key, None)
    else:
        status["finished"] = status["updated"]
        entry = {"attempt": status.get("attempts", 0), "state": state, "at": status["updated"]}
        if error:
            status["error"] = entry["error"] = error[-ERROR_TAIL:]
        if cause:
            status["cause"] = entry["cause"] = cause
        status.setdefault("history", []).append(entry)
    write_json(folder / FILE, status)
    return status


def record_end(folder: Path, state: str, error: str, cause: str | None = None) -> str | None:
    """`set_state` for an attempt's end that must not raise: None, or why it could not be written.

    On a full disk the status with its traceback may not fit where one line still does: the second
    try writes only the cause. When neither fits the run stays `running` with no live holder, which
    reads as interrupted (`current_status`) and is resumed by the next sweep.
    """
    try:
        set_state(folder, state, error, cause)
        return None
    except OSError:
        pass
    try:
        set_state(folder, state, cause or error_line(error), cause)
        return None
    except OSError as exc:
        return f"its state could not be recorded ({exc}); the next sweep resumes it"


def failures(status: dict[str, Any]) -> int:
    """Failed attempts that count against `--retries`: not those restarted after running out of GPU
    memory beside other runs (`not_counted`). Interrupted attempts never count."""
    return sum(h.get("state") == "failed" and not h.get("restarted") for h in status.get("history", []))


def not_counted(folder: Path, why: str) -> None:
    """Mark the failed attempt just recorded as one the executor starts again (out of GPU memory
    beside other runs), so that it does not use up `--retries`."""
    status = read_status(folder)
    history = status.get("history", [])
    if status["state"] == "failed" and history:
        history[-1]["restarted"] = why
        write_json(folder / FILE, status)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def attempt_log(folder: Path, status: dict[str, Any]) -> str:
    """What this attempt wrote to its run.log (its last LOG_TAIL characters); "" when unreadable."""
    path = folder / RUN_LOG
    try:
        with path.open("rb") as handle:
            start = max(int(status.get("log_from", 0)), _size(path) - LOG_TAIL)
            handle.seek(start)
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


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
        # the process could not record its end: its run.log may still say why (a full disk)
        cause = classify(log_tracebacks(attempt_log(folder, status)))
        line = cause.line if cause.resumable else UNRECORDED
        return status | {"state": "interrupted", "error": UNRECORDED, "cause": line}
    return status


def last_error_line(status: dict[str, Any]) -> str | None:
    """A status's cause in one line: the one recorded (store/faults.py), else its error's exception
    line (not the hint lines CUDA prints after it), or None."""
    return status.get("cause") or error_line(status.get("error"))


def seconds_since(timestamp: str) -> float:
    """Seconds from a `now()` timestamp (UTC) to this moment, whatever the local time zone."""
    from datetime import UTC, datetime

    return (datetime.now(UTC) - datetime.fromisoformat(timestamp)).total_seconds()
