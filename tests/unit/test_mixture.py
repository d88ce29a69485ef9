"""Row allocation of a training mix: caps, pool-sized regularisers, shares, budgets, repeats."""

from __future__ import annotations

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.data.mixture import allocate, apportion, pool_rows, rows_for_tokens
from mixft.runner.errors import ConfigError

SIZES = {
    "headline": 20000,
    "fpb": 3000,
    "fin_ner_cls": 13000,
    "convfinqa": 11000,
    "finqa": 6000,
    "twitter_topics": 17000,
    "twitter_sa": 9500,
    "open_orca": 400000,
    "orca_math": 200000,
}
FINANCE = "[headline,fpb,fin_ner_cls,convfinqa,finqa,twitter_topics,twitter_sa]"


def rows(*overrides: str) -> dict[str, tuple[str, int, int]]:
    cfg = load_config(list(overrides))
    return {a.source: (a.role, a.requested, a.rows) for a in allocate(cfg, SIZES)}


def test_the_study_caps_each_task():
    got = rows("mixture.tasks=[headline,fpb,finqa]")
    # headline capped at 10,000; fpb has only 3,000 of its 5,000 cap; finqa capped at 2,000
    assert got == {
        "finqa": ("task", 2000, 2000),
        "fpb": ("task", 3000, 3000),
        "headline": ("task", 10000, 10000),
    }


def test_regularisers_are_sized_from_the_whole_pool():
    pool = 10000 + 3000 + 5000 + 2000 + 2000 + 2500 + 5000  # capped financial tasks: 29,500
    assert pool_rows(load_config([f"mixture.pool={FINANCE}", "mixture.tasks=[fpb]"]), SIZES) == pool
    got = rows("mixture.tasks=[fpb]", "regularizer=general_math", f"mixture.pool={FINANCE}")
    assert got["open_orca"] == ("regularizer", pool, pool)
    assert got["orca_math"] == ("regularizer", pool // 2, pool // 2)
    # the same sizes whichever tasks the mix holds
    other = rows("mixture.tasks=[headline,finqa]", "regularizer=general_math", f"mixture.pool={FINANCE}")
    assert other["open_orca"] == got["open_orca"]


def test_pool_sized_tasks_in_the_grid_follow_the_pool():
    got = rows("mixture.tasks=[fpb,open_orca]", f"mixture.pool={FINANCE}")
    assert got["open_orca"] == ("task", 29500, 29500)


def test_without_a_pool_the_pool_is_the_runs_own_tasks():
    got = rows("mixture.tasks=[fpb,finqa]", "regularizer=math")
    assert got["orca_math"] == ("regularizer", 2500, 2500)  # 0.5 x (3,000 + 2,000)


def test_caps_override_task_caps():
    assert rows("mixture.tasks=[headline]", "+mixture.caps.headline=123")["headline"] == ("task", 123, 123)


def test_shares_split_the_task_rows_and_repeat_within_max_repeat():
    got = rows("mixture.tasks=[fpb,finqa]", "+mixture.shares.fpb=0.8", "+mixture.shares.finqa=0.2")
    assert got["fpb"] == ("task", 4000, 3000)  # 80% of 5,000 asks for 4,000 but fpb has 3,000 and no repeats
    assert got["finqa"] == ("task", 1000, 1000)
    upsampled = rows(
        "mixture.tasks=[fpb,finqa]",
        "+mixture.shares.fpb=0.8",
        "+mixture.shares.finqa=0.2",
        "mixture.max_repeat=2",
    )
    assert upsampled["fpb"] == ("task", 4000, 4000)


def test_an_examples_budget_scales_everything_to_the_total():
    got = rows("mixture.tasks=[fpb,finqa]", "regularizer=math", "mixture.budget.total=1000")
    assert sum(r for _, _, r in got.values()) == 1000
    # proportions kept: fpb 3,000 : finqa 2,000 : orca_math 2,500
    assert got["fpb"][2] == 400 and got["finqa"][2] == 267 and got["orca_math"][2] == 333


def test_an_empty_mix_is_an_error():
    with pytest.raises(ConfigError, match="mixture is empty"):
        allocate(load_config(["mixture.tasks=[fpb]"]), {**SIZES, "fpb": 0})


def test_a_source_cannot_be_task_and_regulariser():
    with pytest.raises(ConfigError, match="both"):
        rows("mixture.tasks=[fpb,open_orca]", "regularizer=general")


def test_apportion_sums_exactly():
    assert apportion([1, 1, 1], 10) == [4, 3, 3]
    assert sum(apportion([0.3, 0.3, 0.4], 7)) == 7
    assert apportion([0, 0], 5) == [0, 0]


def test_rows_for_tokens_repeats_within_the_limit():
    assert rows_for_tokens([10, 10, 10], 25, 1.0) == 3
    assert rows_for_tokens([10, 10, 10], 45, 2.0) == 5
    assert rows_for_tokens([10, 10, 10], 1000, 2.0) == 6
    assert rows_for_tokens([], 10, 1.0) == 0
