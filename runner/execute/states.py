"""What an executor needs to know of a run's state in the store: may it start, its last error, and
how to record a state its process could not.

run: mixft sweep smoke --retries 1    (a failed run is started again while it has attempts left)
"""

from __future__ import annotations

from mixft.runner.paths import run_dir, training_dir
from mixft.runner.store.claims import claim_summary, holder
from mixft.runner.store.status import current_status, last_error_line, read_status, set_state


def eligible(rid: str, retries: int) -> bool:
    """A run to (re)start: pending, interrupted, failed with retries left, or running with a dead holder."""
    status = read_status(run_dir(rid))
    state = status["state"]
    if state == "failed":
        return status.get("attempts", 0) < 1 + retries
    if state == "running":
        return holder(run_dir(rid)) is None
    return state in ("pending", "interrupted")


def last_error(rid: str) -> str:
    """The last line of a run's recorded error."""
    status = current_status(run_dir(rid), claim_summary(run_dir(rid)))
    return last_error_line(status) or "no error recorded"


def record_state(rid: str, state: str, error: str) -> str | None:
    """Set a run's state for a process that could not; None, or why it could not be written.

    A full disk must not stop the sweep: the run stays `running` with no holder, which `mixft status`
    shows as interrupted and the next `mixft sweep` resumes.
    """
    try:
        set_state(run_dir(rid), state, error)
    except OSError as exc:
        return f"its state could not be recorded ({exc}); the next sweep resumes it"
    return None


def held_by(rid: str) -> str | None:
    """Who holds a run, or the training it waits for ("host:pid ..."); None when nobody live does."""
    own = claim_summary(run_dir(rid))
    if own is not None:
        return own
    training = claim_summary(training_dir(rid))
    return f"{training} (training {rid.partition('-')[0]})" if training else None
