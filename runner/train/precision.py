"""Numeric precision of a training on this machine: the autocast dtype `training.precision` resolves
to, and QLoRA's 4-bit settings (bitsandbytes NF4, on CUDA or on the CPU).

run: mixft sweep smoke training.precision=bf16    (or training.method=qlora, on a CPU too)

bf16 autocast runs on CUDA GPUs that have it and on any CPU (torch's CPU autocast); a CPU with
AVX512_BF16 or AMX computes it natively, others emulate it; `auto` takes it on a CPU only with AMX.
fp16 autocast needs CUDA.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from mixft.runner.errors import ConfigError

log = logging.getLogger(__name__)
# On a CPU with AVX512_BF16, importing bitsandbytes (peft does, in every run) asks the Hugging Face
# hub for an optional kernel, is refused (untrusted publisher, or offline) and logs two warnings,
# then uses the kernels it ships: they say nothing about the run, so only their errors show.
for _name in ("bitsandbytes.backends.cpu.ops", "kernels._internals.hf_hub"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def cpu_bf16() -> str:
    """How this CPU computes bf16: "amx" (AMX tiles), "avx512" (AVX512_BF16 only) or "emulated".

    From torch's cpuinfo flags. Measured (docs/benchmarks.md, bf16_speed): bf16 autocast trains a
    hidden-512 model faster than fp32 with AMX, slower with AVX512_BF16 alone (oneDNN's bf16 matrix
    products without AMX lose to fp32's); the tiny smoke model is faster in fp32 on both.
    """
    import torch

    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        return "amx"
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "avx512"
    return "emulated"


def precision_problem(precision: str, cuda: bool, gpu_bf16: bool = True) -> str | None:
    """Why `training.precision` cannot train where a run executes (one line), or None.

    The one owner of the rule: a run asks it on its device, and the pre-flight of a local sweep asks it
    for the device its runs will get (runner/execute/capabilities.py).

    Args:
        precision: training.precision.
        cuda: The run trains on a CUDA GPU.
        gpu_bf16: That GPU computes bf16 (unknown before a run starts: True).
    """
    if precision == "fp16" and not cuda:
        return "training.precision=fp16 needs a CUDA GPU; on a CPU use training.precision=bf16, fp32 or auto"
    if precision == "bf16" and cuda and not gpu_bf16:
        return "training.precision=bf16: this GPU has no bf16; use training.precision=fp16 or auto"
    return None


def resolve_precision(precision: str) -> str:
    """The autocast dtype `training.precision` means here: "bf16", "fp16" or "fp32".

    auto: bf16 on a CUDA GPU that has it and on a CPU with AMX (where it is the faster, see
    `cpu_bf16`); fp32 otherwise. The config keeps "auto" (run ids hash it); the run's training
    metrics record what it resolved to (train/bf16, train/fp16).

    Raises:
        ConfigError: fp16 without CUDA, or bf16 on a GPU without it.
    """
    import torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        fast = torch.cuda.is_bf16_supported() if cuda else cpu_bf16() == "amx"
        return "bf16" if fast else "fp32"
    problem = precision_problem(precision, cuda, gpu_bf16=cuda and torch.cuda.is_bf16_supported())
    if problem is not None:
        raise ConfigError(problem)
    if precision == "bf16" and not cuda and cpu_bf16() == "emulated":
        log.warning("this CPU has no AVX512_BF16 or AMX: bf16 autocast is emulated (slow)")
    return precision


def precision_flags(precision: str) -> dict[str, bool]:
    """SFTConfig's bf16/fp16 flags for `training.precision` on this machine (see resolve_precision)."""
    resolved = resolve_precision(precision)
    return {"bf16": resolved == "bf16", "fp16": resolved == "fp16"}


def compute_dtype() -> Any:
    """The dtype 4-bit layers compute in: bf16 where the device is fast at it (a GPU with bf16, a CPU
    with AMX), else fp16 on CUDA and fp32 on a CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_bf16() == "amx" else torch.float32


@functools.cache
def four_bit_problem(device: str) -> str | None:
    """Why bitsandbytes cannot quantise to NF4 on `device` ("cpu", "cuda"), or None when it can.

    Quantises a small tensor with double quantisation and checks the round trip: a build without a
    backend for the device fails here, in seconds, instead of when the model loads.
    """
    try:
        import bitsandbytes.functional as bnbf
        import torch
    except ImportError:
        return "the bitsandbytes package is not installed (pip install bitsandbytes)"
    try:
        # 4 blocks of 64 values, the NF4 block size; absmax quantised too (double quantisation)
        x = torch.linspace(-1.0, 1.0, 256, device=device).reshape(4, 64)
        packed, state = bnbf.quantize_4bit(x, quant_type="nf4", compress_statistics=True)
        error = (bnbf.dequantize_4bit(packed, state).float() - x).abs().max().item()
    except Exception as exc:  # any failure of the library means: no 4-bit here
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"bitsandbytes cannot quantise on {device} ({reason})"
    # NF4 has 16 levels in [-1, 1]: the widest gap between neighbours is ~0.28
    return None if error < 0.2 else f"bitsandbytes' NF4 round trip on {device} is off by {error:.2f}"


def qlora_problem(device: str) -> str | None:
    """Why training.method=qlora cannot train on `device` ("cpu", "cuda"), one line, or None.

    The one owner of the rule: a run asks it on its device, and the pre-flight of a local sweep asks it
    in a process on the device its runs will get (runner/execute/capabilities.py).
    """
    problem = four_bit_problem(device)
    return None if problem is None else f"training.method=qlora: {problem}; use training.method=lora here"


def four_bit_config() -> Any:
    """transformers' BitsAndBytesConfig for QLoRA: NF4, double quantisation, `compute_dtype()`.

    Raises:
        ConfigError: bitsandbytes cannot quantise on this machine's training device.
    """
    import torch
    from transformers import BitsAndBytesConfig

    device = "cuda" if torch.cuda.is_available() else "cpu"
    problem = qlora_problem(device)
    if problem is not None:
        raise ConfigError(problem)
    dtype = compute_dtype()
    log.info("QLoRA: NF4 with double quantisation on %s, computing in %s", device, dtype)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=dtype,
    )
