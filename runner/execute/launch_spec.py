"""Launch specs: a SkyPilot task that runs one sweep on one multi-GPU cloud box, or on N nodes through
Ray, store in a bucket.

run: mixft launch-spec skypilot cocktail_paper --gpus H100:8 --bucket my-mixft-store -o sweep.sky.yaml
     sky jobs launch -n mixft-cocktail-paper sweep.sky.yaml --secret HF_TOKEN --secret WANDB_API_KEY

The store ($MIXFT_HOME) lives in a bucket mounted on the box, so a box that is preempted loses
nothing the store holds: the managed job gets a new box and reruns `mixft sweep`, which skips the
runs that are done and resumes the interrupted ones from their checkpoints. With `--nodes N` every
node mounts the bucket at the same path; the head node (rank 0) starts a Ray cluster the others
join and runs the sweep through the Ray executor (executors/ray.py).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from mixft.runner.errors import ConfigError

# where the bucket is mounted on the box; $MIXFT_HOME points here
STORE_MOUNT = "/mixft-store"
# the venv setup builds; mixft needs Python >= 3.11, which uv provides whatever the image ships
VENV = "$HOME/mixft-venv"
PYTHON = "3.11"
# secrets passed when they are set in the shell that writes the spec (names only, never values)
DEFAULT_SECRETS = ("HF_TOKEN", "WANDB_API_KEY")
# SkyPilot store types that can be mounted read-write (sky.data.storage.StoreType, lower case)
STORES = ("s3", "gcs", "azure", "r2", "ibm", "oci", "nebius", "coreweave")
# the Ray cluster of a multi-node task; SkyPilot's own runtime uses 6380 (and must not be `ray stop`ped)
RAY_PORT = 6379
# MOUNT streams to the bucket but cannot append or rename folders; MOUNT_CACHED writes through
# a local disk cache and uploads in the background, which the store's logs and caches need
MOUNT_MODES = ("MOUNT_CACHED", "MOUNT")

_GPUS = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)(?::([0-9]+))?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SkyPilotOptions:
    """What the SkyPilot task asks for, besides the sweep and its overrides."""

    bucket: str
    gpus: str = "H100:8"
    store: str = "s3"
    mount_mode: str = "MOUNT_CACHED"
    spot: bool = False
    disk_size: int = 512  # GB of boot disk: venv, Hugging Face cache, model weights
    gpus_per_run: int = 1
    secrets: list[str] = field(default_factory=list)
    workdir: str = "."
    nodes: int = 1  # > 1: a Ray cluster of this many boxes, each with `gpus`


def parse_gpus(text: str) -> tuple[str, int]:
    """Split `NAME[:COUNT]` (H100:8, A100-80GB:4, L4) into the accelerator name and a count >= 1."""
    match = _GPUS.match(text.strip())
    count = int(match.group(2)) if match and match.group(2) is not None else 1
    if match is None or count < 1:
        raise ConfigError(f"--gpus {text!r}: give NAME:COUNT with COUNT >= 1, as H100:8 or A100-80GB:4")
    return match.group(1), count


def secret_names(requested: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the secrets to pass: those requested, plus HF_TOKEN/WANDB_API_KEY when set here.

    Only names are returned; values stay in the environment and reach the box through
    `sky jobs launch --secret NAME`.
    """
    env = os.environ if environ is None else environ
    names = list(dict.fromkeys([*requested, *(n for n in DEFAULT_SECRETS if env.get(n))]))
    for name in names:
        if not _ENV_NAME.match(name):
            # never echo what was given: it may be the secret itself
            raise ConfigError("--secret takes a variable name such as HF_TOKEN, never its value")
    return names


