"""Sweep expansion: axes, task sets, seeds, filters, baselines and base-model rows."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.errors import ConfigError
from mixft.runner.plan.grid import expand
from mixft.runner.plan.ids import ids_of
from mixft.runner.plan.sweepfile import MixtureGrid, SweepSpec, load_sweep
from tests.unit.helpers import assert_usage_error, grid_sweeps, invoke, plan_json


def spec(**fields) -> SweepSpec:
    fields.setdefault("name", "t")
    return SweepSpec(**fields)


def test_cocktail_paper_is_the_study_grid():
    plan = expand(load_sweep("cocktail_paper"))
    trained = [r for r in plan.runs if r.role != "base"]
    assert len(trained) == 220
    by_model = defaultdict(set)
    for run in trained:
        by_model[run.config.model.name].add(tuple(run.config.mixture.tasks))
    assert set(by_model) == {"phi3_mini", "phi3_small", "llama31_8b", "mistral_7b"}
    assert all(len(s) == 55 for s in by_model.values())
    assert Counter(r.role for r in plan.runs)["base"] == 4
    assert all(not r.added for r in trained)  # the study's singles are its baselines
    for run in trained:
        assert run.config.training.name == "full_paper"
        assert "fiqa_sa" in run.row()["eval_tasks"] and len(run.row()["eval_tasks"]) == 8


def test_smoke_plans_baselines_mixtures_and_a_base_row():
    plan = expand(load_sweep("smoke"))
    roles = Counter(r.role for r in plan.runs)
    assert roles["base"] == 1 and roles["baseline"] == 3 and roles["mixture"] == 2
    assert {r.config.regularizer.name for r in plan.runs if r.role == "mixture"} == {"none", "general"}


@pytest.mark.parametrize("name", grid_sweeps())
def test_every_planned_run_rebuilds_from_its_overrides(name):
    plan = expand(load_sweep(name))
    sample = random.Random(0).sample(plan.runs, min(12, len(plan.runs)))
    for run in sample:
        rebuilt = resolve(load_config(run.overrides))
        assert rebuilt == run.config
        assert ids_of(rebuilt).run == run.id


def test_missing_baselines_are_added_and_marked():
    plan = expand(spec(base=["mixture.tasks=[fpb,headline,open_orca]"], grid={"regularizer": "none,math"}))
    baselines = {tuple(r.config.mixture.tasks): r for r in plan.runs if r.role == "baseline"}
    # scored tasks only: open_orca has no metric, so no baseline is needed for it
    assert set(baselines) == {("fpb",), ("headline",)}
    assert all(r.added and r.config.regularizer.name == "none" for r in baselines.values())
    mixtures = [r for r in plan.runs if r.role == "mixture"]
    assert len(mixtures) == 2 and all(not r.added for r in mixtures)


def test_baselines_keep_the_recipe_and_seed():
    plan = expand(
        spec(
            base=["training=lora"],
            grid={"regularizer": "general"},
            mixtures=MixtureGrid(sets=[["fpb", "headline"]]),
            seeds=[1, 2],
        )
    )
    baselines = [r for r in plan.runs if r.role == "baseline"]
    assert sorted((r.config.mixture.tasks[0], r.config.seed) for r in baselines) == [
        ("fpb", 1),
        ("fpb", 2),
        ("headline", 1),
        ("headline", 2),
    ]
    assert all(r.config.training.name == "lora" for r in baselines)


def test_no_baselines_when_turned_off():
    plan = expand(spec(base=["mixture.tasks=[fpb,headline]"], baselines=False, base_model=False))
    assert [r.role for r in plan.runs] == ["mixture"]


def test_one_base_row_per_model_scoring_every_target():
    plan = expand(
        spec(grid={"model": "tiny,phi3_mini"}, mixtures=MixtureGrid(sets=[["fpb"], ["headline", "finqa"]]))
    )
    base = [r for r in plan.runs if r.role == "base"]
    assert sorted(r.config.model.name for r in base) == ["phi3_mini", "tiny"]
    for run in base:
        assert run.added and run.config.mixture.tasks == []
        assert run.row()["eval_tasks"] == ["finqa", "fiqa_sa", "fpb", "headline"]


def test_axes_use_hydra_sweep_grammar():
    plan = expand(
        spec(
            base=["mixture.tasks=[fpb]"],
            grid={
                "training.learning_rate": "1e-5,3e-5",
                "model": "glob(phi3_*)",
                "training.max_steps": "range(1,4)",
            },
            base_model=False,
        )
    )
    assert len(plan.runs) == 2 * 2 * 3
    assert {r.config.model.name for r in plan.runs} == {"phi3_mini", "phi3_small"}
    assert {r.config.training.max_steps for r in plan.runs} == {1, 2, 3}


def test_seeds_from_a_list_or_a_range():
    assert len(expand(spec(base=["mixture.tasks=[fpb]"], seeds="range(0,4)", base_model=False)).runs) == 4
    assert len(expand(spec(base=["mixture.tasks=[fpb]"], seeds=[3, 3, 5], base_model=False)).runs) == 2


def test_cli_overrides_replace_an_axis_or_join_the_base():
    plan = expand(load_sweep("cocktail_paper"), ["model=phi3_mini", "training.learning_rate=1e-5"])
    assert {r.config.model.name for r in plan.runs} == {"phi3_mini"}
    assert len([r for r in plan.runs if r.role != "base"]) == 55
    assert {r.config.training.learning_rate for r in plan.runs if r.role != "base"} == {1e-5}
    assert len(expand(load_sweep("smoke"), ["seed=0,1"]).runs) == 11


def test_include_and_exclude_filters():
    grid = MixtureGrid(tasks=["fpb", "headline", "finqa"], generators=["singles", "pairs", "all"])
    only_pairs = expand(spec(mixtures=grid, include=[{"size": 2}], baselines=False, base_model=False))
    assert {len(r.config.mixture.tasks) for r in only_pairs.runs} == {2}
    no_finqa = expand(spec(mixtures=grid, exclude=[{"contains": "finqa"}], base_model=False))
    assert all("finqa" not in r.config.mixture.tasks for r in no_finqa.runs)
    exact = expand(
        spec(mixtures=grid, include=[{"tasks": ["headline", "fpb"]}], baselines=False, base_model=False)
    )
    assert [r.config.mixture.tasks for r in exact.runs] == [["fpb", "headline"]]


@pytest.mark.parametrize(
    "fields,fragment",
    [
        ({"include": [{"modle": "tiny"}]}, "did you mean 'model'"),
        ({"include": [{"model": "nobody"}]}, "plans no runs"),
        ({"grid": {"model": "phi3,tiny"}}, "did you mean 'phi3_mini'"),
        ({"grid": {"model": "glob(gpt*)"}}, "matches no model"),
        ({"grid": {"seed": "1,2"}}, "seeds"),
        ({"grid": {"training.learing_rate": "1,2"}}, "did you mean 'training.learning_rate'"),
        ({"mixtures": MixtureGrid(tasks=["fpb", "nope"], generators=["singles"])}, "unknown task"),
        ({"mixtures": MixtureGrid(tasks=["fpb", "fiqa_sa"], generators=["all"])}, "evaluation-only"),
        ({"mixtures": MixtureGrid(tasks=[], generators=["all"])}, "plans no runs"),
        ({"grid": {"model": "tiny,phi3_mini"}}, "trains nothing"),  # base-model rows alone
        ({"grid": {"executor.retries": "0,1"}, "mixtures": MixtureGrid(sets=[["fpb"]])}, "one executor"),
        (
            {
                "base": ["regularizer=general", "regularizer.sources.open_orca=0"],
                "mixtures": MixtureGrid(sets=[["fpb"]]),
            },
            "must be positive",
        ),
        ({"seeds": [-1]}, "seeds"),
    ],
)
def test_bad_sweeps(fields, fragment):
    with pytest.raises(
        ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")
    ):
        expand(spec(**fields))


def test_only_filters_parse_and_select():
    from mixft.runner.plan.filters import matches, parse_only

    plan = expand(load_sweep("smoke"))
    flt = parse_only("role=baseline,contains=fpb")
    assert flt == {"role": "baseline", "contains": ["fpb"]}
    picked = [r for r in plan.runs if matches(r, [flt], default=True)]
    assert [r.config.mixture.tasks for r in picked] == [["fpb"]]
    assert parse_only("model=tiny|phi3_mini") == {"model": ["tiny", "phi3_mini"]}
    one = plan.runs[0].id
    assert [r.id for r in plan.runs if matches(r, [parse_only(f"id={one}")], default=True)] == [one]
    with pytest.raises(ConfigError, match="FIELD=VALUE"):
        parse_only("role")


def test_an_empty_sweep_is_refused_as_the_readme_says(tmp_path):
    # defect: `grid: {}` with no mixtures planned a lone base-model evaluation; README promises exit 2
    path = tmp_path / "empty.yaml"
    path.write_text("name: empty\ngrid: {}\n")
    assert_usage_error(invoke("plan", str(path)), "sweep 'empty' trains nothing")
    path.write_text("name: one\ngrid: {}\nbase:\n  - mixture.tasks=[fpb]\n")
    assert [row["role"] for row in plan_json(str(path))] == ["base", "baseline"]


def test_a_task_without_sample_rows_is_refused_when_planned(tmp_path):
    path = tmp_path / "held.yaml"
    path.write_text("name: held\nbase: [data.samples=true, 'task.fpb.name=fpb']\nmixtures: {sets: [[fpb]]}\n")
    assert plan_json(str(path))
    from mixft.runner.data.samples import check_sample_tasks

    with pytest.raises(ConfigError, match="task 'fomc' has no offline sample rows.*data.samples=false"):
        check_sample_tasks(["fpb", "fomc"])
