"""The store's folders: the contract every other part reads (status, compare, W&B derive from them).

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb]    then look in the printed run dir

A training (runs/<training id>/) holds what made the weights; each evaluation of it
(runs/<training id>/evals/<eval>/, a run's folder) what scored them:

    both      config.yaml     resolved config             overrides.yaml  the overrides that built it
              run.json        id, kind, summary, sweeps   status.json     state machine, attempts, errors
              claim.json      who works on it now         run.log         the process's output (evaluation)
    training  manifest.json   the data mix                train.log       one JSON line per trainer log
              progress.json   total optimizer steps       checkpoints/    resume points
              model/          weights kept per training.keep (final model, adapter, or none)
              metrics.json    training metrics
    evaluation metrics.json   training and eval metrics   predictions/    one jsonl per eval task
              suites/<suite>/ settings.json and one jsonl per lm-eval task, a line per document
              wandb/          W&B files                   slurm.json      the SLURM job that runs it
              ray.json        the Ray task that runs it (task id, node, state)

The untrained base model is a training of kind "base" with nothing in it but its records.
This module owns every name above: other code asks it for a path or calls its readers and writers.
Every file is written atomically.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any

import yaml

from mixft.runner.config.run import summary
from mixft.runner.config.schema import Config
from mixft.runner.config.secrets import refuse_secrets
from mixft.runner.config.yamlio import load_yaml
from mixft.runner.errors import ConfigError
from mixft.runner.paths import run_dir, training_dir
from mixft.runner.store.atomic import read_json, write_json, write_text
from mixft.runner.store.status import create_pending, now

CONFIG, OVERRIDES, META, STATUS = "config.yaml", "overrides.yaml", "run.json", "status.json"
MANIFEST, METRICS, PROGRESS, SLURM = "manifest.json", "metrics.json", "progress.json", "slurm.json"
TRAIN_LOG, RUN_LOG, PREDICTIONS = "train.log", "run.log", "predictions"
CHECKPOINTS, MODEL, WANDB, ENGINE = "checkpoints", "model", "wandb", "engine.json"
RAY = "ray.json"


def write_run_files(
    folder: Path,
    cfg: Config,
    overrides: list[str],
    run_id: str,
    role: str,
    sweep: str | None,
    facts: dict[str, Any] | None = None,
) -> None:
    """Write config, overrides and run.json; create status.json as pending if the folder is new.

    Args:
        folder: A training's folder, or an evaluation's (a run's).
        run_id: The training id, or the run id.
        facts: Further run.json entries (a training's kind, recipe and data files).

    Raises:
        ConfigError: when the config holds a secret-looking key at any depth (say a token inside a
            dict-valued override): nothing of it may persist, and overrides.yaml must rebuild the run.
    """
    plain = dataclasses.asdict(cfg)
    refuse_secrets(plain)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / CONFIG, yaml.safe_dump(plain, sort_keys=False))
    write_text(folder / OVERRIDES, yaml.safe_dump(list(overrides)))
    meta = {"id": run_id, "created": now()} | (read_json(folder / META) or {})
    sweeps = meta.get("sweeps")
    meta |= {"sweeps": sweeps if isinstance(sweeps, list) else []}  # a corrupt record: anew
    meta |= summary(cfg, role) | (facts or {"kind": "evaluation", "training": run_id.partition("-")[0]})
    if sweep and sweep not in meta["sweeps"]:
        meta["sweeps"].append(sweep)
    write_json(folder / META, meta)
    if meta["kind"] != "base":  # the base model is never trained: a status would stay pending
        create_pending(folder)  # never over a status another process wrote meanwhile (two sweeps)


def write_planned(
    rid: str, cfg: Config, overrides: list[str], role: str, sweep: str | None, facts: dict[str, Any]
) -> None:
    """Write a planned run's training folder (kind, recipe, data files in `facts`) and its own."""
    kind = {"kind": "base" if role == "base" else "training"}
    write_run_files(training_dir(rid), cfg, overrides, rid.partition("-")[0], role, sweep, kind | facts)
    write_run_files(run_dir(rid), cfg, overrides, rid, role, sweep)


def read_overrides(folder: Path) -> list[str]:
    """The overrides that rebuild the run (overrides.yaml).

    Raises:
        ConfigError: the run was never planned here (no overrides.yaml).
    """
    path = folder / OVERRIDES
    if not path.exists():
        raise ConfigError(f"run {folder.name}: no {path}; plan or prepare the run first")
    return [str(o) for o in load_yaml(path) or []]


def read_config(folder: Path) -> dict[str, Any]:
    """The resolved config as saved (config.yaml), as nested dicts.

    Raises:
        ConfigError: missing or not a mapping (a run dir lost or torn).
    """
    config = load_yaml(folder / CONFIG)
    if not isinstance(config, dict):
        raise ConfigError(f"{folder / CONFIG}: not a run config")
    return config


def update_meta(folder: Path, **entries: Any) -> None:
    """Set entries of run.json, keeping the rest."""
    write_json(folder / META, read_meta(folder) | entries)


def read_meta(folder: Path) -> dict[str, Any]:
    """run.json: id, created, sweeps, and the run's summary (model, tasks, regularizer, seed, role)."""
    return read_json(folder / META) or {}


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """The data mix of the run (see data/build.py)."""
    write_json(folder / MANIFEST, manifest)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The run's data manifest; None before its data was built."""
    return read_json(folder / MANIFEST)


def write_metrics(folder: Path, metrics: dict[str, float]) -> None:
    """Training and evaluation metrics of the finished run."""
    write_json(folder / METRICS, metrics)


def read_metrics(folder: Path) -> dict[str, Any]:
    """metrics.json; empty when the run has none (not done, or torn)."""
    return read_json(folder / METRICS) or {}


def predictions_dir(folder: Path) -> Path:
    """Folder of the per-example predictions, one <task>.jsonl each."""
    return folder / PREDICTIONS


def write_predictions(folder: Path, task: str, rows: list[dict[str, Any]]) -> None:
    """What the model said for each eval example of one task, one JSON object per line."""
    write_text(predictions_dir(folder) / f"{task}.jsonl", "".join(json.dumps(row) + "\n" for row in rows))


@functools.lru_cache(maxsize=512)  # a baseline's file is read once, not once per mixture it pairs with
def _jsonl(path: Path, version: tuple[int, int]) -> list[dict[str, Any]] | None:
    try:
        text = path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, ValueError):
        return None


def read_predictions(folder: Path, task: str) -> list[dict[str, Any]] | None:
    """The rows of predictions/<task>.jsonl; None when missing or unreadable."""
    path = predictions_dir(folder) / f"{task}.jsonl"
    try:
        stat = path.stat()
    except OSError:
        return None
    return _jsonl(path, (stat.st_mtime_ns, stat.st_size))  # a rewritten file is read again


def suite_dir(folder: Path, suite: str) -> Path:
    """Where one suite's records of an evaluation live: suites/<suite>/."""
    return folder / "suites" / suite


def write_suite(
    folder: Path, suite: str, settings: dict[str, Any], records: dict[str, list[dict[str, Any]]]
) -> None:
    """One suite's results: suites/<suite>/<task>.jsonl (one object per document, keyed by doc_id) and
    suites/<suite>/settings.json (what the documents were scored under); the settings go last, so a
    suite with settings has all its records."""
    target = suite_dir(folder, suite)
    for task, rows in records.items():
        write_text(target / f"{task}.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    write_json(target / "settings.json", settings)


def read_suite_settings(folder: Path, suite: str) -> dict[str, Any] | None:
    """suites/<suite>/settings.json; None when missing or unreadable."""
    try:
        return json.loads((suite_dir(folder, suite) / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_suite_records(folder: Path, suite: str, task: str) -> list[dict[str, Any]] | None:
    """The per-document rows of suites/<suite>/<task>.jsonl; None when missing or unreadable."""
    path = suite_dir(folder, suite) / f"{task}.jsonl"
    try:
        stat = path.stat()
    except OSError:
        return None
    return _jsonl(path, (stat.st_mtime_ns, stat.st_size))


def append_train_log(folder: Path, entry: dict[str, Any]) -> None:
    """One trainer log as a JSON line (appended, so it survives a run that dies)."""
    with (folder / TRAIN_LOG).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def write_progress(folder: Path, max_steps: int) -> None:
    """The total optimizer steps `mixft status` measures progress against."""
    write_json(folder / PROGRESS, {"max_steps": max_steps})


def read_progress(folder: Path) -> tuple[float, float] | None:
    """(last logged step, total steps) of a training run; None when unknown or unreadable."""
    log, total = folder / TRAIN_LOG, (read_json(folder / PROGRESS) or {}).get("max_steps")
    if not log.exists() or not total:
        return None
    lines = log.read_text(encoding="utf-8").strip().splitlines()
    try:
        step = json.loads(lines[-1])["step"] if lines else 0
    except (ValueError, KeyError, TypeError):  # a line cut off by a kill
        return None
    if not isinstance(step, int | float) or not isinstance(total, int | float):  # corrupt files
        return None
    return step, total


def write_slurm_job(folder: Path, job_id: str) -> None:
    """The SLURM job that runs this run."""
    write_json(folder / SLURM, {"job_id": job_id, "submitted": time.time()})


def note_slurm_node(folder: Path, node: str) -> None:
    """The node the array task that runs this run is on, merged into slurm.json (written there)."""
    write_json(folder / SLURM, {**(read_json(folder / SLURM) or {}), "node": node})


def read_slurm_node(folder: Path) -> str | None:
    """The node this run's array task ran on, if it started."""
    record = read_json(folder / SLURM)
    return str(record["node"]) if record and record.get("node") else None


def read_slurm_job(folder: Path) -> str | None:
    """The SLURM job id this run was submitted as, if any."""
    record = read_json(folder / SLURM)
    return str(record["job_id"]) if record and "job_id" in record else None


def write_ray_task(folder: Path, **entries: Any) -> None:
    """What is known of the Ray task that runs this run (task id, node, state), merged into ray.json."""
    write_json(folder / RAY, {**(read_json(folder / RAY) or {}), **entries, "updated": time.time()})


def read_ray_task(folder: Path) -> dict[str, Any] | None:
    """The Ray task record of this run, if it was submitted to Ray."""
    return read_json(folder / RAY)


def checkpoints_dir(folder: Path) -> Path:
    """Where the trainer writes resume points."""
    return folder / CHECKPOINTS


def model_dir(folder: Path) -> Path:
    """The weights (or adapter) a training kept (see training.keep)."""
    return folder / MODEL


def write_engine(folder: Path, engine: dict[str, str]) -> None:
    """engine.json: the generation engine an evaluation ran on ({"engine": "hf", "version": ...})."""
    write_json(folder / ENGINE, engine)


def read_engine(folder: Path) -> str:
    """The engine an evaluation generated with; hf for evaluations from before engines were recorded."""
    return (read_json(folder / ENGINE) or {}).get("engine", "hf")


def has_weights(folder: Path) -> bool:
    """True when a training's folder holds its kept weights (a model/ folder with files)."""
    final = folder / MODEL
    return final.is_dir() and any(final.iterdir())


def wandb_dir(folder: Path) -> Path:
    """Where W&B writes the run's files (offline runs wait there for `mixft sync`)."""
    return folder / WANDB


def run_log(folder: Path) -> Path:
    """The run process's stdout and stderr."""
    return folder / RUN_LOG
