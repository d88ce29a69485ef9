"""Evaluation speed: batched greedy generation against one prompt at a time.

run: make bench    (or: python tests/bench/eval_speed.py --batch-size 32 --threads 1)

The same 128 eval prompts of fpb (sample suite) go through `evaluate.generation.generate` on the tiny model at
batch size 1 (the baseline: what a loop over examples costs) and at the batch size given; each is
timed 3 times after a warm-up call and the median is kept. The untrained tiny model never writes its
end token, so every prompt gets the full answer budget at both batch sizes. Target: >= 5x faster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

TARGET = 5.0  # batched generation must be at least this many times faster than batch size 1
PROMPTS = 128
REPEATS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--task", default="fpb", help="a classification task of the sample suite")
    # one thread: the tiny model's 64-wide matrices gain nothing from more, and on a busy machine
    # extra threads spin and would time the contention rather than the batching
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    os.environ["MIXFT_HOME"] = tempfile.mkdtemp(prefix="mixft-bench-")
    import torch
    from transformers import AutoModelForCausalLM

    from mixft.runner.config.load import load_config
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.evaluate.evaluator import eval_examples
    from mixft.runner.evaluate.generation import generate
    from mixft.runner.train.models import ensure_tiny_model

    torch.set_num_threads(args.threads)
    cfg = load_config(
        ["data.samples=true", f"eval.max_examples={PROMPTS}", f"data.sample_eval_rows={PROMPTS}"]
    )
    prompts = [e["prompt"] for e in eval_examples(cfg, args.task)]
    budget = cfg.task[args.task].max_new_tokens
    tokenizer = load_tokenizer(cfg.model)
    model = AutoModelForCausalLM.from_pretrained(str(ensure_tiny_model(cfg.model.build)))

    def seconds(batch_size: int) -> float:
        generate(model, tokenizer, prompts[:batch_size], budget, batch_size)  # warm-up
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            generate(model, tokenizer, prompts, budget, batch_size)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    single, batched = seconds(1), seconds(args.batch_size)
    ratio = single / batched
    print(
        f"{len(prompts)} {args.task} prompts, {budget} new tokens each, tiny model on CPU "
        f"({args.threads} thread(s)), median of {REPEATS}"
    )
    print(f"batch size 1 (baseline)      {single:8.3f} s   ({len(prompts) / single:7.1f} prompts/s)")
    print(
        f"batch size {args.batch_size:<3d}               {batched:8.3f} s   ({len(prompts) / batched:7.1f} "
        f"prompts/s, {ratio:5.1f}x faster than batch size 1; target >= {TARGET:.0f}x)"
    )
    sys.exit(0 if ratio >= TARGET else 1)


if __name__ == "__main__":
    main()
