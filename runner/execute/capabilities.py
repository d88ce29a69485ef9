"""What the machine that runs a sweep's runs can do: settings that need hardware or packages, asked of
the same function a run asks (one owner each), once, where the runs execute.

run: mixft sweep smoke training.precision=fp16    (a host without CUDA: one line, exit 2, nothing started)

The local executor's runs execute on this host: its pre-flight asks each function for the device the
runs will get (the executor's first slot: CUDA GPUs, or CPU processes) and refuses the first setting
that cannot run here, before any run starts. On SLURM or Ray the submitting host is not the one that
trains: there the first run that fails with a ConfigError naming one of these settings (`blocked`)
stops the sweep from launching further runs that `need` it (ray_driver.py).

fp16 needs CUDA; DeepSpeed needs its package, and without CUDA a run over several CPU processes
(`--procs-per-run 2`); QLoRA needs bitsandbytes quantising on the device (checked in a process of its
own on the slot's device, as a run would); eval.engine=vllm needs vLLM and a device it runs on.
flash_attention_2 without CUDA or flash-attn runs with sdpa instead: a warning, not a refusal.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from mixft.runner.config.executors import LocalConfig
from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate.engines import engine_for
from mixft.runner.execute.work import needs_training
from mixft.runner.paths import training_dir
from mixft.runner.plan.grid import PlannedRun
from mixft.runner.train.models import flash_attention_problem
from mixft.runner.train.precision import precision_problem
from mixft.runner.train.trl_adapter import deepspeed_problem

log = logging.getLogger(__name__)

# asks runner/train/precision.py's qlora_problem in a process on the slot's device (argv[1]: cpu, cuda)
QLORA_PROBE = "import sys; from mixft.runner.train.precision import qlora_problem; print(qlora_problem(sys.argv[1]) or '')"
PROBE_TIMEOUT_S = 600  # importing torch and bitsandbytes on a loaded host takes seconds, not minutes


@dataclass(frozen=True)
class Device:
    """What a run gets where it executes."""

    cuda: bool  # CUDA GPUs
    cpu_processes: int  # processes a CPU run trains on (--procs-per-run)
    env: tuple[tuple[str, str], ...] = ()  # its slot's environment (CUDA_VISIBLE_DEVICES, threads)


def local_device(settings: LocalConfig) -> Device:
    """The device runs of the local executor get: its first slot (the slots of a sweep are alike)."""
    from mixft.runner.execute.executors.local import LocalExecutor

    slot = LocalExecutor(settings).slots()[0]
    return Device(slot.gpus > 0, slot.procs, tuple(sorted(slot.env.items())))


@functools.cache
def qlora_on(device: Device) -> str | None:
    """training.method=qlora's problem on `device` (precision.qlora_problem), asked in a process with
    the slot's environment: bitsandbytes and a CUDA context stay out of the sweep's own process."""
    command = [sys.executable, "-c", QLORA_PROBE, "cuda" if device.cuda else "cpu"]
    env = {**os.environ, **dict(device.env)}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"training.method=qlora: bitsandbytes' check took over {PROBE_TIMEOUT_S} s here; use training.method=lora"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return f"training.method=qlora: bitsandbytes' check failed here ({last}); use training.method=lora"
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else None


def needs(cfg: Config, trains: bool) -> list[str]:
    """The settings of a run that need something of the machine, as `key=value`."""
    t, wanted = cfg.training, []
    if trains:
        if t.precision in ("fp16", "bf16"):
            wanted.append(f"training.precision={t.precision}")
        if t.deepspeed is not None:
            wanted.append(f"training.deepspeed={t.deepspeed}")
        if t.method == "qlora":
            wanted.append("training.method=qlora")
    if cfg.eval.engine == "vllm":
        wanted.append("eval.engine=vllm")
    return wanted


def problems(cfg: Config, trains: bool, device: Device) -> list[tuple[str, str]]:
    """(setting, why it cannot run on `device`) for each setting of the run that cannot."""
    t, found = cfg.training, []
    if trains:
        found.append((f"training.precision={t.precision}", precision_problem(t.precision, device.cuda)))
        found.append(
            (
                f"training.deepspeed={t.deepspeed}",
                deepspeed_problem(t.deepspeed, device.cuda, device.cpu_processes),
            )
        )
        if t.method == "qlora":
            found.append(("training.method=qlora", qlora_on(device)))
    if cfg.eval.engine == "vllm":
        found.append(("eval.engine=vllm", engine_for("vllm").unusable(cfg)))
    return [(setting, why) for setting, why in found if why is not None]


def check_local(runs: Iterable[PlannedRun]) -> None:
    """Pre-flight of the runs the local executor runs: every setting they need, this host has.

    Raises:
        ConfigError: one line with the first setting this host cannot run, what is missing, and how
            many runs ask for it; nothing has started.
    """
    local = [run for run in runs if run.config.executor.name == "local"]
    if not local:
        return
    device: Device | None = None  # asked of the executor's slots only when a run needs something
    refused: dict[str, tuple[str, int]] = {}
    warned: set[str] = set()
    for run in local:
        trains, model = needs_training(run.config, training_dir(run.id)), run.config.model
        if not needs(run.config, trains) and model.attn_implementation != "flash_attention_2":
            continue
        device = device or local_device(local[0].config.executor)
        for setting, why in problems(run.config, trains, device):
            refused[setting] = (why, refused.get(setting, (why, 0))[1] + 1)
        slow = flash_attention_problem(model.attn_implementation, device.cuda)
        if slow is not None and model.name not in warned:  # sdpa runs it: say so once, refuse nothing
            warned.add(model.name)
            log.warning("model %s: %s; its runs use sdpa", model.name, slow)
    if refused:
        (setting, (why, count)), *others = refused.items()
        also = f"; {', '.join(other for other, _ in others)} cannot run here either" if others else ""
        raise ConfigError(
            f"{why} ({count} of the sweep's runs ask for it on this host, {socket.gethostname()}{also}; "
            "nothing was started)"
        )


def blocked(run: PlannedRun, error: str | None) -> str | None:
    """The setting a failed run's last error line blames, when it is a ConfigError naming a setting
    the run needs of its machine (`needs`); None for any other failure."""
    if not error or "ConfigError" not in error:
        return None
    trains = needs_training(run.config, training_dir(run.id))
    return next((setting for setting in needs(run.config, trains) if setting in error), None)
