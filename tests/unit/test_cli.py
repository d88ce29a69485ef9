"""The `mixft` command line: help, version, config, plan, and one-line errors with exit code 2."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.unit.helpers import assert_usage_error, invoke, plan_json

HEAVY = ("torch", "transformers", "trl", "datasets", "wandb", "peft")


@pytest.mark.parametrize(
    "command", [[], ["plan"], ["config"], ["config", "ls"], ["config", "show"], ["version"]]
)
def test_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_version_and_store(tmp_path):
    result = invoke("version")
    assert result.exit_code == 0
    assert result.stdout.startswith("mixft 0.2.0")
    assert str(tmp_path / "store") in result.stdout  # $MIXFT_HOME


def test_config_ls():
    everything = invoke("config", "ls").stdout
    assert "phi3_mini" in everything and "cocktail_paper" in everything
    assert invoke("config", "ls", "regularizer").stdout.split() == ["general", "general_math", "math", "none"]
    assert_usage_error(invoke("config", "ls", "modle"), "did you mean 'model'")


def test_config_show_prints_the_resolved_run():
    result = invoke("config", "show", "model=phi3_mini", "mixture.tasks=[fpb,headline]")
    assert result.exit_code == 0
    assert result.stdout.startswith("# run ") and "(mixture)" in result.stdout.splitlines()[0]
    assert "hf_id: microsoft/Phi-3-mini-128k-instruct" in result.stdout
    assert "twitter_topics" not in result.stdout  # only the tasks the run uses


def test_plan_json_has_the_stable_keys(tmp_path):
    rows = plan_json("smoke")
    for row in rows:
        assert {"id", "training", "model", "tasks", "regularizer", "seed", "role", "work"} <= set(row)
        assert isinstance(row["tasks"], list) and row["role"] in {"base", "baseline", "mixture"}
        training, _, evaluation = row["id"].partition("-")
        assert training == row["training"] and len(evaluation) == 8
        assert row["run_dir"] == str(tmp_path / "store" / "runs" / training / "evals" / evaluation)
    assert len({row["id"] for row in rows}) == len(rows)


def test_plan_cocktail_lists_55_source_sets_per_model():
    rows = plan_json("cocktail_paper")
    sets = defaultdict(set)
    for row in rows:
        if row["role"] != "base":
            sets[row["model"]].add(tuple(row["tasks"]))
    assert len(sets) == 4 and all(len(s) == 55 for s in sets.values())
    without_finqa = [s for s in sets["phi3_mini"] if len(s) == 8 and "finqa" not in s]
    assert len(without_finqa) == 1 and "convfinqa" in without_finqa[0]


def test_plan_table_and_csv():
    table = invoke("plan", "smoke")
    assert table.exit_code == 0
    assert "baseline" in table.stdout and "6 runs" in table.stdout
    rows = list(csv.DictReader(io.StringIO(invoke("plan", "smoke", "--format", "csv").stdout)))
    assert len(rows) == 6 and rows[0]["id"] and "tasks" in rows[0]


def test_plan_accepts_a_path(tmp_path):
    sweep = tmp_path / "mine.yaml"
    sweep.write_text("name: mine\nbase: [model=tiny]\nmixtures: {sets: [[fpb, headline]]}\nseeds: [1]\n")
    rows = plan_json(str(sweep))
    assert sorted(r["role"] for r in rows) == ["base", "baseline", "baseline", "mixture"]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "make_args,fragments",
    [
        (lambda p: ["plan", "smok"], ["unknown sweep 'smok'", "did you mean 'smoke'", "cocktail_paper"]),
        (lambda p: ["plan", "smoke", "model=tinny"], ["did you mean 'tiny'"]),
        (lambda p: ["plan", "smoke", "training.learing_rate=1"], ["unknown key"]),
        (lambda p: ["plan", "smoke", "training.learning_rate=fast"], ["training.learning_rate"]),
        (lambda p: ["plan", "smoke", "+training.foo=1"], ["unknown key 'training.foo'"]),
        (lambda p: ["plan", "smoke", "++seedz=1"], ["unknown key 'seedz'"]),
        (
            lambda p: ["plan", write(p, "name: x\ngrid:\n  model: tiny\n  bad: [\n")],
            ["sweep.yaml:", "malformed YAML"],
        ),
        (
            lambda p: ["plan", write(p, "name: x\nmixtures: {tasks: [fpb, fbp], generators: [pairs]}\n")],
            ["unknown task", "did you mean 'fpb'"],
        ),
        (lambda p: ["plan", write(p, "name: x\nmixtures: {sets: [[fpb, fpb]]}\n")], ["twice"]),
        (
            lambda p: ["plan", write(p, "name: x\nmixtures: {tasks: [fpb], generators: [pairs]}\n")],
            ["no runs"],
        ),
        (
            lambda p: [
                "plan",
                write(
                    p,
                    "name: x\nbase: [regularizer=math, regularizer.sources.orca_math=0]\n"
                    "mixtures: {sets: [[fpb]]}\n",
                ),
            ],
            ["must be positive"],
        ),
        (
            lambda p: [
                "plan",
                write(
                    p,
                    "name: x\nbase: [regularizer=math, regularizer.sources.orca_math=-1]\n"
                    "mixtures: {sets: [[fpb]]}\n",
                ),
            ],
            ["must be positive"],
        ),
        (lambda p: ["config", "show", "mixture.tasks=[fpb,fpb]"], ["twice"]),
        (lambda p: ["config", "show", "regularizer=gen"], ["did you mean 'general'"]),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, make_args, fragments):
    assert_usage_error(invoke(*make_args(tmp_path)), *fragments)


def test_debug_shows_the_traceback():
    result = invoke("--debug", "plan", "smok")
    assert result.exit_code != 0 and result.exception is not None


def test_no_heavy_imports_when_planning():
    code = (
        "import sys\nfrom mixft.cli.main import app\n"
        "for argv in (['--help'], ['plan', 'cocktail_paper', '-f', 'json'], ['config', 'show']):\n"
        "    try:\n        app(argv)\n    except SystemExit:\n        pass\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_the_readme_sweep_example_plans(tmp_path):
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", readme, re.S).group(1)
    rows = plan_json(write(tmp_path, example))
    trained = [r for r in rows if r["role"] != "base"]
    assert {r["model"] for r in rows} == {"phi3_mini", "llama31_8b"}
    assert all(r["regularizer"] == "none" for r in rows if r["added"])
    assert not any(r["model"] == "llama31_8b" and "finqa" in r["tasks"] and not r["added"] for r in trained)


def test_a_reader_that_leaves_early_stops_mixft_quietly():
    """`mixft plan cocktail_paper -f csv | head -1`: no traceback, no "internal error"."""
    cmd = [
        sys.executable,
        "-c",
        "from mixft.cli.main import app; app()",
        "plan",
        "cocktail_paper",
        "-f",
        "csv",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(100).startswith(b"id,")  # more than a pipe buffer is still to come
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 141 and stderr == ""
