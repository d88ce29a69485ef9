"""Device slots of this host: K GPUs per run, or CPU workers with the cores split between them.

run: mixft sweep smoke --gpus none --max-parallel 2    (two CPU workers, one thread each on 2 cores)
run: mixft sweep smoke --procs-per-run 2               (one CPU worker of 2 processes, a thread each)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from mixft.runner.errors import ConfigError


@dataclass
class Slot:
    name: str
    # environment a run in this slot gets (CUDA_VISIBLE_DEVICES, thread counts)
    env: dict[str, str] = field(default_factory=dict)
    gpus: int = 0
    # bytes of memory of each of its GPUs (the least of them); None: unknown, or a CPU slot
    memory: float | None = None
    # processes a run in this CPU slot trains on (P > 1: torchrun, DDP over gloo)
    procs: int = 1


def parse_gpu_list(text: str) -> list[int]:
    """'0-3,6' -> [0, 1, 2, 3, 6]."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                ids.extend(range(low, high + 1))
            elif part:
                ids.append(int(part))
        except ValueError:
            raise ConfigError(f"--gpus {text!r}: use all, none, or ids such as 0-3,6") from None
    if len(set(ids)) != len(ids):
        raise ConfigError(f"--gpus {text!r} names a GPU twice")
    return ids


# nvidia-smi's GPU index is its PCI bus order; CUDA numbers GPUs fastest first unless told otherwise,
# so every run is told: CUDA_VISIBLE_DEVICES=2 is then the GPU nvidia-smi calls 2 (and sized as it)
DEVICE_ORDER = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
GPU_QUERY = ["nvidia-smi", "--query-gpu=index,memory.total,mig.mode.current", "--format=csv,noheader,nounits"]


@dataclass(frozen=True)
class Gpu:
    # bytes of memory; None where nvidia-smi reports none
    memory: float | None
    # split into MIG slices: memory.total is then the whole GPU's, and its index shows a run no slice
    mig: bool = False


def parse_gpu_query(text: str) -> dict[int, Gpu]:
    """Each GPU by its index, from `nvidia-smi --query-gpu=index,memory.total,mig.mode.current
    --format=csv,noheader,nounits` (memory in MiB; MIG mode "[N/A]" where the GPU has none)."""
    gpus: dict[int, Gpu] = {}
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) >= 2 and fields[0].isdigit():
            memory = float(fields[1]) * 2**20 if fields[1].isdigit() else None
            gpus[int(fields[0])] = Gpu(memory, len(fields) > 2 and fields[2].lower() == "enabled")
    return gpus


def query_gpus() -> dict[int, Gpu]:
    """This host's GPUs as nvidia-smi lists them (GPU_QUERY); none without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return {}
    return parse_gpu_query(subprocess.run(GPU_QUERY, capture_output=True, text=True, check=False).stdout)


def visible_gpus() -> list[int]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES if set, else the indexes nvidia-smi lists."""
    preset = os.environ.get("CUDA_VISIBLE_DEVICES")
    if preset is not None:
        return parse_gpu_list(preset) if preset.strip() else []
    return sorted(query_gpus())


def gpu_memory(ids: list[int]) -> dict[int, float]:
    """Bytes of memory of each of `ids` nvidia-smi reports (empty without nvidia-smi).

    Raises:
        ConfigError: one of them is split into MIG slices (mixft places runs on whole GPUs).
    """
    gpus = query_gpus()
    for index in ids:
        if index in gpus and gpus[index].mig:
            raise ConfigError(
                f"GPU {index} is split into MIG slices, which mixft does not place runs on; "
                f"leave it out with --gpus, or turn MIG off (nvidia-smi -i {index} -mig 0)"
            )
    return {index: gpu.memory for index, gpu in gpus.items() if gpu.memory}


def leftover_gpus(ids: list[int], gpus_per_run: int) -> list[int]:
    """The GPUs no run gets: those past the last whole group of `gpus_per_run`."""
    return ids[len(ids) - len(ids) % gpus_per_run :] if gpus_per_run > 0 and len(ids) % gpus_per_run else []


def select_gpus(gpus: str) -> list[int]:
    """The GPU ids `--gpus` names: "all" (what this process may use), "none", or a list."""
    return visible_gpus() if gpus == "all" else [] if gpus == "none" else parse_gpu_list(gpus)


def device_slots(
    gpus: str,
    gpus_per_run: int,
    max_parallel: int | None,
    cores: int | None = None,
    memory_gb: float | None = None,
    procs_per_run: int = 1,
) -> list[Slot]:
    """The slots runs are placed in.

    Args:
        gpus: "all", "none" or a list such as "0-3,6".
        gpus_per_run: GPUs each run gets (K > 1 runs launch through accelerate).
        max_parallel: Most runs at once; None: one per slot (CPU: one per core, at most 4).
        cores: CPU cores to split between CPU workers (default: this host's).
        memory_gb: Memory of each GPU in GB; None: what nvidia-smi says (ids as CUDA numbers them
            when CUDA_VISIBLE_DEVICES is unset).
        procs_per_run: Processes each CPU run trains on; the cores are split between all of them.

    Raises:
        ConfigError: a bad GPU list, more GPUs per run than GPUs, or procs_per_run > 1 on GPUs.
    """
    ids = select_gpus(gpus)
    if ids:
        if procs_per_run > 1:
            raise ConfigError(
                f"--procs-per-run {procs_per_run} is for runs on CPU and this sweep runs on GPUs {ids}; "
                "use --gpus-per-run, or --gpus none"
            )
        if gpus_per_run > len(ids):
            raise ConfigError(f"--gpus-per-run {gpus_per_run} but only {len(ids)} GPUs: {ids}")
        groups = [ids[i : i + gpus_per_run] for i in range(0, len(ids) - gpus_per_run + 1, gpus_per_run)]
        groups = groups[: max_parallel or len(groups)]
        sizes = {} if memory_gb is not None else gpu_memory([i for g in groups for i in g])

        def memory(group: list[int]) -> float | None:
            if memory_gb is not None:
                return memory_gb * 1e9
            known = [sizes[i] for i in group if i in sizes]
            return min(known) if len(known) == len(group) else None

        return [
            Slot(
                f"gpu{','.join(map(str, g))}",
                {"CUDA_VISIBLE_DEVICES": ",".join(map(str, g)), **DEVICE_ORDER},
                len(g),
                memory(g),
            )
            for g in groups
        ]
    cores = cores or os.cpu_count() or 1
    # tiny models run faster on one thread each (measured 90 vs 147 ms a step with two)
    fits = max(1, cores // procs_per_run)  # runs whose processes get a core each
    workers = max(1, min(max_parallel or min(fits, 4), fits))
    threads = str(max(1, cores // (workers * procs_per_run)))
    env = {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, **DEVICE_ORDER}
    return [Slot(f"cpu{i}", dict(env), procs=procs_per_run) for i in range(workers)]
