"""Fuzzing mixture allocation: random caps, shares, budgets, max_repeat and source sizes.

run: pytest tests/fuzz/test_fuzz_mixture.py

Every mix either allocates rows that respect availability x max_repeat and the budget, the same rows
for the same input, or fails with one ConfigError line (at config time or at allocation).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixft.runner.config.load import load_config
from mixft.runner.data.mixture import allocate, apportion, rows_for_tokens
from mixft.runner.errors import ConfigError
from tests.fuzz.common import config_error_or, no_hang
from tests.fuzz.strategies import TASKS, TRAINABLE, one_in

FINANCE = ("headline", "fpb", "fin_ner_cls", "convfinqa", "finqa", "twitter_topics", "twitter_sa")
sizes = st.one_of(st.integers(0, 50), st.integers(0, 500_000))
availability = st.fixed_dictionaries(dict.fromkeys(TASKS, sizes))


@st.composite
def mixture_overrides(draw: st.DrawFn) -> list[str]:
    """Overrides that set a mixture: tasks, caps, shares, max_repeat, budget, pool, regulariser."""
    tasks = draw(st.lists(st.sampled_from(TRAINABLE), min_size=1, max_size=4, unique=True))
    out = [f"mixture.tasks=[{','.join(tasks)}]"]
    for name in draw(st.lists(st.sampled_from(TRAINABLE), max_size=3, unique=True)):
        out.append(f"+mixture.caps.{name}={draw(st.one_of(st.integers(1, 100), st.integers(-2, 10**7)))}")
    if draw(st.booleans()):
        weights = draw(st.lists(st.integers(1, 20) | st.just(0), min_size=len(tasks), max_size=len(tasks)))
        total = sum(weights) or 1
        named = dict(zip(tasks, weights, strict=True))
        if one_in(draw, 6):  # a share left out, or one for a task not in the mix
            named.pop(tasks[0]) if draw(st.booleans()) else named.setdefault("open_orca", 1)
        out += [f"+mixture.shares.{name}={w / total!r}" for name, w in named.items()]
    # one in six is a value on or past the edge of what max_repeat allows
    edge = st.sampled_from([1000, 1001, 0.999, 0, -1, math.inf, math.nan])
    out.append(f"mixture.max_repeat={draw(edge if one_in(draw, 6) else st.floats(1, 6))!r}")
    budget = draw(st.one_of(st.none(), st.integers(-1, 2000), st.integers(1, 10**20)))
    if budget is not None:
        unit = draw(st.sampled_from(["examples", "examples", "examples", "tokens", "rows"]))
        out += [f"mixture.budget.total={budget}", f"mixture.budget.unit={unit}"]
    out.append(f"regularizer={draw(st.sampled_from(['none', 'general', 'math', 'general_math']))}")
    if draw(st.booleans()):
        out.append(f"mixture.pool=[{','.join(draw(st.lists(st.sampled_from(FINANCE), unique=True)))}]")
    if draw(st.booleans()):
        out.append(f"task.{draw(st.sampled_from(FINANCE))}.max_examples={draw(st.integers(-1, 5000))}")
    return out


@given(mixture_overrides(), availability)
def test_allocation_respects_availability_budget_and_repeats(overrides, available):
    cfg = config_error_or(lambda: load_config(overrides))
    if isinstance(cfg, ConfigError):
        return
    allocations = config_error_or(lambda: allocate(cfg, available))
    if isinstance(allocations, ConfigError):
        return
    mix = cfg.mixture
    for a in allocations:
        assert 0 <= a.rows <= a.requested or a.requested < 0, a
        assert a.rows <= math.floor(mix.max_repeat * a.available), a
        assert a.available == available[a.source]
    assert sum(a.rows for a in allocations) > 0
    # tasks first, then regulariser sources, each in name order
    roles = [a.role for a in allocations]
    assert roles == sorted(roles, key=lambda r: r != "task")
    for role in ("task", "regularizer"):
        names = [a.source for a in allocations if a.role == role]
        assert names == sorted(names)
    assert {a.source for a in allocations if a.role == "task"} == set(mix.tasks)
    if mix.budget.unit == "examples" and mix.budget.total is not None:
        assert sum(a.requested for a in allocations) == mix.budget.total
        assert sum(a.rows for a in allocations) <= mix.budget.total
    if mix.shares and mix.budget.total is None:
        task_rows = sum(a.requested for a in allocations if a.role == "task")
        for a in allocations:
            if a.role == "task":
                assert abs(a.requested - mix.shares[a.source] * task_rows) < 1 + 1e-6, a
    # the same input, the same rows
    assert allocate(cfg, available) == allocations


@given(mixture_overrides())
def test_plain_caps_take_min_of_cap_and_availability(overrides):
    """No shares, no budget, no repeats: the study's semantics, a task gives min(cap, rows)."""
    plain = [o for o in overrides if not o.startswith(("+mixture.shares", "mixture.budget", "mixture.max"))]
    cfg = config_error_or(lambda: load_config(plain))
    if isinstance(cfg, ConfigError):
        return
    available = dict.fromkeys(TASKS, 1000)
    allocations = config_error_or(lambda: allocate(cfg, available))
    if isinstance(allocations, ConfigError):
        return
    for a in allocations:
        if a.role == "task" and cfg.task[a.source].pool_ratio is None:
            cap = cfg.mixture.caps.get(a.source, cfg.task[a.source].max_examples)
            assert a.rows == min(cap if cap is not None else 1000, 1000)


