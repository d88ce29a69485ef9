"""`mixft compare --view forgetting` on a store with known suite records: deltas against the base model
and against the same run without its regulariser, intervals, refusals, gaps, formats and the plot."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mixft.runner.compare.forgetting import KEYS
from mixft.runner.jsonutil import flatten
from mixft.runner.paths import run_dir
from mixft.runner.store import rundir
from mixft.runner.tracking.tracker import tracking_config
from tests.compare import store
from tests.compare.test_compare import independent_interval, outcome
from tests.unit.helpers import invoke

N_DOCS = 80
SWEEP = """\
name: known
base: [model=tiny, training=smoke, eval=smoke, data.samples=true]
grid:
  regularizer: none,general
mixtures:
  tasks: [fpb, headline]
  generators: [singles, pairs]
seeds: [0, 1]
"""
METRICS = {"arc_challenge": ["acc", "acc_norm"], "truthfulqa_gen": ["bleu_max"]}
PAIR = ("fpb", "headline")
Values = dict[str, dict[str, np.ndarray]]  # task -> metric -> one float per document


def _rng(*key: object) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(repr(key).encode()).hexdigest()[:8], 16))


def bits(*key: object, p: float) -> np.ndarray:
    return (_rng(*key).random(N_DOCS) < p).astype(float)


def floats(*key: object) -> np.ndarray:
    return _rng(*key).random(N_DOCS)


BASE_ACC, BASE_BLEU = bits("base", "acc", p=0.5), floats("base", "bleu")


def suite_values(run: Any) -> Values:
    """Base: fixed draws. Without a regulariser an arm forgets: right only where the base was and a
    draw keeps it, lower bleu. With one, fpb + headline is the base model again; the other arms gain."""
    cfg = run.config
    if run.role == "base":
        acc, bleu, norm = BASE_ACC, BASE_BLEU, bits("base", "norm", p=0.5)
    else:
        key = (tuple(cfg.mixture.tasks), cfg.seed)
        norm = bits(*key, "norm", p=0.5)
        if cfg.regularizer.name == "none":
            acc, bleu = BASE_ACC * bits(*key, "keep", p=0.7), BASE_BLEU - floats(*key, "loss") / 4
        elif key[0] == PAIR:
            acc, bleu = BASE_ACC, BASE_BLEU
        else:
            acc, bleu = np.maximum(BASE_ACC, bits(*key, "gain", p=0.2)), BASE_BLEU + floats(*key) / 8
    return {"arc_challenge": {"acc": acc, "acc_norm": norm}, "truthfulqa_gen": {"bleu_max": bleu}}


def build(
    tmp_path: Path,
    outcomes: Any = outcome,
    changes: dict[str, dict[str, Any]] | None = None,
    prompts: dict[str, dict[int, str]] | None = None,
) -> tuple[list[Any], dict[str, Values]]:
    """The sweep with suite "general" on every finished run; the base model also scores suite "math"
    (its suite list and definitions differ from the arms'). `changes` and `prompts` apply to the
    base model's records only."""
    runs = store.build(tmp_path, outcomes, SWEEP)
    values = {}
    for run in runs:
        if not (run_dir(run.id) / "metrics.json").exists():
            continue  # not finished
        base = run.role == "base"
        values[run.id] = suite_values(run)
        settings = store.suite_settings("general", METRICS, changes if base else None)
        store.add_suite(run, "general", values[run.id], settings, prompts if base else None)
        if base:
            math = {"gsm8k": {"exact_match_strict-match": bits("math", p=0.3)}}
            store.add_suite(run, "math", math, store.suite_settings("math", {"gsm8k": list(math["gsm8k"])}))
    return runs, values


@pytest.fixture
def known(tmp_path):
    return build(tmp_path)


def forgetting_json(*args: str) -> dict:
    result = invoke("compare", "known", "--view", "forgetting", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def find(rows: list[dict], task: str, mixture: tuple[str, ...], regularizer: str, reference: str) -> dict:
    [row] = [
        r
        for r in rows
        if (r["task"], tuple(r["mixture"]), r["regularizer"], r["reference"])
        == (task, mixture, regularizer, reference)
    ]
    return row


def by_role(runs: list[Any], role: str) -> list[Any]:
    return [r for r in runs if r.role == role]


def test_rows_carry_the_documented_keys_and_primary_metrics(known):
    payload = forgetting_json("--metric", "macro_f1")  # --metric is for tasks; suites use their primary
    rows = payload["rows"]
    assert payload["view"] == "forgetting" and payload["metric"] == "primary"
    assert rows and all(list(row) == list(KEYS) for row in rows)
    assert {(r["suite"], r["task"], r["metric"]) for r in rows} == {
        ("general", "arc_challenge", "acc"),
        ("general", "truthfulqa_gen", "bleu_max"),
    }  # the base model's own suite (math) is nobody's comparison, and no reason to refuse
    assert all(isinstance(r["mixture"], list) and r["higher_is_better"] is True for r in rows)
    # 6 arms (3 mixtures x 2 regularisers) against the base, 3 regularised arms against themselves
    assert sum(r["reference"] == "base" for r in rows) == 6 * 2
    assert sum(r["reference"] == "without general" for r in rows) == 3 * 2
    assert payload["missing"] == []


def test_deltas_and_intervals_match_an_independent_bootstrap(known):
    _, values = known
    for row in forgetting_json()["rows"]:
        task, metric = row["task"], row["metric"]
        ours = np.mean([values[i][task][metric] for i in row["run_ids"]], axis=0)
        refs = np.mean([values[i][task][metric] for i in row["reference_ids"]], axis=0)
        per_seed = np.array([values[i][task][metric] for i in row["run_ids"]]).T - (
            np.array([values[i][task][metric] for i in row["reference_ids"]]).T
        )
        diffs = ours - refs
        assert row["n_seeds"] == 2 and row["n_examples"] == N_DOCS
        assert row["score"] == pytest.approx(ours.mean()) and row["baseline"] == pytest.approx(refs.mean())
        assert row["delta"] == pytest.approx(diffs.mean())
        low, high = independent_interval(per_seed)
        # two seeds: t with about 1 df, where a small difference in df moves the bounds most
        tolerance = max(0.02, 0.08 * (high - low) / 2)
        assert row["ci_low"] == pytest.approx(low, abs=tolerance), row
        assert row["ci_high"] == pytest.approx(high, abs=tolerance), row


def test_plain_arms_forget_and_the_regulariser_gives_it_back(known):
    runs, _ = known
    rows = forgetting_json()["rows"]
    [base] = by_role(runs, "base")
    plain = find(rows, "arc_challenge", PAIR, "none", "base")
    # two seeds: its interval excludes zero, and Holm over the family of six arms keeps no claim
    assert plain["ci_high"] < 0 and plain["significant"] == 0
    assert plain["baseline"] == pytest.approx(BASE_ACC.mean())
    assert plain["reference_ids"] == [base.id]
    regularised = find(rows, "arc_challenge", PAIR, "general", "base")
    assert regularised["delta"] == regularised["ci_low"] == regularised["ci_high"] == 0
    restored = find(rows, "arc_challenge", PAIR, "general", "without general")
    assert restored["ci_low"] > 0 and restored["delta"] == pytest.approx(-plain["delta"])
    without = {
        r.id for r in runs if tuple(r.config.mixture.tasks) == PAIR and r.config.regularizer.name == "none"
    }
    assert set(restored["reference_ids"]) == without
    assert find(rows, "truthfulqa_gen", ("fpb",), "none", "base")["delta"] < 0  # single-task arms too
    # the same loss at both seeds: a claim that survives the correction
    assert find(rows, "truthfulqa_gen", PAIR, "none", "base")["significant"] == -1
    assert find(rows, "truthfulqa_gen", PAIR, "general", "without general")["significant"] == 1


def test_a_settings_mismatch_is_refused_and_named(tmp_path):
    runs, _ = build(tmp_path, changes={"arc_challenge": {"num_fewshot": 5}})
    payload = forgetting_json()
    [base] = by_role(runs, "base")
    arm = next(r for r in runs if r.role == "mixture" and r.config.regularizer.name == "none")
    line = (
        f"general/arc_challenge: cannot pair run {arm.id} with base {base.id}: num_fewshot differs (0 vs 5)"
    )
    assert line in payload["missing"]
    assert sum("num_fewshot differs" in m for m in payload["missing"]) == 12  # every arm and seed, once
    rows = payload["rows"]
    assert not [r for r in rows if r["task"] == "arc_challenge" and r["reference"] == "base"]
    assert find(rows, "truthfulqa_gen", PAIR, "none", "base")  # other tasks still compared
    assert find(rows, "arc_challenge", PAIR, "general", "without general")  # arms among themselves too
    table = invoke("compare", "known", "--view", "forgetting")
    assert "not compared: general/arc_challenge: cannot pair run" in table.stdout


def test_a_changed_prompt_is_refused_with_the_count_of_documents(tmp_path):
    prompts = {"arc_challenge": {i: store.sha("another prompt", i) for i in (3, 7, 11)}}
    runs, _ = build(tmp_path, prompts=prompts)
    [base] = by_role(runs, "base")
    missing = forgetting_json()["missing"]
    assert any(f"with base {base.id}: prompt differs on 3 documents" in m for m in missing)
    assert all(m.startswith("general/arc_challenge: cannot pair run") for m in missing)


def test_only_documents_every_run_has_alike_are_compared(tmp_path):
    runs, _ = build(tmp_path)
    [base] = by_role(runs, "base")
    folder = run_dir(base.id)
    records = rundir.read_suite_records(folder, "general", "truthfulqa_gen")
    records[0]["doc_hash"] = "another document"
    settings = rundir.read_suite_settings(folder, "general")
    arc = rundir.read_suite_records(folder, "general", "arc_challenge")
    rundir.write_suite(folder, "general", settings, {"truthfulqa_gen": records[:-4], "arc_challenge": arc})
    rows = forgetting_json()["rows"]
    assert {r["n_examples"] for r in rows if r["task"] == "truthfulqa_gen" and r["reference"] == "base"} == {
        N_DOCS - 5
    }
    assert {r["n_examples"] for r in rows if r["reference"] != "base"} == {N_DOCS}


def test_a_missing_base_model_is_reported_and_the_rest_compared(tmp_path):
    runs, _ = build(tmp_path, lambda run: None if run.role == "base" else outcome(run))
    [base] = by_role(runs, "base")
    payload = forgetting_json()
    assert payload["missing"] == [f"base model tiny for suite general: run {base.id} is pending"]
    assert {r["reference"] for r in payload["rows"]} == {"without general"}


def test_a_missing_run_without_the_regulariser_is_reported(tmp_path):
    def partial(run):
        cfg = run.config
        if tuple(cfg.mixture.tasks) == PAIR and cfg.regularizer.name == "none" and cfg.seed == 1:
            store.fail(run, "RuntimeError: CUDA out of memory")
            return None
        return outcome(run)

    build(tmp_path, partial)
    payload = forgetting_json()
    assert any(
        m.startswith("fpb+headline without general (tiny, smoke, seed 1)") and "RuntimeError" in m
        for m in payload["missing"]
    )
    assert find(payload["rows"], "arc_challenge", PAIR, "general", "without general")["n_seeds"] == 1


def test_table_markdown_and_csv(known):
    table = invoke("compare", "known", "--view", "forgetting")
    assert table.exit_code == 0, table.output
    assert "against the base model" in table.stdout and "general/arc_challenge" in table.stdout
    assert "interval over seeds and suite documents" in table.stdout
    md = invoke("compare", "known", "--view", "forgetting", "--format", "md")
    assert "| model | suite task | metric |" in md.stdout
    csv = invoke("compare", "known", "--view", "forgetting", "--format", "csv")
    assert csv.stdout.splitlines()[0].split(",") == list(KEYS)


def test_plot_writes_a_png(known, tmp_path):
    import matplotlib.image

    path = tmp_path / "out" / "forgetting.png"
    result = invoke("compare", "known", "--view", "forgetting", "--plot", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width > 600 and height > 300


def test_the_task_views_do_not_change(known, tmp_path):
    rows = json.loads(invoke("compare", "known", "--view", "all", "--format", "json").stdout)["rows"]
    assert rows and not any("suite" in row for row in rows)
    assert invoke("compare", "known").exit_code == 0


def test_a_sweep_without_suites_says_so(tmp_path):
    store.build(tmp_path, outcome, SWEEP)
    result = invoke("compare", "known", "--view", "forgetting")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "known: no suite results to compare (score lm-eval suites with eval.suites=[...])"
    )
    assert forgetting_json()["rows"] == []


class _File:
    """What `wandb.Api().run(...).file(name)` gives: a download of the run folder's file into a folder."""

    def __init__(self, folder: Path, name: str, uploaded: bool) -> None:
        self.folder, self.name, self.uploaded = folder, name, uploaded

    def download(self, root: str, replace: bool, exist_ok: bool) -> None:
        source = self.folder / self.name
        if not (self.uploaded and source.exists()):
            raise ValueError("file not found")  # wandb.errors.CommError in life
        target = Path(root) / self.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())


class _Run:
    """A W&B run of ours: flat config (with the suites as config.yaml has them), summary, files."""

    def __init__(self, planned: Any, uploaded: bool) -> None:
        self.id, self.state, self.folder, self.uploaded = (
            planned.id,
            "finished",
            run_dir(planned.id),
            uploaded,
        )
        saved = rundir.read_config(self.folder)
        extra = flatten({"suite": saved.get("suite") or {}}) | {"eval.suites": saved["eval"]["suites"]}
        self.config = tracking_config(planned.config, planned.role, "known") | extra
        self.summary = rundir.read_metrics(self.folder)

    def file(self, name: str) -> _File:
        return _File(self.folder, name, self.uploaded or name.startswith("predictions/"))


@pytest.mark.parametrize("uploaded", [True, False], ids=["with-files", "summary-only"])
def test_source_wandb(known, monkeypatch, uploaded):
    import wandb

    runs, values = known
    from_store = forgetting_json()["rows"]

    class FakeApi:
        def __init__(self, timeout: int) -> None: ...

        def runs(self, path: str, filters: dict) -> list[_Run]:
            return [_Run(p, uploaded) for p in runs]

    monkeypatch.setattr(wandb, "Api", FakeApi)
    monkeypatch.setenv("WANDB_API_KEY", "fake")
    rows = forgetting_json("--source", "wandb", "--entity", "lab")["rows"]
    if uploaded:
        assert rows == from_store
        return
    assert len(rows) == len(from_store) and all(r["ci_low"] is None and r["n_examples"] is None for r in rows)
    for row in rows:
        score = np.mean([values[i][row["task"]][row["metric"]].mean() for i in row["run_ids"]])
        reference = np.mean([values[i][row["task"]][row["metric"]].mean() for i in row["reference_ids"]])
        assert row["delta"] == pytest.approx(score - reference)
