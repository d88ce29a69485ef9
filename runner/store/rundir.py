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

from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.store.atomic import create_json, write_json, write_text

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


def secret_keys(value: Any, path: str = "") -> list[str]:
    """Dotted paths of secret-looking keys that hold a value, at any depth (see `redact`)."""
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in secret_keys(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [hit for v in value for hit in secret_keys(v, path)]
    name = path.rsplit(".", 1)[-1]
    return [path] if SECRET_NAME.search(name) and value not in (None, "") else []


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
    """Write config, overrides and run.json; create status.json as pending if the run is new.

    Raises:
        ConfigError: when the config holds a secret-looking key at any depth (say a token inside a
            dict-valued override): overrides.yaml must rebuild the run, so it could not be redacted.
    """
    hidden = secret_keys(dataclasses.asdict(cfg))
    if hidden:
        raise ConfigError(
            f"'{hidden[0]}' looks like a secret: pass tokens through the environment (HF_TOKEN, "
            "WANDB_API_KEY), never in overrides or configs, which are saved with the run"
        )
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "config.yaml", yaml.safe_dump(redact(dataclasses.asdict(cfg)), sort_keys=False))
    write_text(folder / "overrides.yaml", yaml.safe_dump(redact_overrides(list(overrides))))
    meta = {"id": run_id, "role": role, "created": now()} | (read_json(folder / "run.json") or {})
    meta |= {
        "sweeps": meta.get("sweeps") if isinstance(meta.get("sweeps"), list) else [],  # corrupt: anew
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


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file's content; None when missing, unreadable (a torn write from an older crash)
    or not an object (every file of the store holds one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_status(folder: Path) -> dict[str, Any]:
    """status.json; a missing file reads as pending, an unreadable one as interrupted (so it resumes).

    Unreadable: not JSON (cut off, zeroed by a crash), or JSON without a known state.
    """
    path = folder / "status.json"
    status = read_json(path)
    if status is not None and status.get("state") in STATES:
        return status
    if status is None and not path.exists():
        return {"state": "pending", "attempts": 0, "history": []}
    return {"state": "interrupted", "attempts": 0, "error": "status.json was unreadable", "history": []}


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
