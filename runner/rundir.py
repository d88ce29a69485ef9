"""The run directory: the contract every other part reads (status, compare, W&B are derived from it).

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb]    then look in the printed run dir

    config.yaml     resolved config (secrets redacted)       overrides.yaml  the overrides that built it
    run.json        id, role, sweeps that planned it          status.json     state machine, attempts, errors
    manifest.json   the data mix                              metrics.json    training and eval metrics
    predictions/    one jsonl per eval task                   train.log       one JSON line per trainer log
    checkpoints/    resume points                             model/          the final weights (or adapter)

Every file is written atomically; status moves pending -> running -> done | failed | interrupted, and
failed or interrupted runs go back to running on their next attempt.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

import yaml

from mixft.runner.atomic import create_json, write_json, write_text
from mixft.runner.errors import ConfigError
from mixft.runner.schema import Config

STATES = ("pending", "running", "done", "failed", "interrupted")
NEXT = {
    "pending": {"running"},
    "running": {"done", "failed", "interrupted"},
    "failed": {"running"},
    "interrupted": {"running", "failed"},
    "done": set(),
}
# hub_token, api_key, password ... but not max_new_tokens or n_tokens
SECRET_NAME = re.compile(r"(^|_)(token|key|apikey|secret|password|passwd|credentials?)$", re.IGNORECASE)
REDACTED = "***"
ERROR_TAIL = 4000  # characters of a traceback kept per attempt


def redact(value: Any, name: str = "") -> Any:
    """Replace values whose key looks like a secret (…_token, …_key, password, …) by '***'."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, name) for v in value]
    return REDACTED if SECRET_NAME.search(name) and value not in (None, "") else value


def redact_overrides(overrides: list[str]) -> list[str]:
    """Overrides with secret-looking keys' values replaced by '***'."""
    out = []
    for text in overrides:
        key, sep, _ = text.partition("=")
        out.append(f"{key}={REDACTED}" if sep and SECRET_NAME.search(key.split(".")[-1]) else text)
    return out


def now() -> str:
    """UTC timestamp, ISO 8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_run_files(
    folder: Path, cfg: Config, overrides: list[str], run_id: str, role: str, sweep: str | None
) -> None:
    """Write config, overrides and run.json; create status.json as pending if the run is new."""
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "config.yaml", yaml.safe_dump(redact(dataclasses.asdict(cfg)), sort_keys=False))
    write_text(folder / "overrides.yaml", yaml.safe_dump(redact_overrides(list(overrides))))
    meta = read_json(folder / "run.json") or {"id": run_id, "role": role, "created": now(), "sweeps": []}
    meta |= {
        "model": cfg.model.name,
        "tasks": list(cfg.mixture.tasks),
        "regularizer": cfg.regularizer.name,
        "seed": cfg.seed,
    }
    if sweep and sweep not in meta["sweeps"]:
        meta["sweeps"].append(sweep)
    write_json(folder / "run.json", meta)
    # never over a status another process wrote meanwhile (two sweeps starting together)
    create_json(folder / "status.json", {"state": "pending", "attempts": 0, "updated": now(), "history": []})


def read_json(path: Path) -> Any:
    """A JSON file's content; None when missing or unreadable (a torn write from an older crash)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_status(folder: Path) -> dict[str, Any]:
    """status.json; a missing file reads as pending, an unreadable one as interrupted (so it resumes)."""
    status = read_json(folder / "status.json")
    if status is None and (folder / "status.json").exists():
        return {"state": "interrupted", "attempts": 0, "error": "status.json was unreadable", "history": []}
    return status or {"state": "pending", "attempts": 0, "history": []}


def set_state(folder: Path, state: str, error: str | None = None) -> dict[str, Any]:
    """Move the run to `state`, recording time, attempt count and the error tail of failed attempts."""
    status = read_status(folder)
    if state not in NEXT[status["state"]]:
        raise ConfigError(f"run {folder.name} is {status['state']}; it cannot become {state}")
    status["state"], status["updated"] = state, now()
    if state == "running":
        status["attempts"] = status.get("attempts", 0) + 1
        status["started"] = status["updated"]
        status.pop("error", None)
    else:
        status["finished"] = status["updated"]
        entry = {"attempt": status.get("attempts", 0), "state": state, "at": status["updated"]}
        if error:
            status["error"] = entry["error"] = error[-ERROR_TAIL:]
        status.setdefault("history", []).append(entry)
    write_json(folder / "status.json", status)
    return status
