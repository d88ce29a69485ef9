"""The GPU tier's throughput report: filled by tests/gpu/test_tier.py, written as JSON and printed.

run: make test-gpu    (the report: $MIXFT_GPU_REPORT, else gpu-report.json beside the tier's store)

MFU is model FLOPs per second over the GPU's dense bf16 peak from plan/hardware.py's table: 6 x N
per token for full fine-tuning, 4 x N for LoRA and QLoRA (plan/hardware.py says why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mixft.runner.plan import hardware

REPORT: dict[str, Any] = {"runs": []}


def gpu_name() -> str:
    """The CUDA device's name ("NVIDIA H200")."""
    import torch

    return torch.cuda.get_device_name(0)


def mfu(parameters: int, tokens_per_s: float, method: str) -> float | None:
    """Model FLOPs utilisation on this GPU (plan/hardware.py); None for a GPU the table does not know."""
    value = hardware.mfu(parameters, tokens_per_s, method, gpu_name())
    return None if value is None else round(value, 4)


def write_report(path: Path) -> None:
    """Write the report as JSON and print it as a few lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(REPORT, indent=1) + "\n")
    print(
        f"\nGPU tier on {REPORT.get('gpu', '?')}, model {REPORT.get('parameters', 0) / 1e9:.3f} B parameters"
    )
    for run in REPORT["runs"]:
        print(
            f"  {run['case']:<22} {run['tokens_per_s']:>9,} tok/s  MFU {run['mfu'] or 0:.1%}  peak "
            f"{run['peak_memory_gb'] or 0:.2f} GB (estimate {run['estimated_peak_gb']:.2f}, "
            f"{run['estimate_over_measured'] or 0:.2f}x)  eval {run['eval_examples_per_s']} ex/s"
        )
    for row in REPORT.get("memory", []):
        print(
            f"  memory, {row['case']:<24} measured {row['measured_peak_gb']:.2f} GB, predicted "
            f"{row['predicted_peak_gb']:.2f} GB ({row['predicted_over_measured']:.2f}x; {row['stack']})"
        )
    for key in ("attention", "packing"):
        if key in REPORT:
            print(f"  {key}: {REPORT[key]}")
    print(f"  report: {path}")
