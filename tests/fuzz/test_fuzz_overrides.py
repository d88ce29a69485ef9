"""Fuzzing Hydra overrides: every list either composes a config or fails with one ConfigError line.

run: pytest tests/fuzz/test_fuzz_overrides.py
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixft.runner.config.load import load_config
from mixft.runner.config.overrides import parse_overrides
from mixft.runner.config.run import resolve
from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.plan.grid import expand
from mixft.runner.plan.ids import ids_of
from mixft.runner.plan.sweepfile import load_sweep
from tests.fuzz.common import cli, config_error_or
from tests.fuzz.strategies import junk_text, override_lists, overrides

RUN_ID = r"[0-9a-f]{12}-[0-9a-f]{8}"  # <training>-<evaluation>
# Click reads an argument that starts with "-" as an option, whatever mixft would make of it.
cli_overrides = st.lists(overrides().filter(lambda o: not o.startswith("-")), max_size=3)


@given(st.lists(junk_text, max_size=3))
def test_parsing_any_text_is_a_list_or_one_line(texts):
    config_error_or(lambda: parse_overrides(texts))


@given(override_lists)
def test_load_config_composes_or_refuses(overrides_):
    cfg = config_error_or(lambda: load_config(overrides_))
    if isinstance(cfg, ConfigError):
        return
    assert isinstance(cfg, Config)
    assert isinstance(cfg.seed, int) and 0 <= cfg.seed < 2**32
    # what the CLI does next: the resolved config has an id
    assert re.fullmatch(RUN_ID, ids_of(resolve(cfg)).run)


@given(cli_overrides)
def test_config_show_prints_or_fails_in_one_line(overrides_):
    result = cli("config", "show", *overrides_)
    if result.exit_code == 0:
        assert result.stdout.startswith("# run ")


@given(cli_overrides)
def test_plan_smoke_with_overrides(overrides_):
    result = cli("plan", "smoke", *overrides_, "--format", "json")
    if result.exit_code == 0:
        rows = json.loads(result.stdout)
        assert rows and all(re.fullmatch(RUN_ID, row["id"]) for row in rows)
        assert all(row["id"].startswith(f"{row['training']}-") for row in rows)


@given(override_lists)
def test_planned_runs_rebuild_from_their_overrides(overrides_):
    """`load_config(run.overrides)` rebuilds every planned run: the run id is a pure function."""
    plan = config_error_or(lambda: expand(load_sweep("smoke"), overrides_))
    if isinstance(plan, ConfigError):
        return
    for run in plan.runs[:3]:
        rebuilt = resolve(load_config(run.overrides))
        assert rebuilt == run.config, run.overrides
        assert ids_of(rebuilt).run == run.id


# Regressions: inputs the fuzzers found, and what they must do now.


@pytest.mark.parametrize(
    "override,fragment",
    [
        # the value came from the environment: saved with the run, a leak for ${oc.env:HF_TOKEN}
        ("model.hf_id=${oc.env:HOME}", "interpolation"),
        # the clock: a new run id on every plan
        ("model.hf_id=${now:%H%M%S}", "interpolation"),
        # follows a key that planning then sets per run: the run would not rebuild from its overrides
        ("mixture.seed=${seed}", "interpolation"),
        ("task.fpb.prompt='${oc.env:HOME}'", "interpolation"),
        ("mixture.tasks=[fpb,${model.name}]", "interpolation"),
    ],
)
def test_interpolations_are_refused(override, fragment):
    with pytest.raises(ConfigError, match=fragment) as err:
        load_config([override])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "overrides_,fragment",
    [
        (["seed=4294967296"], "seed must be"),
        (["mixture.seed=-1"], "mixture.seed"),
        (["mixture.seed=4294967296"], "mixture.seed"),
    ],
)
def test_seeds_numpy_cannot_take_are_refused(overrides_, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(["mixture.tasks=[fpb]", *overrides_])


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("a b", "unexpected ' ' at position 2"),
        ("a=[1,2", "cannot parse override 'a=[1,2'"),
        ("a\nb=1", r"cannot parse override 'a\nb=1'"),
    ],
)
def test_parse_errors_point_at_the_problem(override, fragment):
    with pytest.raises(ConfigError) as err:
        parse_overrides([override])
    assert fragment in str(err.value)
    assert "{{" not in str(err.value) and "\n" not in str(err.value)


def test_a_package_override_names_the_package():
    with pytest.raises(ConfigError, match="model@x") as err:
        load_config(["model@x=tiny"])
    assert "did you mean 'model'" not in str(err.value)


@pytest.mark.parametrize(
    "overrides_,fragment",
    [
        # OmegaConf let a list into list[str]; then set() raised TypeError: unhashable type: 'list'
        (["task.fpb.labels=[[]]"], "bad value for 'task.fpb.labels[0]': expected text"),
        (["mixture.tasks=[[]]"], "bad value for 'mixture.tasks[0]': expected text"),
        # OmegaConf's AssertionError "Unexpected type for root: NoneType" (an internal error)
        (["model.build.architecture=tiny", "model=llama31_8b"], "inside a section that is null"),
        # task.fpb=0 raised IndexError in the task catalogue
        (["task.fpb=0"], "set one field of a task at a time"),
        # int() of 5,000 digits (ValueError) and brackets 2,000 deep (RecursionError) in Hydra's parser
        (["seed=" + "9" * 5000], "a number longer than 4,300 digits"),
        (["a=" + "[" * 2000 + "]" * 2000], "brackets nested too deeply"),
        # OverflowError from OmegaConf for an int too large for a float field
        (["training.learning_rate=" + "9" * 400], "bad value for 'training.learning_rate'"),
        # nan passed `<= 0` checks, inf and huge ratios overflowed later (round(inf) in the cost estimate)
        (["training.learning_rate=nan"], "training.learning_rate must be positive"),
        (["+regularizer.sources.convfinqa=1e308"], "must be at most 1000"),
        (["regularizer.lora_dropout=2"], "regularizer.lora_dropout must be from 0 to 1"),
        # a task that is also a regulariser source planned, and failed only when the data was built
        (["mixture.tasks=[open_orca]", "regularizer=general"], "both mixture tasks and regulariser sources"),
        (["mixture.pool=[open_orca]"], "itself sized from the pool"),
    ],
)
def test_overrides_that_crashed_are_refused_in_one_line(overrides_, fragment):
    with pytest.raises(ConfigError) as err:
        load_config(["mixture.tasks=[fpb]", *overrides_])
    assert fragment in str(err.value)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_cost_estimate_of_a_huge_regulariser_is_refused_before_planning():
    result = cli("plan", "smoke", "+regularizer.sources.convfinqa=1e308")
    assert result.exit_code == 2 and "must be at most 1000" in result.stderr
