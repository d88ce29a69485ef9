"""Starting W&B runs: mode (online needs credentials and a server, else offline), init, settings.

run: mixft sweep smoke tracker=wandb    (no credentials: offline, upload later with `mixft sync`)

Shared by run tracking (tracking/wandb.py) and W&B side runs (tracking/wandb_side.py).
"""

from __future__ import annotations

import logging
import netrc
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mixft.runner.tracking.base import one_line

log = logging.getLogger(__name__)

INIT_TIMEOUT_S = 30.0  # a server that accepts connections but does not answer: offline after this long
PROBE_TIMEOUT_S = 3.0  # a server no TCP connection reaches (refused, no route): offline after this long
DEFAULT_BASE_URL = "https://api.wandb.ai"
FINISH_TIMEOUT_S = 300.0  # a dead network cannot hold a run at its end (resend: wandb sync --include-online)
CREDENTIAL_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")  # wandb 0.31's default and its upstream
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
                one_line(exc),
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
