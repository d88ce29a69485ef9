"""A task's raw rows for one split: from the Hugging Face hub, a local file, or the sample suite.

run: mixft data show fpb -n 3    |    mixft data validate fpb_{split}.jsonl --task fpb

Rows keep the source's own columns; `mixft.runner.data.format` maps them to prompts. Local files are
checked line by line before `datasets` reads them, so that a bad byte or a broken JSON line is
reported with its file and line instead of deep inside pyarrow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import DataConfig, TaskConfig
from mixft.runner.errors import ConfigError
from mixft.runner.jsonutil import canonical_json

SPLITS = ("train", "eval")
# file suffix -> the `datasets` builder that reads it
BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# builder -> its reading options. CSV cells are text: without na_filter pandas reads an empty cell as
# NaN (the answer "nan", or a label column of floats: "1.0" for 1); utf-8-sig drops the byte-order
# mark that spreadsheets write, which would otherwise join the first column's name
OPTIONS = {"csv": {"na_filter": False, "encoding": "utf-8-sig"}}


class RawSplit:
    """One split of a task's source; `rows` loads on first use (the sample suite is generated then)."""

    def __init__(
        self, task: str, split: str, origin: str, fingerprint: str, num_rows: int, load: Callable[[], Any]
    ) -> None:
        self.task = task
        # train | eval
        self.split = split
        # where the rows came from: hub id and revision, a file path, or the sample suite
        self.origin = origin
        # changes whenever the rows do
        self.fingerprint = fingerprint
        self.num_rows = num_rows
        self._load = load

    @cached_property
    def rows(self) -> Any:
        """A datasets.Dataset with the source's own columns."""
        return self._load()


def split_name(task: TaskConfig, split: str) -> str:
    """The source's name for our split ("eval" -> "test" or "validation")."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    name = task.source.train_split if split == "train" else task.source.eval_split
    if name is None:
        use = "trained on" if split == "train" else "scored"
        raise ConfigError(f"task '{task.name}' has no {split} split, so it cannot be {use}")
    return name


def quiet_datasets() -> None:
    """Silence `datasets` progress bars: one line per cached file would bury mixft's own output."""
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()


def from_samples(task: TaskConfig, data: DataConfig) -> bool:
    """True when a task's rows come from the offline sample suite: `data.samples=true` stands in for
    hub sources; a task on a local file (a project's own) keeps reading its file."""
    return data.samples and task.source.path is None


def load_split(task: TaskConfig, split: str, data: DataConfig) -> RawSplit:
    """Load one split of a task from where its config (or `data.samples`) says."""
    quiet_datasets()
    name = split_name(task, split)
    if from_samples(task, data):
        raw = _from_samples(task, split, data)
    elif task.source.path is not None:
        raw = _from_file(task, split, name)
    else:
        raw = _from_hub(task, split, name)
    if raw.num_rows == 0:
        raise ConfigError(f"{raw.origin}: no rows in the {split} split of task '{task.name}'")
    if data.max_rows is not None and raw.num_rows > data.max_rows:
        return _first_rows(raw, data.max_rows)
    return raw


def _first_rows(raw: RawSplit, n: int) -> RawSplit:
    """The split cut to its first n rows (its fingerprint says so)."""
    load = raw._load
    return RawSplit(
        raw.task, raw.split, raw.origin, f"{raw.fingerprint}[:{n}]", n, lambda: load().select(range(n))
    )


def _from_samples(task: TaskConfig, split: str, data: DataConfig) -> RawSplit:
    from datasets import Dataset

    from mixft.runner.data import sample_text, samples

    n = data.sample_train_rows if split == "train" else data.sample_eval_rows
    # the rows follow from the generator's code and its arguments: hash those, not the rows
    code = [file_digest(Path(module.__file__ or "")) for module in (samples, sample_text)]
    digest = hashlib.sha256(canonical_json([code, task.name, split, n]).encode()).hexdigest()
    origin = f"samples:{task.name}/{split}"
    return RawSplit(
        task.name,
        split,
        origin,
        digest,
        n,
        lambda: Dataset.from_list(samples.sample_rows(task.name, split, n)),
    )