@given(
    st.lists(st.one_of(st.integers(0, 10), st.floats(0, 1e6)), min_size=1, max_size=8),
    st.one_of(st.integers(0, 1000), st.integers(0, 10**30)),
)
def test_apportion_is_exact_and_proportional(weights, total):
    with no_hang():
        counts = apportion(weights, total)
    assert len(counts) == len(weights) and all(c >= 0 for c in counts)
    mass = sum(Fraction(w) for w in weights)
    if mass == 0:
        assert counts == [0] * len(weights)
        return
    assert sum(counts) == total
    for count, weight in zip(counts, weights, strict=True):
        assert abs(count - Fraction(weight) * total / mass) < 1


@given(
    st.lists(st.integers(1, 50), max_size=20),
    st.integers(-5, 3000),
    st.sampled_from([1.0, 1.5, 2.0, 3.0, 10.0]),
)
def test_rows_for_tokens_reaches_the_target_within_max_repeat(counts, target, max_repeat):
    with no_hang():
        rows = rows_for_tokens(counts, target, max_repeat)
    limit = math.floor(max_repeat * len(counts))
    assert 0 <= rows <= limit
    if not counts or target <= 0:
        assert rows == 0
        return

    def tokens(k: int) -> int:
        return sum(counts[i % len(counts)] for i in range(k))

    # the fewest rows, taken in order and repeating, that reach the target; or the repeat limit
    fewest = next(k for k in range(1, target + 1) if tokens(k) >= target)
    assert rows == min(fewest, limit)


# Regressions: inputs the fuzzers found, and what they must do now.


@pytest.mark.parametrize(
    "override,fragment",
    [
        # nan < 1 is False: passed the check, then math.floor(nan * rows) raised ValueError
        ("mixture.max_repeat=nan", "mixture.max_repeat"),
        # math.floor(inf * rows) raised OverflowError; huge finite repeats built index lists of that size
        ("mixture.max_repeat=inf", "mixture.max_repeat"),
        ("mixture.max_repeat=1e12", "mixture.max_repeat"),
        # OmegaConf let OverflowError out for an int too large for the float field
        ("mixture.max_repeat=" + "9" * 400, "mixture.max_repeat"),
        # sum(shares) was nan, and abs(nan - 1) > 1e-6 is False
        ("+mixture.shares.fpb=nan", "mixture.shares.fpb"),
        ("+mixture.caps.fpb=0", "mixture.caps.fpb must be positive"),
    ],
)
def test_mixture_values_that_crashed_allocation_are_refused(override, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")) as err:
        load_config(["mixture.tasks=[fpb]", override])
    assert "\n" not in str(err.value)


def test_apportion_hits_huge_totals_exactly():
    # with floats, 10**20 split three ways came to 100000000000000000001 or 99999999999999983616
    counts = apportion([1.0, 1.0, 1.0], 10**20)
    assert sum(counts) == 10**20 and max(counts) - min(counts) <= 1
