"""The cocktail sweeps plan what the study (reference/cocktail-study.md) and its follow-ups need."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import pytest

from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep
from tests.unit.helpers import plan_json

FINANCIAL = ["convfinqa", "fin_ner_cls", "finqa", "fpb", "headline", "twitter_sa", "twitter_topics"]
MODELS = {"phi3_mini", "phi3_small", "llama31_8b", "mistral_7b"}
# The study's caps per financial task (rows kept after the seeded shuffle).
CAPS = {
    "headline": 10_000,
    "fpb": 5_000,
    "fin_ner_cls": 5_000,
    "convfinqa": 2_000,
    "finqa": 2_000,
    "twitter_topics": 2_500,
    "twitter_sa": 5_000,
}


@cache
def planned(name: str) -> list[dict[str, Any]]:
    """`mixft plan NAME --format json`, once per module (run_dir is the only store-dependent key)."""
    return plan_json(name)


def roles(rows: list[dict[str, Any]]) -> Counter:
    return Counter(row["role"] for row in rows)


@pytest.mark.parametrize(
    "name,total,mixtures,baselines,added,base",
    [
        ("cocktail_paper", 224, 184, 36, 0, 4),
        ("cocktail_paper_lora", 224, 184, 36, 0, 4),
        ("cocktail_regularizers", 34, 12, 21, 21, 1),
    ],
)
def test_sweep_plans_the_expected_runs(name, total, mixtures, baselines, added, base):
    rows = planned(name)
    assert len(rows) == total and len({row["id"] for row in rows}) == total
    assert len({row["training"] for row in rows}) == total  # no two runs share a training
    assert roles(rows) == Counter(mixture=mixtures, baseline=baselines, base=base)
    assert sum(row["added"] for row in rows if row["role"] == "baseline") == added
    for row in rows:
        assert row["eval_tasks"] == sorted([*FINANCIAL, "fiqa_sa"])  # fiqa_sa held out, never trained
        assert "fiqa_sa" not in row["tasks"]


def test_cocktail_paper_trains_220_runs():
    trained = [row for row in planned("cocktail_paper") if row["role"] != "base"]
    assert len(trained) == 220
    per_model = Counter(row["model"] for row in trained)
    assert per_model == dict.fromkeys(MODELS, 55)
    assert {row["recipe"] for row in trained} == {"full_paper"}
    assert {row["regularizer"] for row in trained} == {"none"}  # open_orca / orca_math are sources here


def test_cocktail_paper_follows_the_study_recipe():
    plan = expand(load_sweep("cocktail_paper"))
    every = next(r.config for r in plan.runs if len(r.config.mixture.tasks) == 9)
    assert every.mixture.pool == FINANCIAL and every.mixture.seed == 42 and every.seed == 42
    assert {name: every.task[name].max_examples for name in CAPS} == CAPS
    assert every.task["open_orca"].pool_ratio == 1.0 and every.task["orca_math"].pool_ratio == 0.5
    training = every.training
    assert training.method == "full" and training.deepspeed == "zero2_offload"
    assert training.precision == "fp16" and training.packing and training.save_final_only
    assert training.per_device_train_batch_size == 8 and training.gradient_accumulation_steps == 1


def test_the_lora_sweep_is_the_same_grid_with_lora():
    full, lora = planned("cocktail_paper"), planned("cocktail_paper_lora")

    def grid(rows):
        return Counter((r["model"], tuple(r["tasks"]), r["regularizer"], r["seed"], r["role"]) for r in rows)

    assert grid(full) == grid(lora)
    assert {row["recipe"] for row in lora} == {"lora"}
    trainings = {row["training"] for row in full if row["role"] != "base"}
    assert not trainings & {row["training"] for row in lora}  # a different recipe is a different training
    # the base model's training is the model alone, and its scoring reads no recipe: one run for both
    base = {row["id"] for row in full if row["role"] == "base"}
    assert len(base) == 4 and base == {row["id"] for row in lora if row["role"] == "base"}
    plan = expand(load_sweep("cocktail_paper_lora"))
    cfg = next(r.config for r in plan.runs if r.role == "mixture")
    assert cfg.training.method == "lora" and cfg.training.deepspeed is None
    assert cfg.mixture.pool == FINANCIAL and cfg.mixture.seed == 42


def test_cocktail_regularizers_crosses_the_cocktail_with_every_regulariser():
    rows = planned("cocktail_regularizers")
    mixtures = [row for row in rows if row["role"] == "mixture"]
    assert all(row["tasks"] == FINANCIAL for row in mixtures)
    assert Counter((row["regularizer"], row["seed"]) for row in mixtures) == {
        (reg, seed): 1 for reg in ("none", "general", "math", "general_math") for seed in (0, 1, 2)
    }
    baselines = [row for row in rows if row["role"] == "baseline"]
    assert Counter((row["tasks"][0], row["seed"]) for row in baselines) == {
        (task, seed): 1 for task in FINANCIAL for seed in (0, 1, 2)
    }
    assert all(row["regularizer"] == "none" for row in baselines)
    plan = expand(load_sweep("cocktail_regularizers"))
    general_math = next(r.config for r in plan.runs if r.config.regularizer.name == "general_math")
    assert general_math.regularizer.sources == {"open_orca": 1.0, "orca_math": 0.5}
    assert general_math.mixture.pool == FINANCIAL
    assert general_math.mixture.seed is None  # each seed draws its own capped rows
