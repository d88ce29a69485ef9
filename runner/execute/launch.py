"""How one run's process starts: in place, or through `accelerate launch` (several GPUs, DeepSpeed).

run: mixft sweep cocktail_paper --gpus 0-7 --gpus-per-run 2    (each run: accelerate on 2 processes)

Every executor asks `needs_launcher` and starts `launch_command` when it says so: a run on K > 1 GPUs
(DDP), or one that trains with DeepSpeed, which needs a launcher's rank environment even on one GPU.
"""

from __future__ import annotations

import sys
from importlib.resources import files

ENTRY = "mixft.runner.execute.entry"  # python -m ENTRY RUN_ID [--sweep NAME]: one run, by id


def needs_launcher(gpus: int, deepspeed: str | None) -> bool:
    """True when a run on `gpus` GPUs that trains with `deepspeed` (training.deepspeed) needs
    `accelerate launch`."""
    return gpus > 1 or (gpus > 0 and deepspeed is not None)


def entry_args(run_id: str, sweep: str | None) -> list[str]:
    """The arguments of the run entry point after `python -m ENTRY`."""
    return [run_id, *(["--sweep", sweep] if sweep else [])]


def launch_command(
    run_id: str, sweep: str | None, gpus: int, deepspeed: bool, port: int | None = None
) -> list[str]:
    """`accelerate launch` of one run on `gpus` GPUs: DDP, or DeepSpeed when the run trains with it
    (conf/accelerate/deepspeed_zero2.yaml; the ZeRO settings come from training.deepspeed's JSON).
    `port`: the main process's port, where several runs may share a node (Ray); None: accelerate's."""
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
