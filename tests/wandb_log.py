"""Read an offline W&B run back from its transaction log (wandb 0.31 writes no config or summary files)."""

from __future__ import annotations

import json
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class OfflineRun:
    run: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None  # None: the run never finished
    history: dict[str, Any] = field(default_factory=dict)  # run.log() values, last step wins
    files: list[str] = field(default_factory=list)  # paths saved with run.save()


def _payloads(log_file: Path) -> Iterator[bytes]:
    """Records of a LevelDB-style log: a 7-byte file header, then 32 KiB blocks of records that
    each start with (crc32, length, type); FIRST/MIDDLE/LAST pieces join into one record."""
    data, block, pos, parts = log_file.read_bytes(), 32768, 7, b""
    assert data[:4] == b":W&B", data[:7]
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # too little room for a header: zero padding to the next block
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        parts, pos = parts + data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # FULL or LAST
            yield parts
            parts = b""


def _items(updates: Any) -> dict[str, Any]:
    return {u.key or ".".join(u.nested_key): json.loads(u.value_json) for u in updates}


def read_offline(folder: Path) -> OfflineRun:
    """An offline run folder's run record, config, summary and exit code, from its .wandb log."""
    from wandb.proto import wandb_internal_pb2 as pb

    out = OfflineRun()
    [log_file] = folder.glob("*.wandb")
    for payload in _payloads(log_file):
        rec = pb.Record()
        rec.ParseFromString(payload)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            r = rec.run
            out.run = {"id": r.run_id, "name": r.display_name, "group": r.run_group, "job_type": r.job_type}
            out.run |= {"project": r.project, "tags": list(r.tags)}
            out.config |= _items(r.config.update)
        elif kind == "config":
            out.config |= _items(rec.config.update)
        elif kind == "summary":
            out.summary |= _items(rec.summary.update)
        elif kind == "history":
            out.history |= _items(rec.history.item)
        elif kind == "files":
            out.files += [f.path for f in rec.files.files]
        elif kind == "exit":
            out.exit_code = rec.exit.exit_code
    return out


def isolate_wandb(tmp_path: Path, monkeypatch: Any) -> None:
    """No W&B key, no .netrc entry, no WANDB_MODE: only the config decides the mode."""
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL", "WANDB_DIR", "RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no.netrc"))
    # wandb leaves temp folders and monitor sockets behind; keep them out of the shared /tmp
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
