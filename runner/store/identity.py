"""Two identities per run: the training (what makes the weights) and the evaluation (what scores them).

run: mixft plan smoke --format json    (each run's `training` id and its `id`, `<training>-<evaluation>`)

A training id hashes the model, the mixture with each training source's task config and data
identity (a local file's SHA-256, the sample suite's code; a hub source's revision is in its config),
the regulariser, the training recipe and the seed. An evaluation hashes the eval settings, the tasks
it scores with their data identities and the examples drawn; its id is `<training id>-<8 hex>`, so the
store finds it under its training: runs/<training>/evals/<8 hex>/.

Rules that keep ids stable across releases:
- A field at its schema default does not enter an identity, so a field added later with a default
  changes no id. Changing an existing default therefore changes what old ids mean: it is a deliberate
  bump of IDENTITY_VERSION (tests/unit/test_identity.py pins every default).
- Labels (option names, descriptions, a task's typical sizes, a model's parameter count and shape), the tracker and the executor never
  enter, nor do settings that change neither the weights nor the scores (`NOT_TRAINING`, `NOT_EVAL`).
- A local file's path does not enter once its content does: moving a data folder keeps every id.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixft.runner.config.run import eval_tasks, role_of, training_sources
from mixft.runner.config.schema import Config
from mixft.runner.jsonutil import canonical_json  # noqa: F401  (also imported from here by execute/)

IDENTITY_VERSION = 2  # bump only with a migration: every id changes
ID_LENGTH = 12  # hex digits of a training id: 48 bits, collision-free in practice for millions of runs
EVAL_LENGTH = 8  # hex digits of an evaluation under its training

# Fields that only label a section, or estimate its cost (a model's parameter count and shape).
LABELS = frozenset({"name", "description", "typical", "num_parameters", "shape"})
# Training settings that change neither the weights nor the scores: logging, resume points, retention.
NOT_TRAINING = frozenset({"keep", "save_steps", "save_final_only", "logging_steps"})
# A task's fields that only evaluation reads, and those only training reads.
TASK_EVAL_ONLY = frozenset({"metric", "max_new_tokens"})
TASK_TRAIN_ONLY = frozenset({"max_examples", "pool_ratio", "trainable"})
DATA_EVAL_ONLY, DATA_TRAIN_ONLY = frozenset({"sample_eval_rows"}), frozenset({"sample_train_rows"})

# task name -> split ("train" | "eval") -> what identifies the rows beyond the task's config
DataIds = Mapping[str, Mapping[str, Mapping[str, Any]]]


def _digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("ascii")).hexdigest()


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def plain(section: Any, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A config section as JSON-ready data without labels, `leave_out`, or fields at their default.

    Nested sections follow the same rule; a nested section left entirely at its defaults is left out.
    """
    out: dict[str, Any] = {}
    for field in dataclasses.fields(section):
        if field.name in LABELS or field.name in leave_out:
            continue
        value, default = getattr(section, field.name), _default(field)
        if dataclasses.is_dataclass(value):
            nested = plain(value)
            # an optional section (default None) that is set counts even at its defaults: a local
            # build of the model is not the hub download
            if nested or not dataclasses.is_dataclass(default):
                out[field.name] = nested
        elif value != default:
            out[field.name] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    """A value inside a section: sections in lists or dicts (epochs_by_sources) follow `plain`'s rule."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class Digests:
    """Section digests memoised per object and purpose: planned runs share most of their sections."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, frozenset[str]], tuple[Any, str]] = {}

    def __call__(self, section: Any, leave_out: frozenset[str] = frozenset()) -> str:
        key = (id(section), leave_out)
        hit = self._memo.get(key)
        if hit is None or hit[0] is not section:
            hit = (section, _digest(plain(section, leave_out)))
            self._memo[key] = hit
        return hit[1]


