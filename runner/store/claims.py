"""Claims: at most one process runs a run at a time, across processes and hosts sharing the store.

run: mixft sweep smoke    (twice at once: each run still trains once)

A claim is `claim.json` in the run directory (host, pid, the process's start time, token, heartbeat),
written under a lock file. A holder refreshes the heartbeat; a claim whose heartbeat is older than
STALE_S is taken over, so a holder that died (SIGKILL, a lost node) releases its runs without anyone's
help. On the holder's own host no wait is needed: a holder whose process is gone, a zombie (killed,
not yet reaped), or another process under a reused pid holds nothing at once.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from mixft.runner.store.atomic import read_json, write_json

HEARTBEAT_S = 10.0  # how often a holder refreshes its claim
STALE_S = 60.0  # a claim not refreshed for this long belongs to a dead holder


def _lock(folder: Path) -> Any:
    from filelock import FileLock

    return FileLock(str(folder / "claim.lock"), timeout=30)


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name; None when the process is gone (or no /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the name may hold spaces and ")"


def process_start(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (/proc's starttime); None where unknown."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _dead_here(claim: dict[str, Any]) -> bool:
    """True when the holder ran on this host and its process is gone, a zombie, or not the one that
    claimed (a reused pid): no need to wait for its claim to go stale."""
    if claim.get("host") != socket.gethostname():
        return False
    try:
        pid = int(claim.get("pid", 0))
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, TypeError, OverflowError):
        return False
    fields = _proc_stat(pid)
    if fields is None:  # no /proc here: os.kill said it exists
        return False
    started = claim.get("started")
    return fields[0] in ("Z", "X") or (isinstance(started, int) and process_start(pid) != started)


def holder(folder: Path) -> dict[str, Any] | None:
    """The live claim on a run, or None (no claim, a stale one, or one whose process died here)."""
    claim = read_json(folder / "claim.json")
    beat = claim.get("heartbeat") if claim else None
    # a claim without a numeric heartbeat (a corrupt file) holds nothing
    if not isinstance(beat, int | float) or time.time() - beat > STALE_S or _dead_here(claim):
        return None
    return claim


class Claim:
    """A held claim on one run; refresh it with `beat()` (or `keep_alive()`) and `release()` it."""

    def __init__(self, folder: Path, token: str) -> None:
        self.folder = folder
        self.token = token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """Refresh the heartbeat; False when the claim was lost (taken over after going stale)."""
        with _lock(self.folder):
            claim = read_json(self.folder / "claim.json")
            if claim is None or claim.get("token") != self.token:
                return False
            claim["heartbeat"] = time.time()
            write_json(self.folder / "claim.json", claim)
            return True

    def keep_alive(self) -> None:
        """Refresh the heartbeat from a background thread until `release()`."""

        def loop() -> None:
            while not self._stop.wait(HEARTBEAT_S):
                if not self.beat():
                    return

        self._thread = threading.Thread(target=loop, name=f"claim-{self.folder.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the claim if it is still ours."""
        self._stop.set()
        with _lock(self.folder):
            claim = read_json(self.folder / "claim.json")
            if claim is not None and claim.get("token") == self.token:
                (self.folder / "claim.json").unlink(missing_ok=True)


def try_claim(folder: Path) -> Claim | None:
    """Claim a run unless a live holder has it; a stale claim is taken over."""
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder):
        if holder(folder) is not None:
            return None
        token = uuid.uuid4().hex
        now = time.time()
        claim = {
            "token": token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": process_start(os.getpid()),
            "since": now,
            "heartbeat": now,
        }
        write_json(folder / "claim.json", claim)
    return Claim(folder, token)


def claim_summary(folder: Path) -> str | None:
    """'host:pid' of a live holder, for status displays."""
    claim = holder(folder)
    return f"{claim['host']}:{claim['pid']}" if claim else None