def _check(sweep: str, opts: SkyPilotOptions, count: int) -> None:
    """Reject options the box could not use, before anyone pays for it."""
    if "://" in opts.bucket or not _BUCKET.match(opts.bucket):
        raise ConfigError(
            f"--bucket {opts.bucket!r}: give a bucket name (3-63 lower-case letters, digits, '.', '-'), "
            "not a URL; --store picks the cloud"
        )
    if opts.store not in STORES:
        raise ConfigError(f"--store {opts.store!r}: choose from {', '.join(STORES)}")
    if opts.mount_mode not in MOUNT_MODES:
        raise ConfigError(f"--mount-mode {opts.mount_mode!r}: choose from {', '.join(MOUNT_MODES)}")
    if opts.disk_size < 1:
        raise ConfigError(f"--disk-size {opts.disk_size}: give the boot disk size in GB, >= 1")
    if not 1 <= opts.gpus_per_run <= count:
        raise ConfigError(f"--gpus-per-run {opts.gpus_per_run}: the box has {count} GPUs; give 1..{count}")
    if opts.nodes < 1:
        raise ConfigError(f"--nodes {opts.nodes}: give the number of boxes, >= 1 (1: one box, no Ray)")
    if ("/" in sweep or sweep.endswith((".yaml", ".yml"))) and (
        os.path.isabs(sweep) or os.path.normpath(sweep).startswith("..")
    ):
        raise ConfigError(
            f"sweep file {sweep}: the box sees only the workdir; give a path inside it, relative to it"
        )


def sweep_command(sweep: str, overrides: Sequence[str], gpus_per_run: int = 1, ray: bool = False) -> str:
    """The `mixft sweep` line the box (or the Ray cluster's head) runs, every argument shell-quoted."""
    args = [f"{VENV}/bin/mixft", "sweep", sweep, *(["--executor", "ray"] if ray else ["--gpus", "all"])]
    if gpus_per_run > 1:
        args += ["--gpus-per-run", str(gpus_per_run)]
    args += overrides  # Hydra's grammar has no override that starts with '-'
    # VENV holds $HOME, which the shell must expand: keep it outside the quotes
    return f'"{args[0]}" ' + " ".join(shlex.quote(arg) for arg in args[1:])


def _setup(extras: str = "gpu") -> str:
    return "\n".join(
        [
            "set -euo pipefail",
            "command -v uv >/dev/null || curl -LsSf https://astral.sh/uv/install.sh | sh",
            'export PATH="$HOME/.local/bin:$PATH"',
            f'[ -x "{VENV}/bin/python" ] || uv venv --python {PYTHON} "{VENV}"',
            f'uv pip install --python "{VENV}/bin/python" -e ".[{extras}]"',  # DeepSpeed and bitsandbytes for the GPU recipes
            "",
        ]
    )


def cluster_run(sweep_line: str) -> str:
    """The `run` of a multi-node task: every node joins one Ray cluster; the head runs `sweep_line`.

    The head (rank 0) starts Ray in the background and ends it when the sweep ends (by its pid: `ray
    stop` would stop SkyPilot's runtime too), then exits with the sweep's code; a worker joins once the
    head answers and leaves when the head's Ray has gone.
    """
    return "\n".join(
        [
            "set -euo pipefail",
            'HEAD_IP="$(echo "$SKYPILOT_NODE_IPS" | head -n1)"',
            f'export RAY_ADDRESS="$HEAD_IP:{RAY_PORT}"',
            f'RAY="{VENV}/bin/ray"',
            'if [ "$SKYPILOT_NODE_RANK" = 0 ]; then',
            f'  "$RAY" start --head --port {RAY_PORT} --disable-usage-stats --block &',
            "  RAY_PID=$!",
            '  until "$RAY" status --address "$RAY_ADDRESS" >/dev/null 2>&1; do',
            '    kill -0 "$RAY_PID" || exit 1',  # Ray did not start: its output is above
            "    sleep 5",
            "  done",
            "  code=0",
            f"  {sweep_line} || code=$?",
            '  kill "$RAY_PID" && wait "$RAY_PID" || true',
            '  exit "$code"',
            "fi",
            "for try in $(seq 120); do",  # up to 10 minutes for the head to start
            '  "$RAY" status --address "$RAY_ADDRESS" >/dev/null 2>&1 && break',
            "  sleep 5",
            "done",
            '"$RAY" start --address "$RAY_ADDRESS" --disable-usage-stats --block || true',
            "",
        ]
    )