def _tasks(cfg: Config, names: list[str], split: str, data: DataIds, digest: Digests) -> dict[str, Any]:
    """Each task's config digest (without the other stage's fields) with its split's data identity."""
    only_other = TASK_EVAL_ONLY if split == "train" else TASK_TRAIN_ONLY
    out = {}
    for name in sorted(set(names)):
        rows = dict(data.get(name, {}).get(split, {}))
        task = cfg.task[name]
        if "sha256" in rows:  # the content identifies a local file; its path may move
            task = dataclasses.replace(task, source=dataclasses.replace(task.source, path=None))
        rows.pop("file", None)
        out[name] = [digest(task, only_other), rows]
    return out


def training_identity(cfg: Config, data: DataIds, digest: Digests | None = None) -> dict[str, Any]:
    """What a training id hashes, from a resolved config; the base model's is its model alone."""
    digest = digest or Digests()
    ident: dict[str, Any] = {"v": IDENTITY_VERSION, "model": digest(cfg.model)}
    if role_of(cfg) == "base":
        return ident | {"role": "base"}
    sources = [*training_sources(cfg), *cfg.mixture.pool]
    return ident | {
        "mixture": digest(cfg.mixture),
        "regularizer": digest(cfg.regularizer),
        "training": digest(cfg.training, NOT_TRAINING),
        "data": digest(cfg.data, DATA_EVAL_ONLY),
        "tasks": _tasks(cfg, sources, "train", data, digest),
        "seed": cfg.seed,
    }


def folder_digest(folder: str) -> str:
    """SHA-256 over every file under a folder (relative names and contents), in name order; each
    file's content is read again only when its size or modification time changed."""
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    stamps = tuple((p.relative_to(root).as_posix(), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _folder_digest(folder, stamps)


@functools.lru_cache(maxsize=64)
def _folder_digest(folder: str, stamps: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, _, _ in stamps:
        h.update(name.encode() + b"\0" + (Path(folder) / name).read_bytes() + b"\0")
    return h.hexdigest()


def _suites(cfg: Config, digest: Digests) -> dict[str, Any]:
    """Each suite's settings, with its include_path folder by content (the path may move)."""
    out = {}
    for name in cfg.eval.suites:
        suite = cfg.suite[name]
        folder = suite.include_path
        settings = digest(dataclasses.replace(suite, include_path=None))
        out[name] = [settings, folder_digest(folder) if folder else None]
    return out


def eval_identity(cfg: Config, data: DataIds, digest: Digests | None = None) -> dict[str, Any]:
    """What an evaluation hashes besides its training: eval settings, scored tasks and their rows,
    and the suites (entered only when there are some, so the ids of evaluations without stay)."""
    digest = digest or Digests()
    scored = eval_tasks(cfg)
    ident = {
        "v": IDENTITY_VERSION,
        "eval": digest(cfg.eval),
        "data": digest(cfg.data, DATA_TRAIN_ONLY),
        "scored": scored,
        "tasks": _tasks(cfg, scored, "eval", data, digest),
    }
    if cfg.eval.suites:
        ident["suites"] = _suites(cfg, digest)
    return ident


def run_ids(cfg: Config, data: DataIds, digest: Digests | None = None) -> tuple[str, str]:
    """A run's id, `<training id>-<evaluation digest>` (runs/<training>/evals/<evaluation>/), and
    its recipe key: the training identity without data content, which two trainings that differ only
    in their data share (so a plan can say which file changed)."""
    ident = training_identity(cfg, data, digest)
    trained = _digest(ident)[:ID_LENGTH]
    tasks = {name: config for name, (config, _) in ident.get("tasks", {}).items()}
    recipe = _digest(ident | {"tasks": tasks})[:ID_LENGTH]
    evaluation = _digest([trained, eval_identity(cfg, data, digest)])[:EVAL_LENGTH]
    return f"{trained}-{evaluation}", recipe


def split_id(rid: str) -> tuple[str, str]:
    """(training id, evaluation digest) of a run id; a bare training id has an empty evaluation."""
    trained, _, evaluation = rid.partition("-")
    return trained, evaluation
