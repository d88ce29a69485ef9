"""lm-eval suites scored in-process on the trained model, checked against lm-eval's own CLI.

run: .venv/bin/python -m pytest tests/smoke/test_suites.py -q

The suite is tests/toy_suite.py's: a multiple-choice and a generative lm-eval task over local jsonl.
The independent check runs `lm_eval run --model hf` on the model folder the run saved, and asks for
the same scores, document by document.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixft.runner.config.load import clear_caches
from mixft.runner.paths import training_dir
from mixft.runner.store.identity import split_id
from tests.toy_suite import SUITE, TASKS, write_toy_suite
from tests.unit.helpers import assert_usage_error, invoke

pytestmark = pytest.mark.smoke

RUN = [
    "model=tiny",
    "data.samples=true",
    "mixture.tasks=[fpb]",
    "training=smoke",
    "training.max_steps=24",
    "eval=smoke",
    "eval.max_examples=8",
    f"eval.suites=[{SUITE}]",
]


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_toy_suite(tmp_path / "project")
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path / "project"))
    return tmp_path / "project"


def lm_eval_cli(model: Path, include: Path, out: Path) -> dict:
    """lm-eval's own run on a saved model folder: {task: (results, {doc_id: sample})}."""
    lm_eval = shutil.which("lm_eval", path=str(Path(sys.executable).parent))
    assert lm_eval, "lm-eval's CLI is not installed next to this python"
    done = subprocess.run(
        [
            lm_eval,
            "run",
            "--model",
            "hf",
            "--model_args",
            f"pretrained={model},dtype=float32",
            "--tasks",
            ",".join(TASKS),
            "--include_path",
            str(include),
            "--num_fewshot",
            "0",
            "--batch_size",
            "8",
            "--output_path",
            str(out),
            "--log_samples",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"TOKENIZERS_PARALLELISM": "false"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    found = {}
    for task in TASKS:
        samples = [json.loads(line) for line in next(out.rglob(f"samples_{task}_*.jsonl")).open()]
        found[task] = (results[task], {s["doc_id"]: s for s in samples})
    return found


def test_a_suite_scores_the_trained_model_as_lm_evals_cli_does(project, tmp_path):
    result = invoke("run", *RUN, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    metrics, folder = report["metrics"], Path(report["run_dir"])
    settings = json.loads((folder / "suites" / SUITE / "settings.json").read_text())
    assert settings["engine"] == "hf" and settings["tasks"]["toy_mc"]["n_docs"] == 40
    assert settings["tasks"]["toy_gen"]["output_type"] == "generate_until"

    model = training_dir(split_id(report["id"])[0]) / "model"
    theirs = lm_eval_cli(model, project / "conf" / "suite" / SUITE, tmp_path / "cli")
    for task, metric in (("toy_mc", "acc"), ("toy_gen", "exact_match")):
        ours = metrics[f"suite/{SUITE}/{task}/{metric}"]
        assert ours == pytest.approx(theirs[task][0][f"{metric},none"], abs=1e-9), task
        records = [json.loads(line) for line in (folder / "suites" / SUITE / f"{task}.jsonl").open()]
        assert len(records) == 40
        for record in records:
            sample = theirs[task][1][record["doc_id"]]
            assert record["doc_hash"] == sample["doc_hash"] and record["prompt_hash"] == sample["prompt_hash"]
            assert record["metrics"][metric] == pytest.approx(sample[metric], abs=1e-9), (task, record)
    # the scores are not a constant: the model answers some documents right and some wrong
    assert 0 < metrics[f"suite/{SUITE}/toy_mc/acc"] < 1


def test_a_suite_without_lm_eval_is_one_line(project):
    code = "import importlib.util, sys; real = importlib.util.find_spec; "
    code += "importlib.util.find_spec = lambda n, *a: None if n == 'lm_eval' else real(n, *a); "
    code += "from mixft.cli.main import app; sys.argv = ['mixft', *sys.argv[1:]]; app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "plan", "smoke", f"eval.suites=[{SUITE}]"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: eval.suites=[{SUITE}] needs lm-evaluation-harness, which is not installed: "
        "pip install 'mixft[eval]'"
    ]


def test_bad_suites_are_one_line(project):
    assert_usage_error(invoke("plan", "smoke", "eval.suites=[toys]"), "unknown eval.suites 'toys'", "toy")
    suite = write_toy_suite(project, num_fewshot=-1)
    clear_caches()  # option files are read once per process
    assert_usage_error(invoke("plan", "smoke", f"eval.suites=[{SUITE}]"), "num_fewshot must be 0 or more")
    suite.write_text(suite.read_text().replace("num_fewshot: -1", "num_fewshots: 1"))
    clear_caches()
    assert_usage_error(invoke("plan", "smoke", f"eval.suites=[{SUITE}]"), "toy.yaml", "num_fewshots")


def test_a_misspelt_suite_task_stops_the_sweep_before_anything_trains(project):
    suite = project / "conf" / "suite" / f"{SUITE}.yaml"
    suite.write_text(suite.read_text().replace('"toy_gen"', '"toy_gne"'))
    clear_caches()
    result = invoke("sweep", "smoke", "training.max_steps=2", f"eval.suites=[{SUITE}]")
    assert_usage_error(result, f"suite '{SUITE}': lm-eval has no task toy_gne")
    assert not list(Path(os.environ["MIXFT_HOME"], "runs").glob("*/status.json"))  # no training started