def local_path(task: TaskConfig, split_source_name: str) -> Path:
    """The file of one split: `{split}` in source.path becomes the source's split name."""
    template = task.source.path or ""
    if "{split}" not in template:
        other = (
            task.source.eval_split
            if split_source_name == task.source.train_split
            else task.source.train_split
        )
        if other is not None and task.trainable and task.metric != "none":
            raise ConfigError(
                f"task '{task.name}': source.path {template} has no '{{split}}' placeholder, but the task "
                f"has two splits; name the files like data/{task.name}_{{split}}.jsonl"
            )
    return Path(template.replace("{split}", split_source_name)).expanduser()


def _from_file(task: TaskConfig, split: str, name: str) -> RawSplit:
    path = local_path(task, name)
    rows = read_local(path)
    return RawSplit(task.name, split, str(path), file_digest(path), len(rows), lambda: rows)


def read_local(path: Path) -> Any:
    """Read a jsonl/json/csv/parquet file into a Dataset after checking it line by line."""
    from datasets import load_dataset

    builder = BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise ConfigError(f"{path}: unsupported file type; use one of {', '.join(BUILDERS)}")
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    if builder != "parquet":
        text = _utf8(path)
        if not text.strip():
            raise ConfigError(f"{path}: no rows (the file is empty)")
        if builder == "json" and text.startswith("\ufeff"):
            raise ConfigError(f"{path}:1: starts with a byte-order mark (BOM); save it as UTF-8 without one")
        if path.suffix.lower() == ".jsonl":
            _check_jsonl(path, text)
    quiet_datasets()
    try:
        with _datasets_errors_unlogged():
            return load_dataset(builder, data_files=str(path), split="train", **OPTIONS.get(builder, {}))
    except Exception as exc:  # datasets/pyarrow raise many types for unreadable files
        raise ConfigError(f"{path}: cannot read as {builder}: {_reason(exc)}") from None


@contextmanager
def _datasets_errors_unlogged() -> Iterator[None]:
    """`datasets` logs a reader's error before raising it ("Failed to load JSON from file ..."); the
    ConfigError says it once, on one line."""
    logger = logging.getLogger("datasets")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(exc: BaseException) -> str:
    """The first line of the innermost error: datasets wraps pyarrow's in "An error occurred ..."."""
    # explicit causes first: an error's context may be a fallback that failed too (pandas after
    # pyarrow); datasets' own "An error occurred while generating the dataset" says nothing itself
    while exc.__cause__ is not None or (exc.__context__ is not None and str(exc).startswith("An error")):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip()
    if "corresponds to no data" in text:
        return "no rows"
    return text.splitlines()[0] if text else type(exc).__name__


def _utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); save it as UTF-8"
        ) from None


def _check_jsonl(path: Path, text: str) -> None:
    # lines end at "\n" only (JSON Lines, and pyarrow): str.splitlines would also break at U+2028 and
    # U+0085, which JSON strings may hold, and miss the junk that pyarrow then fails on
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\r"):  # JSON's own whitespace; pyarrow skips only such lines
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: malformed JSON line: {exc.msg}") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{number}: each line must be a JSON object, got {type(row).__name__}")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_hub(task: TaskConfig, split: str, name: str) -> RawSplit:
    from datasets import load_dataset

    src = task.source
    origin = (
        f"hub:{src.hf_id}"
        + (f"/{src.hf_config}" if src.hf_config else "")
        + f"@{src.revision or 'main'}:{name}"
    )
    try:
        rows = load_dataset(
            src.hf_id, src.hf_config, split=name, revision=src.revision, token=os.environ.get("HF_TOKEN")
        )
    except Exception as exc:  # offline, gated, missing split: datasets raises many types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"task '{task.name}': cannot load {origin} ({reason}); point task.{task.name}.source.path "
            "at a local copy, or use data.samples=true offline"
        ) from None
    return RawSplit(task.name, split, origin, f"{origin}#{rows._fingerprint}", len(rows), lambda: rows)
