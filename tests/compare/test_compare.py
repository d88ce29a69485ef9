"""`mixft compare` on a store with known predictions: deltas, intervals, views, formats, gaps."""

from __future__ import annotations

import hashlib
import json
import statistics

import numpy as np
import pytest

from mixft.runner.config.run import eval_tasks
from mixft.runner.paths import run_dir
from mixft.runner.scoring.metrics import classification_metrics
from mixft.runner.store import rundir
from tests.compare import store
from tests.unit.helpers import assert_usage_error, invoke

ALL_RIGHT, SAME, WORSE = ("fpb", "headline"), ("finqa", "fpb"), ("finqa", "headline")


def draw(*key: object, p: float) -> np.ndarray:
    """A fixed pattern of correct answers per key (same in every test run)."""
    seed = int(hashlib.sha256(repr(key).encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).random(store.N) < p


def baseline(task: str, seed: int) -> np.ndarray:
    return draw("baseline", task, seed, p=0.6)


def outcome(run) -> dict[str, np.ndarray]:
    """better on every example (fpb in fpb+headline), identical (fpb in fpb+finqa), worse (headline in
    finqa+headline); other cells independent draws."""
    cfg, out = run.config, {}
    for task in eval_tasks(cfg):
        trained, seed = tuple(cfg.mixture.tasks), cfg.seed
        if run.role == "base":
            out[task] = draw("base", task, p=0.3)
        elif run.role == "baseline" or cfg.regularizer.name != "none":
            out[task] = (
                baseline(task, seed) if run.role == "baseline" else draw(trained, task, seed, "reg", p=0.5)
            )
        elif trained == ALL_RIGHT and task == "fpb":
            out[task] = np.ones(store.N, dtype=bool)
        elif trained == SAME and task == "fpb":
            out[task] = baseline(task, seed)
        elif trained == WORSE and task == "headline":
            out[task] = baseline(task, seed) & (np.arange(store.N) % 2 == 0)
        else:
            out[task] = draw(trained, task, seed, p=0.5)
    return out


def compare_json(*args: str) -> dict:
    result = invoke("compare", "known", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def find(rows: list[dict], task: str, mixture: tuple[str, ...], regularizer: str = "none") -> dict:
    [row] = [
        r
        for r in rows
        if r["task"] == task and tuple(r["mixture"]) == mixture and r["regularizer"] == regularizer
    ]
    return row


def independent_interval(per_seed: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The textbook interval of a two-way crossed design (seeds x eval rows), in closed form: no
    bootstrap. per_seed is (rows, seeds) of per-example differences; the variance of the mean is
    (MS_seed + MS_row - MS_res) / (k n), a t interval with Welch-Satterthwaite degrees of freedom over
    its seed part (MS_seed, at least MS_res, k - 1 df) and its row part (n - 1 df)."""
    from scipy import stats as scipy_stats

    n, k = per_seed.shape
    mean = per_seed.mean()
    if k == 1:  # eval rows only
        seed_term = seed_for_df = 0.0
        row_term = per_seed[:, 0].var(ddof=1) / n
    else:
        seeds, rows = per_seed.mean(axis=0), per_seed.mean(axis=1)
        ms_seed = n * ((seeds - mean) ** 2).sum() / (k - 1)
        ms_row = k * ((rows - mean) ** 2).sum() / (n - 1)
        resid = per_seed - seeds[None, :] - rows[:, None] + mean
        ms_res = (resid**2).sum() / ((k - 1) * (n - 1))
        seed_term, seed_for_df = ms_seed / (k * n), max(ms_seed, ms_res) / (k * n)
        row_term = max(ms_row - ms_res, 0.0) / (k * n)
    variance = seed_term + row_term
    if variance == 0:
        return float(mean), float(mean)
    parts = (seed_for_df**2 / (k - 1) if k > 1 else 0.0) + row_term**2 / (n - 1)
    df = (seed_for_df + row_term) ** 2 / parts
    half = scipy_stats.t.ppf(0.5 + confidence / 2, df) * variance**0.5
    return float(mean - half), float(mean + half)


@pytest.fixture
def known(tmp_path):
    return store.build(tmp_path, outcome)


def test_rows_carry_the_documented_fields(known):
    rows = compare_json("--view", "all")["rows"]
    keys = {
        "model",
        "task",
        "mixture",
        "metric",
        "baseline",
        "score",
        "delta",
        "ci_low",
        "ci_high",
        "n_seeds",
    }
    assert rows and all(keys <= set(row) for row in rows)
    assert all(isinstance(row["mixture"], list) for row in rows)


@pytest.mark.parametrize(
    ("task", "mixture", "sign"),
    [("fpb", ALL_RIGHT, 1), ("fpb", SAME, 0), ("headline", WORSE, -1)],
    ids=["better-everywhere", "identical", "worse"],
)
def test_deltas_and_intervals_match_an_independent_recomputation(known, task, mixture, sign):
    row = find(compare_json("--view", "all")["rows"], task, mixture)
    ours = {s: outcome_of(known, mixture, s)[task].astype(float) for s in (0, 1)}
    base = {s: baseline(task, s).astype(float) for s in (0, 1)}
    per_seed = np.column_stack([ours[s] - base[s] for s in (0, 1)])
    diffs = per_seed.mean(axis=1)
    assert row["n_seeds"] == 2 and row["n_examples"] == store.N
    assert row["metric"] == "accuracy"
    assert row["delta"] == pytest.approx(diffs.mean())
    assert row["baseline"] == pytest.approx(statistics.fmean(base[s].mean() for s in (0, 1)))
    assert row["baseline_std"] == pytest.approx(statistics.stdev(base[s].mean() for s in (0, 1)))
    low, high = independent_interval(per_seed)
    assert row["ci_low"] == pytest.approx(low, abs=0.02)
    assert row["ci_high"] == pytest.approx(high, abs=0.02)
    assert row["ci_method"] == "seeds"
    assert row["significant"] == sign
    if sign == 1:
        assert row["delta"] == pytest.approx(1 - row["baseline"])  # right wherever the baseline was wrong
    if sign == 0:
        assert row["delta"] == row["ci_low"] == row["ci_high"] == 0


def outcome_of(runs, mixture: tuple[str, ...], seed: int) -> dict[str, np.ndarray]:
    [run] = [
        r
        for r in runs
        if tuple(r.config.mixture.tasks) == mixture
        and r.config.seed == seed
        and r.config.regularizer.name == "none"
    ]
    return outcome(run)


def test_macro_f1_matches_the_metric_module(known):
    row = find(compare_json("--view", "all", "--metric", "macro_f1")["rows"], "fpb", ALL_RIGHT)
    labels, golds = store.LABELS["fpb"], [store.gold("fpb", i) for i in range(store.N)]

    def f1(correct: np.ndarray) -> float:
        preds = [store._row("fpb", i, bool(c))["prediction"] for i, c in enumerate(correct)]
        return classification_metrics(preds, golds, labels)["macro_f1"]

    assert row["metric"] == "macro_f1"
    assert row["score"] == pytest.approx(1.0)
    assert row["baseline"] == pytest.approx(statistics.fmean(f1(baseline("fpb", s)) for s in (0, 1)))
    assert row["ci_low"] > 0


def test_numeric_tasks_use_numeric_accuracy(known):
    row = find(compare_json("--view", "all")["rows"], "finqa", SAME)
    assert row["metric"] == "numeric_accuracy"
    assert row["delta"] == pytest.approx(
        np.mean([outcome_of(known, SAME, s)["finqa"].mean() - baseline("finqa", s).mean() for s in (0, 1)])
    )


def test_held_out_tasks_are_compared_with_the_base_model(known):
    rows = [r for r in compare_json("--view", "all")["rows"] if r["held_out"]]
    assert rows and {r["task"] for r in rows} == {"fiqa_sa"}
    assert {r["reference"] for r in rows} == {"base"}
    assert all(r["baseline"] == pytest.approx(draw("base", "fiqa_sa", p=0.3).mean()) for r in rows)


def test_task_view_names_the_best_of_n_and_counts_significant_wins(known):
    rows = [r for r in compare_json()["rows"] if not r["held_out"]]
    fpb = next(r for r in rows if r["task"] == "fpb")
    assert tuple(fpb["mixture"]) == ALL_RIGHT and fpb["regularizer"] == "none"
    assert fpb["n_mixtures"] == 4  # fpb+headline, fpb+finqa, each with and without the regulariser
    assert fpb["n_better"] >= 1 and fpb["n_expected_by_chance"] is None  # corrected (holm): no such count
    [raw] = [
        r for r in compare_json("--correction", "none")["rows"] if r["task"] == "fpb" and not r["held_out"]
    ]
    assert raw["n_expected_by_chance"] == pytest.approx(4 * 0.025)
    assert fpb["base"] == pytest.approx(draw("base", "fpb", p=0.3).mean())
    table = invoke("compare", "known")
    assert table.exit_code == 0 and "best of N" in table.stdout and "biased upwards" in table.stdout


def test_pairs_view_is_the_task_by_task_matrix(known):
    rows = compare_json("--view", "pairs")["rows"]
    assert {(r["task"], r["other"]) for r in rows} == {
        ("fpb", "headline"),
        ("headline", "fpb"),
        ("fpb", "finqa"),
        ("finqa", "fpb"),
        ("headline", "finqa"),
        ("finqa", "headline"),
    }
    assert all(r["regularizer"] == "none" for r in rows)
    table = invoke("compare", "known", "--view", "pairs")
    assert table.exit_code == 0 and "scored on" in table.stdout


def test_regularizer_view_sets_each_run_against_itself_without_the_added_data(known):
    rows = compare_json("--view", "regularizer")["rows"]
    row = find(rows, "fpb", ALL_RIGHT, "general")
    assert row["reference"] == "without general"
    assert row["baseline"] == pytest.approx(1.0)  # fpb+headline without the regulariser was always right
    assert {r["task"] for r in rows} == {"fpb", "headline", "finqa", "fiqa_sa"}


def test_markdown_and_csv(known):
    md = invoke("compare", "known", "--view", "all", "--format", "md")
    assert md.exit_code == 0 and "| model | task |" in md.stdout and "|---|" in md.stdout
    csv = invoke("compare", "known", "--view", "all", "--format", "csv")
    header = csv.stdout.splitlines()[0].split(",")
    assert {"model", "task", "mixture", "delta", "ci_low", "ci_high", "n_seeds"} <= set(header)
    assert "fpb+headline" in csv.stdout


def test_plot_writes_a_png_heatmap(known, tmp_path):
    import matplotlib.image

    path = tmp_path / "out" / "deltas.png"
    result = invoke("compare", "known", "--plot", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width > 400 and height > 200


def test_missing_and_failed_baselines_are_reported_not_skipped(tmp_path):
    def partial(run):
        cfg = run.config
        if run.role == "base":
            return None  # still pending
        if run.role == "baseline" and cfg.mixture.tasks == ["headline"] and cfg.seed == 1:
            store.fail(run, "Traceback ...\nRuntimeError: CUDA out of memory")
            return None
        return outcome(run)

    store.build(tmp_path, partial)
    payload = compare_json("--view", "all")
    missing = "\n".join(payload["missing"])
    assert (
        "baseline headline (tiny, smoke, seed 1)" in missing
        and "failed: RuntimeError: CUDA out of memory" in missing
    )
    assert "base model tiny for held-out fiqa_sa" in missing and "pending" in missing
    row = find(payload["rows"], "headline", ALL_RIGHT)
    assert row["n_seeds"] == 1  # seed 1 has no baseline: left out, and said so
    assert {r["state"] for r in payload["not_done"]} == {"failed", "pending"}
    table = invoke("compare", "known")
    assert "not compared: baseline headline" in table.stdout and "1 failed" in table.stdout


def test_a_sweep_without_baselines_says_so(tmp_path):
    sweep = store.SWEEP.replace("[singles, pairs]", "[pairs]") + "baselines: false\nbase_model: false\n"
    store.build(tmp_path, outcome, sweep)
    payload = compare_json()
    assert payload["rows"] == []
    assert any("baseline fpb" in line and "not in this sweep" in line for line in payload["missing"])
    assert any("base model tiny" in line and "not in this sweep" in line for line in payload["missing"])


def test_unknown_sweep_is_one_line(tmp_path):
    assert_usage_error(invoke("compare", "nosuch"), "nosuch")


def test_compare_loads_no_training_library(known):
    import subprocess
    import sys

    heavy = ("torch", "transformers", "trl", "datasets", "wandb", "peft")
    code = (
        "import sys\nfrom mixft.cli.main import app\n"
        "try:\n    app(['compare', 'known', '--view', 'all'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "fpb + headline" in out
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_runs_generated_by_different_engines_do_not_pair(known):
    [base] = [r for r in known if r.role == "base"]
    before = [r for r in compare_json("--view", "all")["rows"] if r["reference"] == "base"]
    assert before
    rundir.write_engine(run_dir(base.id), {"engine": "vllm", "version": "0"})  # as eval.engine=auto on a GPU
    payload = compare_json("--view", "all")
    assert not [r for r in payload["rows"] if r["reference"] == "base"]
    assert any(m.startswith("base model tiny for held-out fiqa_sa") for m in payload["missing"])
