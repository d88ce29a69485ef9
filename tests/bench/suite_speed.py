"""Suite evaluation in-process on the loaded model, against lm-eval's own CLI on the saved model.

run: make bench    (or: python tests/bench/suite_speed.py --docs 200 --threads 2)

The same suite (tests/toy_suite.py: a multiple-choice and a generative task over local jsonl, --docs
documents each) is scored on the same tiny model twice: by `evaluate.suites.evaluate_suite` on the
model an evaluation already holds (the first call in this process, so lm-eval's import and task
indexing count), and by `lm_eval run --model hf` on the model's folder (the baseline: a new process
that imports, indexes its tasks, loads the model and scores). Both use the same torch threads, batch
size 8 and no few-shot; both sides' scores must agree. Target: in-process <= 0.7x the CLI's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.toy_suite, run as a script

TARGET = 0.7  # in-process time over the CLI's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200, help="documents per task")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads, both sides")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mixft-bench-"))
    os.environ |= {"MIXFT_HOME": str(work / "store"), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    os.environ |= {"OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
    from tests.toy_suite import SUITE, TASKS, write_toy_suite

    write_toy_suite(work / "project", n_docs=args.docs)
    os.environ["MIXFT_CONFIG_PATH"] = str(work / "project")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mixft.runner.config.load import load_config
    from mixft.runner.train.models import ensure_tiny_model

    torch.set_num_threads(args.threads)
    cfg = load_config(["model=tiny", f"eval.suites=[{SUITE}]"])
    folder = ensure_tiny_model(cfg.model.build)

    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    load_s = time.perf_counter() - start
    from mixft.runner.evaluate.suites import evaluate_suite

    start = time.perf_counter()
    ours = evaluate_suite(cfg.suite[SUITE], model, tokenizer, None)
    inproc_s = time.perf_counter() - start

    out = work / "cli"
    command = [shutil.which("lm_eval", path=str(Path(sys.executable).parent)) or "lm_eval", "run"]
    command += [
        "--model",
        "hf",
        "--model_args",
        f"pretrained={folder},dtype=float32",
        "--tasks",
        ",".join(TASKS),
    ]
    command += ["--include_path", str(work / "project" / "conf" / "suite" / SUITE), "--num_fewshot", "0"]
    command += ["--batch_size", "8", "--output_path", str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    cli_s = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"lm_eval failed: {done.stderr[-2000:]}")
    theirs = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    agree = all(
        abs(ours[f"suite/{SUITE}/{task}/{metric}"] - theirs[task][f"{metric},none"]) < 1e-9
        for task, metric in (("toy_mc", "acc"), ("toy_gen", "exact_match"))
    )
    ratio = inproc_s / cli_s
    print(
        f"suite of {len(TASKS)} lm-eval tasks x {args.docs} documents, tiny model on CPU ({args.threads} threads)"
    )
    print(
        f"lm_eval CLI on the saved model (baseline)   {cli_s:7.2f} s   (process, imports, model load, scoring)"
    )
    print(
        f"in-process on the loaded model               {inproc_s:7.2f} s   ({ratio:.2f}x the CLI; target <= {TARGET}x; "
        f"first call: lm-eval import and task index included)"
    )
    print(f"  (loading the model from its folder, which a run has done already: {load_s:.2f} s)")
    print(f"scores agree with the CLI's: {'yes' if agree else 'NO'}")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ratio <= TARGET and agree else 1)


if __name__ == "__main__":
    main()
