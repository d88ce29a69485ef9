"""What compare may claim over seeds: the issue's three-seed study, one seed said plainly, a pooled
seed variance from calibration baselines, corrections, the summary view and the paper table."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from mixft.runner.config.run import eval_tasks
from tests.compare import store
from tests.unit.helpers import invoke

ROWS = 128
# per-seed deltas of the mixture on headline, as measured on real financial data (-0.188, +0.086, -0.086)
FLIPS = {0: -24, 1: +11, 2: -11}
SWEEP = """\
name: known
base: [model=tiny, training=smoke, eval=smoke, data.samples=true]
mixtures:
  tasks: [fpb, headline]
  generators: [singles, all]
seeds: {seeds}
{extra}"""


def draw(*key: object, p: float) -> np.ndarray:
    seed = int(hashlib.sha256(repr(key).encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).random(ROWS) < p


def flipped(correct: np.ndarray, count: int) -> np.ndarray:
    """`correct` with |count| rows changed: right to wrong when count < 0, wrong to right when > 0."""
    out = correct.copy()
    rows = np.flatnonzero(out if count < 0 else ~out)[: abs(count)]
    out[rows] = count > 0
    return out


def outcome(run) -> dict[str, np.ndarray]:
    """Baselines: fixed draws per seed. The mixture: headline moves by FLIPS[seed] rows; fpb right on
    every row."""
    cfg, out = run.config, {}
    for task in eval_tasks(cfg):
        if run.role == "base":
            out[task] = draw("base", task, p=0.3)
        elif run.role == "baseline":
            out[task] = draw("baseline", task, cfg.seed, p=0.6)
        elif task == "headline":
            out[task] = flipped(draw("baseline", task, cfg.seed, p=0.6), FLIPS[cfg.seed])
        else:
            out[task] = np.ones(ROWS, dtype=bool)
    return out


def build(tmp_path, seeds: str, extra: str = "") -> None:
    store.build(tmp_path, outcome, SWEEP.format(seeds=seeds, extra=extra))


def rows(*args: str) -> list[dict]:
    result = invoke("compare", "known", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["rows"]


def mixture_row(found: list[dict], task: str) -> dict:
    [row] = [r for r in found if r["task"] == task and r["mixture"] == ["fpb", "headline"]]
    return row


def test_three_seeds_that_disagree_give_a_wide_interval_and_no_claim(tmp_path):
    build(tmp_path, "[0, 1, 2]")
    row = mixture_row(rows("--view", "all"), "headline")
    deltas = np.array(list(FLIPS.values())) / ROWS
    assert row["n_seeds"] == 3 and row["n_examples"] == ROWS and row["ci_method"] == "seeds"
    assert row["delta"] == pytest.approx(deltas.mean())
    assert (row["ci_high"] - row["ci_low"]) / 2 >= 1.96 * deltas.std(ddof=1) / np.sqrt(3)  # 0.157
    assert row["significant"] == 0 and row["p_value"] > 0.05
    table = invoke("compare", "known", "--view", "all").stdout
    [line] = [ln for ln in table.splitlines() if "│ headline " in ln and "fpb + headline" in ln]
    assert "▲" not in line and "▼" not in line and "seeds + rows" in line
    fpb = mixture_row(rows("--view", "all"), "fpb")
    assert fpb["significant"] == 1  # right on every row at every seed: a claim that survives


def test_one_seed_is_eval_rows_only_and_claims_nothing(tmp_path):
    build(tmp_path, "[0]")
    fpb = mixture_row(rows("--view", "all"), "fpb")
    assert fpb["ci_method"] == "rows" and fpb["p_value"] is None and fpb["ci_low"] > 0
    assert fpb["significant"] == 0  # far above zero on these rows, and still no claim from one seed
    table = invoke("compare", "known").stdout
    assert "rows only" in table and "▲" not in table.split("delta [CI]:")[0]
    assert "with one seed over eval rows only" in table


def test_calibration_baselines_give_one_seed_a_pooled_seed_variance(tmp_path):
    build(tmp_path, "[0]", "calibration_seeds: 3\n")
    found = rows("--view", "all")
    fpb, headline = mixture_row(found, "fpb"), mixture_row(found, "headline")
    assert fpb["ci_method"] == headline["ci_method"] == "pooled"
    assert fpb["n_seeds"] == 1 and fpb["significant"] == 1
    assert headline["significant"] == 0
    table = invoke("compare", "known").stdout
    assert "rows + pooled seeds" in table


def test_corrections_adjust_within_a_task_and_say_so(tmp_path):
    build(tmp_path, "[0, 1, 2]", "grid:\n  regularizer: none,general\n")
    holm, fdr, raw = (rows("--view", "all", "--correction", c) for c in ("holm", "fdr", "none"))
    for found, method in ((holm, "holm"), (fdr, "fdr"), (raw, "none")):
        assert {r["correction"] for r in found} == {method}
    family = [
        r for r in fdr if r["task"] == "fpb" and r["reference"] == "baseline" and r["p_value"] is not None
    ]
    assert len(family) == 3  # fpb + headline with and without the regulariser, fpb with it
    from scipy.stats import false_discovery_control

    expected = false_discovery_control([r["p_value"] for r in family], method="bh")
    assert [r["p_adjusted"] for r in family] == pytest.approx(list(expected))
    assert all(h["p_adjusted"] >= h["p_value"] for h in holm if h["p_value"] is not None)
    assert all(r["p_adjusted"] == r["p_value"] for r in raw)


def test_summary_view_and_paper_tables(tmp_path):
    build(tmp_path, "[0, 1, 2]")
    [summary] = rows("--view", "summary")
    assert summary["mixture"] == ["fpb", "headline"] and summary["n_tasks"] == 2 and summary["n_seeds"] == 3
    assert summary["ci_low"] <= summary["mean_delta"] <= summary["ci_high"]
    assert 0 <= summary["pi_low"] <= summary["prob_improvement"] <= summary["pi_high"] <= 1
    latex = invoke("compare", "known", "--format", "latex")
    assert latex.exit_code == 0, latex.output
    text = latex.stdout
    assert all(cmd in text for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\caption{"))
    assert "Seeds per comparison: 3" in text and "Holm" in text and "fpb + headline" not in text
    assert r"$^{\blacktriangle}$" in text  # fpb's claim, marked
    md = invoke("compare", "known", "--format", "md").stdout
    assert "best mixture per task" in md and "| model | fpb | headline |" in md
