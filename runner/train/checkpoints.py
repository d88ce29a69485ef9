"""Checkpoints: the newest whole one to resume from; torn ones are removed.

run: pytest tests/unit/test_checkpoints.py

A checkpoint copied half-way (a bucket-mounted store synced before a preemption) or cut off mid-save
(a kill, a full disk) must never be resumed from.
"""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


def last_checkpoint(folder: Path) -> tuple[str | None, int]:
    """The newest complete checkpoint in `folder` and its step, or (None, 0).

    A checkpoint that is not whole (see `complete`) was cut off mid-save (a kill, a full disk) or
    mid-copy (a store on a bucket mount synced half-way before a preemption): it is removed, and the
    one before it is used.
    """
    steps = sorted(
        (
            int(p.name.rsplit("-", 1)[1])
            for p in folder.glob("checkpoint-*")
            if p.name.rsplit("-", 1)[1].isdigit()
        ),
        reverse=True,
    )
    for step in steps:
        path = folder / f"checkpoint-{step}"
        if not complete(path):
            log.warning("removing incomplete checkpoint %s", path)
            shutil.rmtree(path, ignore_errors=True)
            continue
        return str(path), step
    return None, 0


TORCH_FILES = (".pt", ".pth", ".bin")  # torch.save writes zip archives (central directory last)


def complete(path: Path) -> bool:
    """Whether every file of a checkpoint is whole.

    trainer_state.json parses (the trainer writes it last), every torch file is a zip archive with
    its central directory (written last), and every .safetensors file holds the bytes its header
    promises. A save or copy cut off anywhere fails one of these, whatever order files were written in.
    """
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        for file in path.rglob("*"):
            if file.suffix in TORCH_FILES and not zipfile.is_zipfile(file):
                return False
            if file.suffix == ".safetensors" and not _whole_safetensors(file):
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # unreadable or malformed
        return False
    return True


def _whole_safetensors(file: Path) -> bool:
    """The file is 8 bytes of header length, the JSON header, then the tensors it locates."""
    size = file.stat().st_size
    with file.open("rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        if size < 8 + length:
            return False
        header = json.loads(handle.read(length))
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    return size == 8 + length + max(ends, default=0)
