"""Sweep files and mixture generators."""

from __future__ import annotations

from itertools import combinations

import pytest

from mixft.runner.config.search_path import packaged_sweeps
from mixft.runner.errors import ConfigError
from mixft.runner.plan.generators import generate_sets
from mixft.runner.plan.sweepfile import MixtureGrid, load_sweep

NINE = [
    "headline",
    "fpb",
    "fin_ner_cls",
    "convfinqa",
    "finqa",
    "twitter_topics",
    "twitter_sa",
    "open_orca",
    "orca_math",
]


def sets(tasks, *generators):
    return generate_sets(MixtureGrid(tasks=list(tasks), generators=list(generators)))


def test_generators_count_as_in_the_study():
    assert len(sets(NINE, "singles")) == 9
    assert len(sets(NINE, "pairs")) == 36
    assert len(sets(NINE, "leave_one_out")) == 9
    assert sets(NINE, "all") == [tuple(sorted(NINE))]
    assert len(sets(NINE, "singles", "pairs", "leave_one_out", "all")) == 55
    assert len(sets(NINE, "subsets(3)")) == len(list(combinations(NINE, 3)))


def test_leave_one_out_is_an_exact_set_difference():
    for left_out, kept in zip(NINE, sets(NINE, "leave_one_out"), strict=True):
        assert set(kept) == set(NINE) - {left_out}
    without_finqa = next(s for s in sets(NINE, "leave_one_out") if "finqa" not in s)
    assert "convfinqa" in without_finqa and len(without_finqa) == 8


def test_sets_are_sorted_and_deduplicated():
    out = sets(["b", "a"], "all", "subsets(2)", "singles")
    assert out == [("a", "b"), ("b",), ("a",)]  # generator order, each set sorted


def test_explicit_sets_join_the_generated_ones():
    grid = MixtureGrid(tasks=["a", "b"], generators=["singles"], sets=[["b", "a"], ["c"]])
    assert generate_sets(grid) == [("a",), ("b",), ("a", "b"), ("c",)]


@pytest.mark.parametrize(
    "generators,fragment",
    [
        (["pair"], "did you mean 'pairs'"),
        (["subsets"], "subsets(2)"),
        (["subsets(0)"], "1 <= K"),
        (["singles(2)"], "only subsets"),
    ],
)
def test_bad_generators(generators, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        sets(["a", "b"], *generators)


def test_duplicate_tasks_in_a_generator_list():
    with pytest.raises(ConfigError, match="more than once"):
        sets(["a", "a"], "singles")


def test_packaged_sweeps_load():
    assert {"smoke", "cocktail_paper"} <= set(packaged_sweeps())
    for name in packaged_sweeps():
        assert load_sweep(name).name == name


def test_sweep_file_errors(tmp_path):
    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("name: x\ngird: {}\n")
    with pytest.raises(ConfigError, match="did you mean 'grid'"):
        load_sweep(str(bad_key))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nbase:\n  - model=tiny\n grid: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+: malformed YAML"):
        load_sweep(str(broken))
    wrong_type = tmp_path / "wrong_type.yaml"
    wrong_type.write_text("name: x\nbaselines: maybe\n")
    with pytest.raises(ConfigError, match="baselines"):
        load_sweep(str(wrong_type))
    with pytest.raises(ConfigError, match="not found"):
        load_sweep(str(tmp_path / "missing.yaml"))
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_sweep(str(latin1))
