"""One run's wall time: `mixft run` against `trl sft`, same tiny model, rows, steps and recipe.

run: make bench    (or: python tests/bench/single_run.py)

Both train the tiny model for the same steps on fpb's sample rows (prompt/completion, answer-only
loss) in fp32 without gradient checkpointing (`trl sft` gets `--bf16 false --gradient_checkpointing
false`: its defaults are bf16 autocast and checkpointing, both slow on a CPU), without evaluation,
each in a fresh process on one CPU thread. Training is the same SFTTrainer loop on both sides, so
its time should match; what mixft saves is outside it: the token cache (a second run of the same
sources tokenises nothing) and, in a sweep, the fork server's process reuse (a run forks from a
process that has imported the training stack; measured here as that import in a fresh interpreter).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 128
RUN = [
    "data.samples=true",
    "mixture.tasks=[fpb]",
    "eval=smoke",
    "eval.include_targets=false",  # trl sft does not evaluate either
    f"training.max_steps={STEPS}",
    "training.save_steps=null",
]
TRAINING_STACK = "import torch, transformers, trl, datasets; import trl.trainer.sft_trainer"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def mixft_run(home: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and training seconds of one `mixft run` (a fresh run id each call: another seed)."""
    seed = len(list((home / "runs").glob("*"))) if (home / "runs").exists() else 0
    cmd = [sys.executable, "-m", "mixft.cli.main", "run", *RUN, f"seed={seed}", "--format", "json"]
    seconds, out = timed(cmd, env)
    return seconds, json.loads(out[out.index("{") :])["metrics"]["train/runtime_s"]


def import_seconds(env: dict[str, str], repeat: int = 3) -> float:
    """What a fresh run process pays before its first step: importing the training stack."""
    return statistics.median(timed([sys.executable, "-c", TRAINING_STACK], env)[0] for _ in range(repeat))


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="mixft-bench-"))
    env = {
        **os.environ,
        "MIXFT_HOME": str(home),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "WANDB_MODE": "offline",
    }
    trl_seconds, trl_train_s = trl_sft(home, env)  # builds the tiny model first (not timed)
    cold, cold_train = mixft_run(home, env)  # tokenises fpb into the cache
    warm, warm_train = mixft_run(home, env)  # another seed: the same sources, from the cache
    imports = import_seconds(env)
    print(f"trl sft (baseline)        {trl_seconds:6.1f} s wall, {trl_train_s:5.1f} s training")
    print(f"mixft run, cache cold     {cold:6.1f} s wall, {cold_train:5.1f} s training")
    print(f"mixft run, cache warm     {warm:6.1f} s wall, {warm_train:5.1f} s training")
    ratio = warm_train / trl_train_s
    print(f"training, mixft / trl sft: {ratio:4.2f}x (the same SFTTrainer loop and recipe; target 0.8-1.25x)")
    print(
        f"outside training: trl sft {trl_seconds - trl_train_s:4.1f} s, mixft cold {cold - cold_train:4.1f} s, "
        f"warm {warm - warm_train:4.1f} s (the token cache saves {cold - cold_train - (warm - warm_train):4.1f} s)"
    )
    print(
        f"importing the training stack in a fresh process: {imports:4.1f} s, "
        f"{imports / trl_seconds:.0%} of a trl sft run; a sweep's runs fork from a server that paid it once"
    )
    sys.exit(0 if 0.8 <= ratio <= 1.25 else 1)


def trl_sft(home: Path, env: dict[str, str]) -> tuple[float, float]:
    """Write the fpb rows as prompt/completion jsonl and time the `trl sft` CLI on them, same recipe.

    Returns:
        Wall seconds of the process and its `train_runtime`.
    """
    os.environ["MIXFT_HOME"] = str(home)
    from mixft.runner.config.load import load_config
    from mixft.runner.data.format import to_examples
    from mixft.runner.data.sources import load_split
    from mixft.runner.train.models import ensure_tiny_model

    cfg = load_config(RUN)
    raw = load_split(cfg.task["fpb"], "train", cfg.data)
    data = home / "trl_data"
    data.mkdir(exist_ok=True)
    with (data / "train.jsonl").open("w") as handle:
        for e in to_examples(cfg.task["fpb"], raw.rows, raw.origin):
            handle.write(json.dumps({"prompt": e["prompt"], "completion": e["completion"]}) + "\n")
    t = cfg.training
    args = {
        "--model_name_or_path": str(ensure_tiny_model(cfg.model.build)),
        "--dataset_name": str(data),
        "--output_dir": str(home / "trl_out"),
        "--max_steps": str(STEPS),
        "--per_device_train_batch_size": str(t.per_device_train_batch_size),
        "--learning_rate": str(t.learning_rate),
        "--lr_scheduler_type": t.lr_scheduler_type,
        "--warmup_steps": str(t.warmup_steps),
        "--weight_decay": str(t.weight_decay),
        "--max_grad_norm": str(t.max_grad_norm),
        "--optim": t.optim,
        "--gradient_accumulation_steps": str(t.gradient_accumulation_steps),
        "--max_length": str(t.max_length),
        "--report_to": "none",
        "--save_strategy": "no",
        "--logging_steps": "50",
        # mixft's recipe on a CPU: fp32, no gradient checkpointing (TRL defaults to both)
        "--bf16": "false",
        "--gradient_checkpointing": "false",
    }
    cmd = [
        str(Path(sys.executable).with_name("trl")),
        "sft",
        *[x for kv in args.items() for x in kv],
        "--use_cpu",
    ]
    seconds, out = timed(cmd, env)
    runtime = [line for line in out.splitlines() + [""] if "train_runtime" in line]
    train_s = float(runtime[0].split("'train_runtime': '")[1].split("'")[0]) if runtime else float("nan")
    return seconds, train_s


if __name__ == "__main__":
    main()
