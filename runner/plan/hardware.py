"""The hardware a plan's GPU-hours assume, and model FLOPs per token.

run: mixft plan cocktail_paper --gpu H100 --mfu 0.4    |    mixft plan smoke --gpu MI300X --peak-tflops 1307

Model FLOPs, as in MFU (PaLM, Chowdhery et al. 2022, app. B): N parameters cost ~2N FLOPs per token
forward and 4N backward (2N activation gradients + 2N weight gradients), so full fine-tuning is
6 x N x tokens. LoRA freezes the base: the backward pass still carries activation gradients through
it (2N) but computes no weight gradients for it, so LoRA and QLoRA are ~4 x N x tokens (adapter FLOPs,
< 1% at r=8, left out). Recomputation under gradient checkpointing (+2N), attention's context term
(~10% at 4k tokens for 7B models) and dequantisation are not counted: they lower the utilisation.
Evaluation (greedy generation) is ~2N per token. Decoding is memory-bound, so eval GPU-hours at a
training MFU are the rougher figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mixft.runner.errors import ConfigError, unknown

# Peak dense tensor-core TFLOP/s (no sparsity) in bf16, fp16 where the GPU has no bf16 (V100, T4),
# from the vendors' datasheets; SXM boards unless the name says otherwise.
GPU_PEAK_TFLOPS: dict[str, float] = {
    "B200": 2250.0,
    "H200": 989.4,
    "H100": 989.4,
    "H100-PCIE": 756.0,
    "A100": 312.0,
    "L40S": 362.1,
    "L40": 181.0,
    "L4": 121.0,
    "A40": 149.7,
    "A10": 125.0,
    # AWS g5: no NVIDIA datasheet; the figure usually quoted (half the A10's rate with fp32 accumulate)
    "A10G": 70.0,
    "A6000": 154.8,
    "RTX4090": 165.2,
    "V100": 125.0,
    "T4": 65.0,
    "MI300X": 1307.4,
    "MI250X": 383.0,
}
# Memory of one GPU in GB (10^9 bytes) from the same datasheets: what `mixft plan --gpu` packs runs into.
GPU_MEMORY_GB: dict[str, float] = {
    "B200": 180.0,
    "H200": 141.0,
    "H100": 80.0,
    "H100-PCIE": 80.0,
    "A100": 80.0,
    "L40S": 48.0,
    "L40": 48.0,
    "L4": 24.0,
    "A40": 48.0,
    "A10": 24.0,
    "A10G": 24.0,
    "A6000": 48.0,
    "RTX4090": 24.0,
    "V100": 32.0,
    "T4": 16.0,
    "MI300X": 192.0,
    "MI250X": 128.0,
}
# GPUs sold with more than one memory size (datasheets), smallest first. A name that says its size
# ("A100-40G", "NVIDIA A100-SXM4-40GB", "Tesla V100-SXM2-16GB") is that size; a bare name (Ray's
# `accelerator_type:A100` is one for both A100s) is the smallest, so a share sized by it is never short.
GPU_MEMORY_VARIANTS_GB: dict[str, tuple[float, ...]] = {
    "A100": (40.0, 80.0),
    "V100": (16.0, 32.0),
    "H100": (80.0, 94.0),
}
# a memory size in a GPU's name: digits not glued to a model letter ("A10G" is a model), then G or GB
SIZE_IN_NAME = re.compile(r"(?<![A-Z0-9])(\d{2,3})\s?GB?(?![A-Z0-9])")
FLOPS_FULL, FLOPS_LORA, FLOPS_INFER = 6, 4, 2  # per parameter per token; see the module docstring


@dataclass(frozen=True)
class Hardware:
    """The GPU the GPU-hours assume, and the share of its peak a run achieves (MFU)."""

    gpu: str
    peak_tflops: float
    mfu: float
    # memory of one GPU in GB; None for a GPU the table does not know
    memory_gb: float | None = None

    def gpu_hours(self, flops: float) -> float:
        """Hours on one GPU: flops / (peak x mfu) / 3600."""
        return flops / (self.peak_tflops * 1e12 * self.mfu) / 3600


def hardware(gpu: str = "H100", mfu: float = 0.4, peak_tflops: float | None = None) -> Hardware:
    """The hardware assumption, checked.

    Args:
        gpu: A name in GPU_PEAK_TFLOPS (any case); any label when `peak_tflops` is given.
        mfu: Model FLOPs utilisation, in (0, 1]; 0.3-0.5 is typical for fine-tuning 7B models.
        peak_tflops: Peak dense TFLOP/s, for a GPU that is not in the table.

    Raises:
        ConfigError: An unknown GPU name (with the nearest one), or an MFU or peak out of range.
    """
    if not 0 < mfu <= 1:
        raise ConfigError(f"--mfu must be a fraction in (0, 1], got {mfu:g}")
    if peak_tflops is not None:
        if peak_tflops <= 0:
            raise ConfigError(f"--peak-tflops must be positive, got {peak_tflops:g}")
        return Hardware(gpu, peak_tflops, mfu)
    name = gpu.strip().upper()
    known = name if name in GPU_PEAK_TFLOPS else gpu_named(name) if SIZE_IN_NAME.search(name) else None
    if known is None:
        raise ConfigError(f"{unknown('GPU', name, GPU_PEAK_TFLOPS)}; or give its peak with --peak-tflops")
    # a bare name means the datasheet's board (A100: 80 GB); "A100-40G" is the 40 GB one
    memory = GPU_MEMORY_GB.get(known) if known == name else gpu_memory_gb(name)
    return Hardware(name, GPU_PEAK_TFLOPS[known], mfu, memory)


def train_flops(num_parameters: int, tokens: float, method: str) -> float:
    """Training FLOPs: 6 x N x tokens for full fine-tuning, 4 x N x tokens for LoRA and QLoRA."""
    return (FLOPS_FULL if method == "full" else FLOPS_LORA) * num_parameters * tokens


def eval_flops(num_parameters: int, tokens: float) -> float:
    """Generation FLOPs: 2 x N per token, prompt and new tokens alike."""
    return FLOPS_INFER * num_parameters * tokens


def gpu_named(device: str) -> str | None:
    """The table's name of a GPU as CUDA names it ("NVIDIA H100 80GB HBM3" -> H100), or None."""
    name = device.upper().replace("NVIDIA ", "").replace("GEFORCE ", "").replace("TESLA ", "")
    name = name.replace(" PCIE", "-PCIE").replace("RTX 4090", "RTX4090").replace("RTX A6000", "A6000")
    words = name.replace("-SXM", " ").split()
    known = [key for key in GPU_PEAK_TFLOPS if key in words or name.startswith(key + "-")]
    return max(known, key=len, default=None)


def gpu_memory_gb(device: str) -> float | None:
    """Memory of one GPU in GB, from its name: the size the name says ("A100-40G", "NVIDIA A100-SXM4-40GB"
    -> 40, "V100-16GB" -> 16), else the smallest board of that model; None for a GPU the table does
    not know."""
    name = gpu_named(device)
    if name is None:
        return None
    size = SIZE_IN_NAME.search(device.upper())
    if size:
        return float(size.group(1))
    return min(GPU_MEMORY_VARIANTS_GB.get(name, (GPU_MEMORY_GB[name],)))


def mfu(parameters: int, tokens_per_s: float, method: str, device: str) -> float | None:
    """Model FLOPs utilisation of a training on a GPU CUDA names `device`: its model FLOPs per second
    (train_flops) over the GPU's dense peak; None for a GPU the table does not know."""
    known = gpu_named(device)
    if known is None or tokens_per_s <= 0:
        return None
    return train_flops(parameters, tokens_per_s, method) / (GPU_PEAK_TFLOPS[known] * 1e12)
