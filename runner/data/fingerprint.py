"""What identifies the rows a run reads, beyond its task configs: the data part of its identities.

run: mixft plan smoke    (edit a local source file and the runs that read it plan as new work)

- A local file: the SHA-256 of its bytes (its path is recorded, for "data changed: <file>").
- The sample suite: the digest of the generator's code (its arguments are in the data config).
- A hub dataset: nothing beyond its config, where `source.revision` names the rows. A moving
  revision (main, or none) is recorded as written; the manifest records the commit used. Pin a
  commit (`source.revision=<sha>`) to make a sweep's data immutable.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

from mixft.runner.config.run import eval_tasks, training_sources
from mixft.runner.config.schema import Config, DataConfig, TaskConfig
from mixft.runner.data.sources import file_digest, from_samples, local_path, split_name
from mixft.runner.errors import ConfigError


@functools.lru_cache(maxsize=4096)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file's bytes, once per (path, size, mtime): a sweep plans many runs on one file."""
    return file_digest(Path(path))


def file_sha256(path: Path) -> str | None:
    """A file's content digest; None when it cannot be read (pre-flight then names the file)."""
    try:
        stat = os.stat(path)
        return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        return None


@functools.cache
def samples_code() -> str:
    """Digest of the sample suite's generator code: its rows follow from it."""
    from mixft.runner.data import sample_text, samples

    digest = hashlib.sha256()
    for module in (samples, sample_text):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def split_identity(task: TaskConfig, split: str, data: DataConfig) -> dict[str, Any]:
    """What identifies one split's rows beyond the task config ("train" or "eval")."""
    if from_samples(task, data):
        return {"samples": samples_code()}
    if task.source.path is None:
        return {}  # hub: hf_id, hf_config and revision are in the task config
    try:
        path = local_path(task, split_name(task, split))
    except ConfigError:
        return {}  # a split the task lacks: validation or pre-flight says so
    return {"file": str(path), "sha256": file_sha256(path)}


def data_ids(cfg: Config) -> dict[str, dict[str, dict[str, Any]]]:
    """Per task and split ("train", "eval"), the data identity of every split a run reads."""
    reads: dict[str, set[str]] = {}
    for name in [*training_sources(cfg), *cfg.mixture.pool]:
        reads.setdefault(name, set()).add("train")
    for name in eval_tasks(cfg):
        reads.setdefault(name, set()).add("eval")
    return {
        name: {split: split_identity(cfg.task[name], split, cfg.data) for split in sorted(splits)}
        for name, splits in reads.items()
    }


def data_files(ids: dict[str, dict[str, dict[str, Any]]]) -> dict[str, str | None]:
    """The local files among a run's data identities: path -> SHA-256 (None when unreadable)."""
    return {
        rows["file"]: rows.get("sha256")
        for splits in ids.values()
        for rows in splits.values()
        if "file" in rows
    }