def task_config(name: str, sweep: str, overrides: Sequence[str], opts: SkyPilotOptions) -> dict[str, Any]:
    """The SkyPilot task as a mapping, in the field order of SkyPilot's docs.

    Args:
        name: The sweep's name (from its file); names the task.
        sweep: The sweep as the box's `mixft sweep` gets it: a packaged name or a workdir path.
        overrides: Hydra overrides passed on to `mixft sweep`.
        opts: Accelerators, bucket, disk, secrets.

    Returns:
        A mapping that dumps to a task YAML `sky jobs launch` accepts.
    """
    accelerator, count = parse_gpus(opts.gpus)
    _check(sweep, opts, count)
    config: dict[str, Any] = {
        "name": "mixft-" + re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-"),
        "workdir": opts.workdir,
        **({"num_nodes": opts.nodes} if opts.nodes > 1 else {}),
        "resources": {
            "accelerators": f"{accelerator}:{count}",
            "use_spot": opts.spot,
            "disk_size": opts.disk_size,
        },
        "file_mounts": {
            STORE_MOUNT: {
                "name": opts.bucket,
                "store": opts.store,
                "mode": opts.mount_mode,
                "persistent": True,
            }
        },
        "envs": {"MIXFT_HOME": STORE_MOUNT},
    }
    names = secret_names(opts.secrets)
    if names:
        config["secrets"] = dict.fromkeys(names)  # null: the value comes from `--secret NAME`
    if opts.nodes == 1:
        config["setup"] = _setup()
        config["run"] = sweep_command(sweep, overrides, opts.gpus_per_run) + "\n"
        return config
    config["setup"] = _setup("gpu,ray")
    config["run"] = cluster_run(sweep_command(sweep, overrides, opts.gpus_per_run, ray=True))
    return config


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (setup, run) as literal blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def _header(config: dict[str, Any], runs: int, sweep: str, target: str) -> str:
    flags = "".join(f" --secret {name}" for name in config.get("secrets", {}))
    where = "    (from the repo root)" if config["workdir"] == "." else ""
    nodes = config.get("num_nodes", 1)
    if nodes == 1:
        what = f"`: {runs} runs on one box.\n"
        lost = "the box is preempted\n# or fails, SkyPilot starts a new one"
    else:
        what = (
            f" --nodes {nodes}`: {runs} runs on {nodes} boxes, one Ray cluster.\n"
            f"# The head (rank 0) starts Ray on port {RAY_PORT} (SkyPilot's own uses 6380), the others join\n"
            "# it, the head runs `mixft sweep --executor ray`; every node mounts the bucket at one path.\n"
        )
        lost = "a box is preempted\n# or fails, SkyPilot starts the nodes again"
    return (
        f"# run: sky jobs launch -n {config['name']} {target}{flags}{where}\n"
        f"# Written by `mixft launch-spec skypilot {sweep}{what}"
        f"# Launch it as a managed job (`sky jobs launch`, not `sky launch`): when {lost}"
        ", mounts the same bucket and reruns `run`; `mixft sweep`\n"
        "# then skips the runs that are done and resumes interrupted ones from their checkpoints.\n"
        "# workdir uploads the repo (minus .gitignore'd files); setup installs it into a venv.\n"
        "# Secrets are named here, never written: `--secret NAME` sends $NAME from your shell.\n"
        "# Needs SkyPilot >= 0.10 (the `secrets:` field); checked with 0.10.0 and 0.14.1.\n"
    )


def skypilot_spec(
    sweep: str, overrides: Sequence[str], opts: SkyPilotOptions, target: str = "TASK.yaml"
) -> str:
    """Write the SkyPilot task YAML that runs `sweep` on one box (or a Ray cluster of boxes), store in a bucket.

    Args:
        sweep: A packaged sweep name or a sweep file inside the workdir.
        overrides: Hydra overrides, as for `mixft sweep`; they are checked by planning the sweep.
        opts: What the task asks for.
        target: The file name the header's launch line shows.

    Returns:
        The YAML text, a header of comments first.

    Raises:
        ConfigError: An unknown sweep, a bad override or a bad option.
    """
    from mixft.runner.plan.grid import expand
    from mixft.runner.plan.sweepfile import load_sweep

    spec = load_sweep(sweep)
    plan = expand(spec, overrides)
    config = task_config(spec.name, sweep, overrides, opts)
    body = yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
    return _header(config, len(plan.runs), sweep, target) + body
