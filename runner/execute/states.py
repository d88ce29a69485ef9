"""What an executor needs to know of a run's state in the store: may it start, its last error, and
how to record a state its process could not.

run: mixft sweep smoke --retries 1    (a failed run is started again while it has attempts left)
"""

from __future__ import annotations

import os
import shutil

from mixft.runner.paths import run_dir, training_dir
from mixft.runner.store import faults
from mixft.runner.store.claims import claim_summary, holder
from mixft.runner.store.status import (
    attempt_log,
    current_status,
    failures,
    last_error_line,
    read_status,
    record_end,
)

FULL_BYTES = 1 << 20  # a store with less free space than this is full (a run's smallest write)


def eligible(rid: str, retries: int) -> bool:
    """A run to (re)start: pending, interrupted, failed with retries left (interrupted attempts and
    out-of-memory restarts do not count), or running with a dead holder."""
    status = read_status(run_dir(rid))
    state = status["state"]
    if state == "failed":
        return failures(status) < 1 + retries
    if state == "running":
        return holder(run_dir(rid)) is None
    return state in ("pending", "interrupted")


def last_error(rid: str) -> str:
    """The last line of a run's recorded error."""
    status = current_status(run_dir(rid), claim_summary(run_dir(rid)))
    return last_error_line(status) or "no error recorded"


def run_cause(rid: str) -> faults.Cause:
    """Why a run's last attempt ended, from the error it recorded (store/faults.py)."""
    status = current_status(run_dir(rid), claim_summary(run_dir(rid)))
    cause = faults.classify(status.get("error"))
    return faults.Cause(cause.kind, status.get("cause") or cause.line)


def exit_cause(rid: str, code: int) -> faults.Cause:
    """Why a run process that recorded no end exited with `code`: from what this attempt wrote to
    its run.log (a traceback the store had no room for), the exit code (SIGKILL), and the store's
    free space (a disk too full for even the log)."""
    folder = run_dir(rid)
    told = faults.log_tracebacks(attempt_log(folder, read_status(folder)))
    cause = faults.classify(told, code)
    if told or cause.kind == faults.KILLED:
        return cause
    free = free_bytes(folder)
    if free is not None and free < FULL_BYTES:
        return faults.Cause(faults.DISK, f"No space left on device: the store has {free / 1e6:.1f} MB free")
    if cause.kind == faults.ERROR:
        return faults.Cause(faults.ERROR, f"the run process exited with code {code} (see its run.log)")
    return cause


def cause_of(text: str, folder: os.PathLike[str] | str) -> faults.Cause:
    """The cause of an error raised in a run process (store/faults.py), naming a full disk when a
    write failed without saying why (torch.save) and `folder`'s file system has no room left."""
    cause = faults.classify(text)
    free = free_bytes(folder) if cause.kind == faults.STORAGE else None
    if free is not None and free < FULL_BYTES:
        return faults.Cause(faults.DISK, f"No space left on device: {cause.line}")
    return cause


def free_bytes(path: os.PathLike[str] | str) -> int | None:
    """Free bytes of the file system `path` is on (its nearest existing folder); None if unknown."""
    folder = os.fspath(path)
    while folder and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    try:
        return shutil.disk_usage(folder or ".").free
    except OSError:
        return None


def record_state(rid: str, state: str, error: str, cause: str | None = None) -> str | None:
    """Set a run's state for a process that could not; None, or why it could not be written.

    A full disk must not stop the sweep: the run stays `running` with no holder, which `mixft status`
    shows as interrupted and the next `mixft sweep` resumes.
    """
    return record_end(run_dir(rid), state, error, cause)


def held_by(rid: str) -> str | None:
    """Who holds a run, or the training it waits for ("host:pid ..."); None when nobody live does."""
    own = claim_summary(run_dir(rid))
    if own is not None:
        return own
    training = claim_summary(training_dir(rid))
    return f"{training} (training {rid.partition('-')[0]})" if training else None
