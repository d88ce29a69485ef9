"""One run's wall time: `mixft run` against `trl sft` on the same tiny model, data and steps.

run: make bench    (or: python tests/bench/single_run.py)

Both train the tiny model for the same steps on fpb's sample rows (prompt/completion, answer-only
loss, fp32, no gradient checkpointing: TRL defaults to bf16 and checkpointing, both slow on a
CPU) in a fresh process on one CPU thread. `mixft run` also scores 64 eval rows; `trl sft` does
not evaluate. This is the per-run baseline a sweep's process reuse has to beat.
"""

from __future__ import annotations

import json
import os
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
    "eval.tasks=[]",
    f"training.max_steps={STEPS}",
    "training.save_steps=null",
]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


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
    # build the tiny model and the token cache first: neither path should pay for them
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mixft.cli.main",
            "data",
            "stats",
            "default",
            "data.samples=true",
            "mixture.tasks=[fpb]",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds, out = timed([sys.executable, "-m", "mixft.cli.main", "run", *RUN, "--format", "json"], env)
    report = json.loads(out[out.index("{") :])
    train_s = report["metrics"]["train/runtime_s"]
    trl_seconds, trl_train_s = trl_sft(home, env)
    print(f"mixft run: {seconds:6.1f} s wall, {train_s:5.1f} s training (+ 64 eval rows)")
    print(f"trl sft:   {trl_seconds:6.1f} s wall, {trl_train_s:5.1f} s training (baseline)")
    print(
        f"overhead outside training: mixft {seconds - train_s:5.1f} s, trl sft {trl_seconds - trl_train_s:5.1f} s; "
        f"mixft wall = {seconds / trl_seconds:4.2f}x trl sft's"
    )


def trl_sft(home: Path, env: dict[str, str]) -> tuple[float, float]:
    """Write the same fpb rows as prompt/completion jsonl and time the `trl sft` CLI on them."""
    os.environ["MIXFT_HOME"] = str(home)
    from mixft.runner.config.load import load_config
    from mixft.runner.data.format import to_examples
    from mixft.runner.data.sources import load_split
    from mixft.runner.train.models import ensure_tiny_model

    cfg = load_config(RUN)
    raw = load_split(cfg.task["fpb"], "train", cfg.data)
    data = home / "trl_data"
    data.mkdir()
    with (data / "train.jsonl").open("w") as handle:
        for e in to_examples(cfg.task["fpb"], raw.rows, raw.origin):
            handle.write(json.dumps({"prompt": e["prompt"], "completion": e["completion"]}) + "\n")
    t = cfg.training
    cmd = [
        "trl",
        "sft",
        "--model_name_or_path",
        str(ensure_tiny_model(cfg.model.build)),
        "--dataset_name",
        str(data),
        "--output_dir",
        str(home / "trl_out"),
        "--max_steps",
        str(STEPS),
        "--per_device_train_batch_size",
        str(t.per_device_train_batch_size),
        "--learning_rate",
        str(t.learning_rate),
        "--max_length",
        str(t.max_length),
        "--use_cpu",
        "--report_to",
        "none",
        "--save_strategy",
        "no",
        "--logging_steps",
        "50",
    ]
    cmd[0] = str(Path(sys.executable).with_name("trl"))
    seconds, out = timed(cmd, env)
    runtime = [line for line in out.splitlines() + [""] if "train_runtime" in line]
    train_s = float(runtime[0].split("'train_runtime': '")[1].split("'")[0]) if runtime else float("nan")
    return seconds, train_s


if __name__ == "__main__":
    main()
