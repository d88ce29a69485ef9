"""Experiment tracking: W&B when the run's tracker says so, a do-nothing tracker otherwise.

run: mixft sweep smoke tracker=wandb    (offline without credentials; upload later with `mixft sync`)

A run's W&B id is its mixft run id, so a resumed run continues the same W&B run, and its files land in
<run_dir>/wandb. Tracking never costs local results: every W&B call is guarded, and a failure is one
warning. wandb 0.31 keeps an offline run as one transaction log,
<run_dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb (no files/config.yaml or wandb-summary.json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import netrc
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from mixft.runner.config.schema import Config

log = logging.getLogger(__name__)

INIT_TIMEOUT_S = 30.0  # a server that accepts connections but does not answer: offline after this long
PROBE_TIMEOUT_S = 3.0  # a server no TCP connection reaches (refused, no route): offline after this long
DEFAULT_BASE_URL = "https://api.wandb.ai"
FINISH_TIMEOUT_S = 300.0  # a dead network cannot hold a run at its end (resend: wandb sync --include-online)
SYNC_TIMEOUT_S = 120.0  # per run; an offline run's log is small
SECRET_SUFFIXES = ("token", "key", "secret", "password")  # also covers *_token, *_key
CREDENTIAL_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")  # wandb 0.31's default and its upstream
OFFLINE_GLOBS = (
    "wandb/offline-run-*",
    "*/wandb/offline-run-*",
    "runs/*/wandb/offline-run-*",
    "compare/*/wandb/offline-run-*",  # `mixft compare --wandb`
)
# What wandb may record: our config and metrics, nothing about code, git, host, process or packages.
SETTINGS: dict[str, Any] = {
    "save_code": False,
    "disable_code": True,
    "disable_git": True,
    "x_disable_meta": True,  # program, command-line args, host, executable
    "x_save_requirements": False,  # pip freeze of the environment
    "console": "off",  # stdout stays in the run's own logs, never uploaded
    "reinit": "finish_previous",  # a run left open in this process never swallows the next one
    "init_timeout": INIT_TIMEOUT_S,
    "finish_timeout": FINISH_TIMEOUT_S,
    "silent": True,  # this module logs the one line that matters
}


class Tracker(Protocol):
    """What the run entry point needs from a tracker."""

    report_to: str  # transformers' TrainingArguments.report_to: "wandb" or "none"

    def start(self) -> None: ...

    def log_summary(self, metrics: dict[str, float]) -> None: ...

    def finish(self, ok: bool) -> None: ...


class NullTracker:
    """tracker=none or mode disabled: every call does nothing, so callers never branch on W&B."""

    report_to = "none"

    def start(self) -> None: ...

    def log_summary(self, metrics: dict[str, float]) -> None: ...

    def finish(self, ok: bool) -> None: ...


@contextmanager
def _guarded(action: str) -> Iterator[None]:
    """Turn any tracking error into one warning: a W&B failure must never lose local results."""
    try:
        yield
    except Exception as exc:
        log.warning("W&B: %s failed (%s); local results are unaffected", action, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class WandbTracker:
    """Tracks one run in W&B; start() begins or resumes it, finish() closes it.

    report_to is "wandb" only while a run is live: the Trainer's WandbCallback then logs into it (it
    reuses `wandb.run`), and it never starts a run of its own after a failed start.
    """

    def __init__(self, cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> None:
        self.cfg, self.run_id, self.run_dir, self.role, self.sweep = cfg, run_id, run_dir, role, sweep
        self._run: Any = None
        self.report_to = "none"

    def start(self) -> None:
        """Begin the W&B run, or continue it when this run id was tracked before."""
        if self._run is not None:
            return
        with _guarded("start"):
            mode = self._mode()
            if mode != "disabled":
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self._run = self._init(mode)
                self.report_to = "wandb"

    def _mode(self) -> str:
        return resolve_mode(self.cfg.tracker.mode, self.run_dir / "wandb", self.run_id)

    def _init(self, mode: str) -> Any:
        return init_run(mode, self._init_kwargs(), self.run_dir / "wandb", self.run_id)

    def _init_kwargs(self) -> dict[str, Any]:
        import wandb

        cfg, tracker = self.cfg, self.cfg.tracker
        return {
            "project": tracker.project,
            "entity": tracker.entity,
            "id": self.run_id,
            "resume": "allow",
            "dir": str(self.run_dir),
            "group": self.sweep or None,
            "job_type": self.role,
            "name": run_name(cfg),
            "config": tracking_config(cfg, self.role, self.sweep),
            "tags": list(dict.fromkeys([*tracker.tags, cfg.model.name, self.role, cfg.regularizer.name])),
            "settings": wandb.Settings(**SETTINGS),
        }

    def log_summary(self, metrics: dict[str, float]) -> None:
        """Write the final eval metrics into the run summary, and save the predictions as run files
        (`mixft compare --source wandb` reads them for its confidence intervals)."""
        if self._run is not None:
            with _guarded("log_summary"):
                self._run.summary.update(dict(metrics))
            if any((self.run_dir / "predictions").glob("*.jsonl")):
                with _guarded("save predictions"), contextlib.redirect_stderr(io.StringIO()):
                    # wandb prints "Symlinked N files" to stderr even when silent
                    pattern = str(self.run_dir / "predictions" / "*.jsonl")
                    self._run.save(pattern, base_path=str(self.run_dir), policy="now")

    def finish(self, ok: bool) -> None:
        """Close the run (ok=False marks it failed) and return once its files are complete on disk."""
        run, self._run, self.report_to = self._run, None, "none"
        if run is not None:
            import wandb

            with _guarded("finish"):
                run.finish(exit_code=0 if ok else 1)
                # run.finish() can return before wandb-core has flushed the offline log; stopping
                # the service flushes it, so `mixft sync` or a reader right after sees the whole run
                wandb.teardown()


def make_tracker(cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> Tracker:
    """The tracker of one run: W&B on the main process when configured, else a NullTracker.

    Args:
        cfg: The resolved run config; `cfg.tracker` picks the tracker and its mode.
        run_id: The mixft run id, used as the W&B run id.
        run_dir: The run directory; W&B files go to run_dir/wandb.
        role: base, baseline or mixture (the W&B job type).
        sweep: The sweep that runs it (the W&B group), or None.
    """
    rank = int(os.environ.get("RANK") or 0)  # under accelerate only rank 0 tracks, like the Trainer
    if cfg.tracker.name != "wandb" or cfg.tracker.mode == "disabled" or rank != 0:
        return NullTracker()
    return WandbTracker(cfg, run_id, run_dir, role, sweep)


def resolve_mode(requested: str, folder: Path, sync_target: str) -> str:
    """auto: WANDB_MODE when set, else online; online needs credentials, else offline.

    Args:
        requested: The tracker's mode: auto | online | offline | disabled.
        folder: Where offline W&B files go (named in the message).
        sync_target: What `mixft sync` takes to upload them later (named in the message).
    """
    mode = requested
    if mode == "auto":
        env = os.environ.get("WANDB_MODE", "")
        mode = {"dryrun": "offline", "run": "online"}.get(env, env)
        mode = mode if mode in ("online", "offline", "disabled") else "online"
    if mode == "online" and not has_credentials():  # wandb would prompt for a key, or fail
        log.log(
            logging.WARNING if requested == "online" else logging.INFO,
            "W&B: no credentials, logging offline to %s; upload later with `mixft sync %s`",
            folder,
            sync_target,
        )
        mode = "offline"
    return mode


def init_run(mode: str, kwargs: dict[str, Any], folder: Path, sync_target: str) -> Any:
    """wandb.init in `mode`; an online start that fails (no network, bad key) goes offline instead.

    Args:
        mode: online or offline (see `resolve_mode`).
        kwargs: The rest of wandb.init's arguments.
        folder: Where offline W&B files go (named in the message).
        sync_target: What `mixft sync` takes to upload them later (named in the message).
    """
    import wandb

    if mode == "online":
        try:
            probe_server()
            run = wandb.init(mode="online", **kwargs)
            log.info("W&B: logging to %s", run.url)
            return run
        except Exception as exc:  # unreachable server, bad key, timeout: keep everything locally
            log.warning(
                "W&B: online start failed (%s); logging offline to %s; upload later with `mixft sync %s`",
                _one_line(exc),
                folder,
                sync_target,
            )
            wandb.teardown()  # the failed online stream holds this run id until its service stops
    return wandb.init(mode="offline", **kwargs)


def probe_server(timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Open (and close) a TCP connection to the W&B server, so that a refused or unroutable one costs
    seconds, not INIT_TIMEOUT_S (wandb retries a refused connection until its init timeout).

    Behind a proxy (HTTPS_PROXY, ...) wandb connects through it, so the check is left to wandb.

    Raises:
        ConnectionError: when no connection opens within `timeout_s`.
    """
    import socket
    import urllib.request

    if set(urllib.request.getproxies()) - {"no"}:  # "no": NO_PROXY, which routes nothing
        return
    url = urlsplit(os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL)
    address = (url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    try:
        socket.create_connection(address, timeout=timeout_s).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ConnectionError(f"cannot connect to {address[0]}:{address[1]}: {reason}") from None


def run_name(cfg: Config) -> str:
    """Readable W&B name: model · tasks joined by + (or base) · regulariser · s<seed>."""
    tasks = "+".join(cfg.mixture.tasks) or "base"
    return f"{cfg.model.name} · {tasks} · {cfg.regularizer.name} · s{cfg.seed}"


def has_credentials() -> bool:
    """True when wandb could log in without a prompt: WANDB_API_KEY, or a .netrc entry for W&B."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    hosts = {urlsplit(os.environ.get("WANDB_BASE_URL", "")).netloc, *CREDENTIAL_HOSTS} - {""}
    try:
        entries = netrc.netrc(Path(os.environ.get("NETRC") or "~/.netrc").expanduser())
    except (OSError, netrc.NetrcParseError):
        return False
    return any(entries.authenticators(host) for host in hosts)


def _scrub(value: Any) -> Any:
    """Drop secret-looking keys at any depth (a guard: the config never holds environment values)."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if not str(k).lower().endswith(SECRET_SUFFIXES)}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {"section.key": value} (how W&B shows a config)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def tracking_config(cfg: Config, role: str, sweep: str | None) -> dict[str, Any]:
    """The W&B config: the resolved config with dotted keys, plus the sweep axes at top level.

    The task catalogue is cut to its names (the details are in the run dir's config.yaml).
    """
    plain = dataclasses.asdict(cfg) | {"task": sorted(cfg.task)}
    axes = {
        "model": cfg.model.name,
        "tasks": list(cfg.mixture.tasks),
        "regularizer": cfg.regularizer.name,
        "seed": cfg.seed,
        "role": role,
        "sweep": sweep,
    }
    return flatten(_scrub(plain)) | axes


def offline_runs(root: Path) -> list[Path]:
    """Offline W&B run folders under a store, its runs/ folder or one run dir, in start order per run."""
    found = {p for pattern in OFFLINE_GLOBS for p in root.glob(pattern) if any(p.glob("*.wandb"))}
    return sorted(found)


def _synced(folder: Path) -> bool:
    """wandb sync leaves run-ID.wandb.synced beside a log it uploaded."""
    return any(folder.glob("*.wandb.synced"))


def _last_line(output: str) -> str:
    lines = [ln.strip().removeprefix("wandb: ").strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    return (errors or lines or [""])[-1]


def _upload(folders: list[Path], timeout_s: float) -> str:
    """One `wandb sync` for a run's offline folders (resumed pieces upload in order); its last line."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}  # an upload is never offline
    env["WANDB_DIR"] = str(folders[0].parent.parent)  # wandb's own CLI log stays in the run dir
    cmd = [sys.executable, "-m", "wandb", "sync", *map(str, folders)]
    try:
        done = subprocess.run(
            cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s (no network?); the offline run is kept, retry later"
    except OSError as exc:
        return f"cannot run wandb sync: {_one_line(exc)}"
    return _last_line(done.stdout + "\n" + done.stderr) or f"wandb sync exited with {done.returncode}"


def sync(paths: list[Path], timeout_s: float | None = None) -> list[tuple[Path, bool, str]]:
    """Upload offline W&B run folders with `wandb sync`; a failure is reported, never raised.

    Args:
        paths: Offline run folders (see `offline_runs`).
        timeout_s: Limit per run dir (default SYNC_TIMEOUT_S); after one timeout the rest are
            skipped, since the network is down.

    Returns:
        (folder, uploaded, one-line message) per folder, in the order given.
    """
    timeout_s = SYNC_TIMEOUT_S if timeout_s is None else timeout_s
    groups: dict[Path, list[Path]] = {}
    for path in paths:
        groups.setdefault(path.parent, []).append(path)
    messages: dict[Path, str] = {}
    timed_out = False
    for folders in groups.values():
        pending = sorted(f for f in folders if not _synced(f))
        if not pending:
            continue
        message = "skipped: an earlier upload timed out" if timed_out else _upload(pending, timeout_s)
        timed_out = timed_out or message.startswith("timed out")
        messages |= dict.fromkeys(pending, message)
    done = {path: _synced(path) for path in paths}
    uploaded = {True: "uploaded", False: "already uploaded"}
    return [(p, done[p], uploaded[p in messages] if done[p] else messages[p]) for p in paths]
