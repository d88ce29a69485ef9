"""How one run's process starts: in place, or through a launcher (several GPUs or CPU processes, DeepSpeed).

run: mixft sweep cocktail_paper --gpus 0-7 --gpus-per-run 2    (each run: accelerate on 2 processes)
run: mixft sweep smoke --procs-per-run 2                       (each run: torchrun, 2 CPU processes)

Every executor asks `needs_launcher` and starts `launch_command` when it says so: a run on K > 1 GPUs
(DDP), one that trains with DeepSpeed, which needs a launcher's rank environment even on one GPU, or
a CPU run on P > 1 processes. On GPUs the launcher is `accelerate launch`; on CPU it is torchrun
(`python -m torch.distributed.run`), because `accelerate launch --cpu` starts one process only. Each
launch is given its own rendezvous port, so runs that share a host do not meet.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from importlib.resources import files

ENTRY = "mixft.runner.execute.entry"  # python -m ENTRY RUN_ID [--sweep NAME]: one run, by id
# loopback for gloo's sockets: its default (the address the hostname resolves to) fails on some hosts
LOOPBACK = "lo"


def needs_launcher(gpus: int, deepspeed: str | None, procs: int = 1) -> bool:
    """True when a run on `gpus` GPUs (0: CPU) and `procs` CPU processes that trains with `deepspeed`
    (training.deepspeed) needs a launcher."""
    if gpus == 0:
        return procs > 1
    return gpus > 1 or deepspeed is not None


def entry_args(run_id: str, sweep: str | None) -> list[str]:
    """The arguments of the run entry point after `python -m ENTRY`."""
    return [run_id, *(["--sweep", sweep] if sweep else [])]


def launch_command(
    run_id: str, sweep: str | None, gpus: int, deepspeed: bool, port: int | None = None, procs: int = 1
) -> list[str]:
    """The launcher command of one run: `accelerate launch` on `gpus` GPUs (DDP, or DeepSpeed when the
    run trains with it: conf/accelerate/deepspeed_zero2.yaml, the ZeRO settings from training.deepspeed's
    JSON), or torchrun on `procs` CPU processes when `gpus` is 0 (DDP over gloo; with DeepSpeed the
    trainer takes its JSON). `port`: the rendezvous port, where several runs may share a host; None:
    the launcher's default."""
    if gpus == 0:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes",
            "1",
            "--nproc-per-node",
            str(procs),
            "--master-addr",
            "127.0.0.1",
            *(["--master-port", str(port)] if port is not None else []),
            "-m",
            ENTRY,
            *entry_args(run_id, sweep),
        ]
    config = str(files("mixft.conf.accelerate").joinpath("deepspeed_zero2.yaml" if deepspeed else "ddp.yaml"))
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        config,
        "--num_processes",
        str(gpus),
        *(["--main_process_port", str(port)] if port is not None else []),
        "-m",
        ENTRY,
        *entry_args(run_id, sweep),
    ]


def launch_env(gpus: int, deepspeed: bool = False) -> dict[str, str]:
    """Environment a launched run needs besides its slot's: on CPU, accelerate's CPU mode (without it
    each process trains alone, DistributedType.NO), gloo on loopback, DeepSpeed's CPU accelerator."""
    if gpus > 0:
        return {}
    env = {"TOKENIZERS_PARALLELISM": "false"}
    if sys.platform.startswith("linux") and "GLOO_SOCKET_IFNAME" not in os.environ:
        env["GLOO_SOCKET_IFNAME"] = LOOPBACK
    # accelerate's CPU mode turns DeepSpeed off: DeepSpeed's CPU accelerator takes its place
    return env | ({"DS_ACCELERATOR": "cpu"} if deepspeed else {"ACCELERATE_USE_CPU": "1"})


def die_with_launcher() -> None:
    """In a process torchrun started: be killed when the launcher dies (Linux; nothing elsewhere).

    torchrun starts each rank in a session of its own, so a SIGKILL of the launcher's process group
    would leave the ranks training, holding the run's claim and writing its store.
    """
    if "TORCHELASTIC_RUN_ID" not in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the launcher died before the line above
        os._exit(137)
