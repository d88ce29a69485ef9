"""Training on a CPU: bf16 autocast against fp32, tokens/s, same run, same threads.

run: make bench    (or: python tests/bench/bf16_speed.py --threads 1 --steps 12)

mixft's own trainer (runner/train/trainer.py: TRL's SFTTrainer, use_cpu) trains the same rows of fpb
(sample suite, the smoke recipe: full fine-tuning, batch 16, sequences up to 256 tokens) for the same
steps in fp32 and under bf16 autocast (`training.precision=bf16`), in one process on the same torch
threads, alternating fp32, bf16, fp32, bf16, ... so that the machine's changing load falls on both
sides; the median tokens/s of each is kept. Two model shapes: the smoke sweep's tiny model, and a
wider one built the same way (hidden 512), where matrix products weigh more than the per-operation
costs of autocast (its casts), as they do in any model worth training.

A CPU with AMX is measured twice: as it is, and with oneDNN (torch's CPU kernels for bf16 matrix
products) held to AVX512_BF16 (`ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16`), what a CPU with AVX512_BF16
but no AMX has. This decides `training.precision=auto` on a CPU (runner/train/precision.py): bf16 with
AMX, fp32 otherwise. Target: on the wider shape, auto's choice is not the slower by more than 10%.
The tiny model's ratio is printed too: there autocast's casts cost more than bf16 saves, which is why
its recipe (`training=smoke`) sets fp32.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPEATS = 3
MARGIN = 0.10  # a ratio within 10% of 1 is a tie: either choice meets the target
# shape -> the overrides that build it; the target is judged on DECIDES
DECIDES = "wider (hidden 512, 2 layers)"
SHAPES = {
    "tiny (hidden 128, 2 layers)": [],
    DECIDES: [
        "model.build.hidden_size=512",
        "model.build.intermediate_size=1408",
        "model.build.num_attention_heads=8",
        "model.build.num_key_value_heads=4",
    ],
}
RUN = ["data.samples=true", "mixture.tasks=[fpb]", "training=smoke", "training.save_steps=null"]
NO_AMX = "AVX512_CORE_BF16"


def train_once(overrides: list[str], precision: str, steps: int, data: Any) -> tuple[float, float]:
    """(tokens/s, mean training loss) of one training of `steps` optimizer steps in `precision`."""
    from mixft.runner.config.load import load_config
    from mixft.runner.train.trainer import train

    cfg = load_config(
        [*RUN, *overrides, f"training.precision={precision}", f"training.max_steps={steps}"]
        + ["training.keep=none", f"training.logging_steps={steps}"]
    )
    rows, tokenizer = data
    with tempfile.TemporaryDirectory() as folder:
        metrics = train(cfg, rows, tokenizer, Path(folder), "none").metrics
    return metrics["train/tokens_per_s"], metrics["train/last_loss"]


def measure(overrides: list[str], steps: int) -> dict[str, tuple[float, float]]:
    """Median tokens/s and the mean loss of the last training, per precision, alternating the two."""
    from mixft.runner.config.load import load_config
    from mixft.runner.data.build import build_training_set
    from mixft.runner.data.tokenizer import load_tokenizer

    cfg = load_config([*RUN, *overrides])
    tokenizer = load_tokenizer(cfg.model)
    data = (build_training_set(cfg, tokenizer).rows, tokenizer)
    for precision in ("fp32", "bf16"):  # warm-up: builds the model, first-call costs of each kernel
        train_once(overrides, precision, 2, data)
    speeds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    losses: dict[str, float] = {}
    for _ in range(REPEATS):
        for precision in speeds:
            speed, losses[precision] = train_once(overrides, precision, steps, data)
            speeds[precision].append(speed)
    return {p: (statistics.median(s), losses[p]) for p, s in speeds.items()}


def one_cpu(args: argparse.Namespace) -> int:
    """Measure both shapes on this CPU as oneDNN sees it; 1 when `--expect` is the slower on DECIDES."""
    import logging

    import torch

    logging.disable(logging.WARNING)  # the trainer's per-run notices; figures only
    torch.set_num_threads(args.threads)
    verdicts = {}
    for shape, overrides in SHAPES.items():
        figures = measure(overrides, args.steps)
        (fp32, fp32_loss), (bf16, bf16_loss) = figures["fp32"], figures["bf16"]
        ratio = bf16 / fp32
        print(f"  {shape}:")
        print(f"    fp32 (baseline)   {fp32:7.0f} tokens/s   mean loss of {args.steps} steps {fp32_loss:.3f}")
        print(f"    bf16 autocast     {bf16:7.0f} tokens/s   mean loss of {args.steps} steps {bf16_loss:.3f}")
        print(f"    bf16 / fp32: {ratio:.2f}x")
        verdicts[shape] = "bf16" if ratio > 1 + MARGIN else "fp32" if ratio < 1 - MARGIN else "either"
    missed = verdicts[DECIDES] not in ("either", args.expect)
    print(
        f"  faster: {', '.join(f'{v} ({k.split()[0]})' for k, v in verdicts.items())}; "
        f"training.precision=auto picks {args.expect} on such a CPU"
        + (f" (the slower on the {DECIDES.split()[0]} shape: MISSED)" if missed else "")
    )
    return 1 if missed else 0


def cpu_name() -> str:
    """The CPU's model name (this section may sit beside others measured on another machine)."""
    import platform

    info = Path("/proc/cpuinfo")
    names = [
        line.split(":", 1)[1].strip()
        for line in (info.read_text().splitlines() if info.exists() else [])
        if line.startswith("model name")
    ]
    return names[0] if names else platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, both sides")
    parser.add_argument("--steps", type=int, default=12, help="optimizer steps per timed training")
    parser.add_argument("--expect", help=argparse.SUPPRESS)  # set for the measuring child process
    args = parser.parse_args()
    if args.expect:
        sys.exit(one_cpu(args))
    os.environ["MIXFT_HOME"] = tempfile.mkdtemp(prefix="mixft-bench-")
    from mixft.runner.train.precision import cpu_bf16, resolve_precision

    kind = cpu_bf16()
    print(
        f"CPU: {cpu_name()}; bf16: {kind} (amx: AMX tiles; avx512: AVX512_BF16 only; emulated: neither); "
        f"{args.threads} torch thread(s); {args.steps} steps a training, median of {REPEATS} "
        "alternated trainings of each precision"
    )
    # oneDNN's ISA cap must be set before torch loads it: one child process per CPU kind
    cases = [("this CPU as it is", None, resolve_precision("auto"))]
    if kind == "amx":
        cases.append((f"AVX512_BF16 without AMX (ONEDNN_MAX_CPU_ISA={NO_AMX})", NO_AMX, "fp32"))
    failed = 0
    for label, isa, expect in cases:
        print(f"{label}:", flush=True)
        env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}  # reports to none anyway
        env |= {"ONEDNN_MAX_CPU_ISA": isa} if isa else {}
        cmd = [sys.executable, __file__, "--threads", str(args.threads), "--steps", str(args.steps)]
        failed |= subprocess.run([*cmd, "--expect", expect], env=env).returncode
    verdict = "MISSED" if failed else "met"
    print(
        f"target: on the {DECIDES.split()[0]} shape auto is not the slower by more than {MARGIN:.0%} ({verdict})"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
