"""Test hook for tests/faults: make a real fault happen at a chosen moment of a real `mixft sweep`.

Every Python process started with this folder on PYTHONPATH imports it (the sweep, its fork server
and the run processes forked from it); it does nothing unless MIXFT_TEST_FAULTS is set to
`ACTION@TRAINING:PATTERN;...`. When a process of a run of training TRAINING is about to create a
file or folder whose path below runs/TRAINING/ matches the regular expression PATTERN (a temporary
file of an atomic write: `.metrics.json.*`, or a folder: `.model-staging`, `checkpoints/checkpoint-4`):

    fill    fills the file system of runs/TRAINING/ (a small tmpfs) with a ballast file, so that the
            write that follows gets a real ENOSPC from the kernel
    memory  asks for a petabyte: Python raises a real MemoryError there
    pause   writes runs/TRAINING/.paused and sleeps, so that a test can kill it from outside

Each action happens once per training (a marker file beside the ballast, or .paused, says it did).
"""

from __future__ import annotations

import os
import re
import tempfile
import time

SPEC = os.environ.get("MIXFT_TEST_FAULTS", "")


def _rules() -> list[tuple[str, str, re.Pattern[str]]]:
    rules = []
    for item in filter(None, SPEC.split(";")):
        action, _, rest = item.partition("@")
        training, _, pattern = rest.partition(":")
        rules.append((action, training, re.compile(pattern)))
    return rules


def _fill(folder: str) -> None:
    fd = os.open(os.path.join(folder, ".ballast"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            os.close(fd)


def _hit(path: str) -> None:
    path = os.path.abspath(path)
    for action, training, pattern in RULES:
        marker = f"{os.sep}runs{os.sep}{training}{os.sep}"
        if marker not in path:
            continue
        folder = path[: path.index(marker) + len(marker) - 1]
        below = path[len(folder) + 1 :]
        done = os.path.join(folder, f".{action}-done")
        if not pattern.search(below) or os.path.exists(done):
            continue
        os.close(os.open(done, os.O_CREAT | os.O_WRONLY))
        if action == "fill":
            _fill(folder)
        elif action == "memory":
            bytearray(1 << 50)
        elif action == "pause":
            os.close(os.open(os.path.join(folder, ".paused"), os.O_CREAT | os.O_WRONLY))
            time.sleep(120)


def _install() -> None:
    mkstemp, makedirs, mkdir = tempfile.mkstemp, os.makedirs, os.mkdir

    def hooked_mkstemp(suffix=None, prefix=None, dir=None, text=False):  # noqa: A002
        if dir is not None and prefix:
            _hit(os.path.join(os.fspath(dir), prefix))
        return mkstemp(suffix, prefix, dir, text)

    def hooked_makedirs(name, mode=0o777, exist_ok=False):
        if not os.path.isdir(name):
            _hit(os.fspath(name))
        return makedirs(name, mode, exist_ok)

    def hooked_mkdir(path, mode=0o777, *, dir_fd=None):
        _hit(os.fspath(path))
        return mkdir(path, mode, dir_fd=dir_fd)

    tempfile.mkstemp, os.makedirs, os.mkdir = hooked_mkstemp, hooked_makedirs, hooked_mkdir


RULES = _rules()
if RULES:
    _install()
