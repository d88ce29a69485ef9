"""What a training attempt achieved: tokens per second and the GPU memory it peaked at.

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb]    (metrics.json: train/tokens_per_s)

`train/tokens_per_s` counts the tokens trained on (padding left out) over the attempt's train time;
`train/peak_memory_gb` is torch's peak of allocated CUDA memory in this process, the figure
plan/memory.py estimates (left out on CPU). MFU follows from them: 6 x N x tokens/s over the
GPU's dense peak (plan/hardware.py).
"""

from __future__ import annotations

import json
from pathlib import Path


def tokens_seen(checkpoint: Path | None) -> int:
    """Tokens a checkpoint's trainer state had seen (0 without one): what an attempt resumes from."""
    if checkpoint is None:
        return 0
    state = Path(checkpoint) / "trainer_state.json"
    if not state.is_file():
        return 0
    return int(json.loads(state.read_text(encoding="utf-8")).get("num_input_tokens_seen", 0))


def reset_peak_memory() -> None:
    """Start measuring the peak of allocated CUDA memory from now (nothing on CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def throughput(tokens: int, seconds: float) -> dict[str, float]:
    """The attempt's figures: tokens, tokens per second, and the CUDA memory peak in GB."""
    import torch

    out = {"train/tokens": float(tokens)}
    if seconds > 0 and tokens > 0:
        out["train/tokens_per_s"] = tokens / seconds
    if torch.cuda.is_available():
        out["train/peak_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return out
