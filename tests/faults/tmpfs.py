"""A small tmpfs for the full-disk tests (root only; CI runs as root)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def mount_tmpfs(path: Path, size: str) -> bool:
    """Mount a tmpfs of `size` (e.g. "40m") at `path`; False where this process may not mount."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def unmount(path: Path) -> None:
    """Detach the tmpfs at `path` (lazily: a process still inside it does not block the test)."""
    subprocess.run(["umount", "-l", str(path)], check=False)
