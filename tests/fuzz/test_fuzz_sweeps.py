"""Fuzzing sweep files: generated YAML documents either plan or fail with one ConfigError line.

run: pytest tests/fuzz/test_fuzz_sweeps.py

Documents range from junk (random keys, types and nesting, broken YAML) to valid-looking sweeps with
a twist: odd generators, filters on fields no run has, seeds that are not seeds, grids that explode.
The run limit is lowered for these tests so that an explosion is refused within milliseconds; the
real limit has its own regression tests below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, targets
from mixft.runner.errors import ConfigError
from mixft.runner.plan import sweepfile
from mixft.runner.plan.filters import FIELDS, check_filters, matches, parse_only
from mixft.runner.plan.generators import generate_sets
from mixft.runner.plan.grid import expand
from mixft.runner.plan.ids import ids_of
from mixft.runner.plan.sweepfile import MixtureGrid, SweepSpec, load_sweep
from tests.fuzz.common import cli, config_error_or
from tests.fuzz.strategies import (
    CHOICE_GROUPS,
    TASKS,
    TRAINABLE,
    identifiers,
    junk_text,
    one_in,
    scalars,
    typed_overrides,
    wild_overrides,
)

# Low enough that every planned example stays fast; grids past it exercise the refusal.
FUZZ_MAX_RUNS = 150
SPEC_KEYS = tuple(SweepSpec.__dataclass_fields__)


@pytest.fixture(autouse=True, scope="module")
def _small_run_limit():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sweepfile, "MAX_RUNS", FUZZ_MAX_RUNS)
        yield


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "sweep.yaml"


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from([*TASKS, "singles", "pairs", "subsets(2)", "range(0,3)", "a,b", "${seed}"]),
)
# any YAML value: scalars, lists and mappings nested a few levels
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(identifiers, st.text(max_size=6)), inner, max_size=4),
    ),
    max_leaves=12,
)

generators = st.one_of(
    st.sampled_from(["singles", "pairs", "leave_one_out", "all", "subsets", "pair", "all()", " singles "]),
    st.integers(-2, 12).map(lambda k: f"subsets({k})"),
    st.sampled_from(
        ["subsets(99999999999999999999)", "subsets(" + "9" * 5000 + ")", "subsets(x)", "SUBSETS(2)"]
    ),
    junk_text,
)
task_name = st.one_of(
    st.sampled_from(TRAINABLE), st.sampled_from(TRAINABLE), st.sampled_from(TASKS), identifiers
)
mixtures = st.fixed_dictionaries(
    {},
    optional={
        "tasks": st.lists(task_name, max_size=6),
        "generators": st.lists(generators, max_size=3),
        "sets": st.lists(st.lists(task_name, max_size=3), max_size=3),
    },
)
axis_keys = st.one_of(
    st.sampled_from(
        [
            *CHOICE_GROUPS,
            "training.learning_rate",
            "training.max_steps",
            "seed",
            "mixture.tasks",
            "eval.batch_size",
        ]
    ),
    identifiers,
)
axis_values = st.one_of(
    st.sampled_from(["none,general", "tiny,phi3_mini", "glob(*)", "glob(phi3_*)", "1e-5,2e-5", "range(1,4)"]),
    st.builds(
        lambda a, b, c: f"range({a},{b},{c})", st.integers(-3, 40), st.integers(-3, 400), st.integers(-2, 9)
    ),
    st.sampled_from(
        ["range(0,1000000000)", "range(0,10,0)", "range(0,inf)", "range(0,nan)", "interval(0,1)"]
    ),
    st.lists(scalars, min_size=1, max_size=3),
    scalars,
)
seeds = st.one_of(
    st.lists(st.integers(-1, 5), max_size=3),
    st.builds(lambda a, b: f"range({a},{b})", st.integers(-2, 5), st.integers(-2, 300)),
    st.sampled_from(
        ["range(0,100000000)", "0,1", "1", "range(0,3,0.5)", "range(0,2**32)", "abc", "4294967296"]
    ),
    yaml_values,
)
filter_fields = st.one_of(
    st.sampled_from(FIELDS), st.sampled_from(["regularizer", "size", "contains"]), identifiers
)
filter_values = st.one_of(
    st.sampled_from([*TASKS, "none", "general", "tiny", "baseline", "mixture", "base", 1, 2, 3]),
    st.lists(st.sampled_from(TASKS), max_size=3),
    yaml_values,
)
filters = st.lists(st.dictionaries(filter_fields, filter_values, max_size=2), max_size=2)


def mostly(draw: st.DrawFn, usual: st.SearchStrategy, odd: st.SearchStrategy, n: int = 5) -> object:
    """A draw from `usual`, or about once in `n` draws from `odd`."""
    return draw(odd if one_in(draw, n) else usual)


@st.composite
def sweep_documents(draw: st.DrawFn) -> object:
    """A sweep document: usually a mapping with sweep keys (some of them junk), sometimes anything."""
    if one_in(draw, 20):
        return draw(yaml_values)
    doc: dict[object, object] = {"name": mostly(draw, identifiers, yaml_scalars, 10)}
    if draw(st.booleans()):
        doc["base"] = draw(
            st.lists(st.builds(lambda: mostly(draw, typed_overrides(), wild_overrides())), max_size=3)
        )
    if draw(st.booleans()):
        doc["grid"] = draw(st.dictionaries(axis_keys, axis_values, max_size=2))
    if draw(st.integers(0, 3)):
        doc["mixtures"] = draw(mixtures)
    for key, usual, odd in (
        ("seeds", seeds, yaml_values),
        ("include", filters, yaml_values),
        ("exclude", filters, yaml_values),
        ("baselines", st.booleans(), yaml_scalars),
        ("base_model", st.booleans(), yaml_scalars),
        ("description", st.text(max_size=20), yaml_values),
    ):
        if one_in(draw, 3):
            doc[key] = mostly(draw, usual, odd, 8)
    if one_in(draw, 10):  # a key of the wrong name, or a value of the wrong shape
        doc[draw(st.one_of(st.sampled_from(SPEC_KEYS), identifiers, yaml_scalars))] = draw(yaml_values)
    return doc


@st.composite
def sweep_texts(draw: st.DrawFn) -> str:
    """YAML text of a sweep document, sometimes cut short or with junk spliced in."""
    text = yaml.safe_dump(draw(sweep_documents()), allow_unicode=draw(st.booleans()), sort_keys=False)
    if one_in(draw, 8):  # a few characters replaced by junk, or the text cut short
        at = draw(st.integers(len(text) // 3, len(text)))
        cut = draw(st.integers(0, 3))
        junk = draw(st.one_of(junk_text, st.sampled_from(["\t", ": :", "&a", "*a", "!!int x", "%", "- ["])))
        text = text[:at] + junk + draw(st.sampled_from([text[at + cut :], ""]))
    return text


def plan_file(path: Path, text: str):
    path.write_text(text, encoding="utf-8")
    return config_error_or(lambda: expand(load_sweep(str(path))))


@given(sweep_texts())
def test_any_sweep_file_plans_or_fails_in_one_line(sweep_file, text):
    plan = plan_file(sweep_file, text)
    if isinstance(plan, ConfigError):
        return
    spec = load_sweep(str(sweep_file))
    ids = [run.id for run in plan.runs]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]{8}", i) for i in ids)
    for run in plan.runs:
        assert run.role in ("base", "baseline", "mixture")
        assert run.config.mixture.tasks == sorted(run.config.mixture.tasks)
        assert set(run.config.mixture.tasks) <= set(TRAINABLE)
        assert 0 <= run.config.seed < 2**32
    grid_runs = [run for run in plan.runs if not run.added]
    assert not any(matches(run, spec.exclude, default=False) for run in grid_runs)
    assert all(matches(run, spec.include, default=True) for run in grid_runs)
    if spec.baselines:  # every scored task of a mixture has its single-task baseline, same recipe
        baselines = [run.config for run in plan.runs if run.role == "baseline"]
        for run in plan.runs:
            for task in targets(run.config) if run.role == "mixture" else ():
                assert any(
                    b.mixture.tasks == [task]
                    and (b.model, b.training, b.seed)
                    == (run.config.model, run.config.training, run.config.seed)
                    for b in baselines
                ), (run.overrides, task)
    # a sample rebuilds from its overrides: the id is a pure function of the config
    for run in plan.runs[:2]:
        rebuilt = resolve(load_config(run.overrides))
        assert rebuilt == run.config and ids_of(rebuilt).run == run.id


@given(sweep_texts())
def test_mixft_plan_exits_0_or_2(sweep_file, text):
    sweep_file.write_text(text, encoding="utf-8")
    result = cli("plan", str(sweep_file), "--format", "json")
    if result.exit_code == 0:
        assert isinstance(json.loads(result.stdout), list)


@given(
    st.lists(task_name, max_size=12),
    st.lists(generators, max_size=4),
    st.lists(st.lists(task_name, max_size=3), max_size=3),
)
def test_generators_make_sets_or_fail_in_one_line(tasks, generators_, sets):
    grid = MixtureGrid(tasks=tasks, generators=generators_, sets=sets)
    out = config_error_or(lambda: generate_sets(grid, known=TASKS))
    if isinstance(out, ConfigError):
        return
    assert len(out) <= FUZZ_MAX_RUNS
    assert all(s and list(s) == sorted(s) and len(set(s)) == len(s) for s in out)
    assert len(out) == len(set(out))


@given(st.one_of(junk_text, identifiers, st.sampled_from(["smoke", "smok", "/", "~", ".", "x.yml", "a/b"])))
def test_any_sweep_name_plans_or_fails_in_one_line(name):
    if not name.startswith("-"):  # click reads those as options
        cli("plan", name, "--format", "json")


@pytest.fixture(scope="module")
def smoke_plan():
    return expand(load_sweep("smoke"))


@given(
    st.one_of(
        junk_text,
        st.lists(
            st.builds(
                lambda k, v: f"{k}={v}", filter_fields, st.sampled_from([*TASKS, "none", "1", "a|b", ""])
            ),
            max_size=3,
        ).map(",".join),
    )
)
def test_only_filters_parse_and_match_or_fail_in_one_line(smoke_plan, text):
    """`mixft sweep --only TEXT`: parsed, checked and matched against every run of the smoke plan."""

    def keep():
        flt = parse_only(text)
        check_filters([flt], [])
        return [run for run in smoke_plan.runs if matches(run, [flt], default=True)]

    config_error_or(keep)


# Regressions: inputs the fuzzers found, and what they must do now. The real run limit applies.


@pytest.fixture
def real_limit(monkeypatch):
    monkeypatch.setattr(sweepfile, "MAX_RUNS", 100_000)


def spec(**fields) -> SweepSpec:
    return SweepSpec(**{"name": "t", **fields})


@pytest.mark.usefixtures("real_limit")
@pytest.mark.parametrize(
    "fields,fragment",
    [
        # all hung (enumerating 10**8 or 10**9 values) before the count check
        ({"seeds": "range(0,100000000)"}, "seeds would make 100,000,000 runs"),
        ({"grid": {"training.max_steps": "range(0,1000000000)"}}, "would make 1,000,000,000 runs"),
        ({"grid": {"training.max_steps": "shuffle(range(0,1000000000))"}}, "would make 1,000,000,000 runs"),
        ({"grid": {"training.learning_rate": "range(0,inf,1e-9)"}}, "finite numbers"),
        ({"grid": {"training.learning_rate": "range(0,1,1e-12)"}}, "runs, more than the 100,000"),
        # an axis and seeds each within the limit, their product not
        (
            {"grid": {"training.max_steps": "range(0,1000)"}, "seeds": "range(0,1000)"},
            "(1000 training.max_steps x 1 task sets x 1000 seeds)",
        ),
        # interval() raised HydraException (internal error): it has no list of values
        ({"grid": {"training.learning_rate": "interval(0,1)"}}, "interval() is a continuous range"),
        # range(0,3,0) raised ValueError from range()
        ({"seeds": "range(0,3,0)"}, "step other than 0"),
        # int('abc'), int('0.0') and ['a'][...] raised ValueError and IndexError
        ({"seeds": "abc"}, "seeds must be whole numbers"),
        ({"seeds": "range(0,3,0.5)"}, "seeds must be whole numbers"),
        ({"seeds": ["a"]}, "seeds must be whole numbers"),
        ({"seeds": {"a": 1}}, "seeds must be whole numbers"),
        ({"seeds": [True]}, "seeds must be whole numbers"),
        # transformers' set_seed (numpy) refuses seeds of 2**32 and more, at training time
        ({"seeds": [2**32]}, "seeds must be whole numbers from 0 to 4294967295"),
        # int() of 5,000 digits raised ValueError (Python's limit on int-string conversion)
        ({"seeds": "9" * 5000}, "a number longer than 4,300 digits"),
        # glob() on a key that is no group listed nothing: "has no values"
        ({"grid": {"training.max_steps": "glob(*)"}}, "glob() picks options of a config group"),
    ],
)
def test_exploding_or_odd_axes_are_refused(fields, fragment):
    with pytest.raises(ConfigError) as err:
        expand(spec(base=["mixture.tasks=[fpb]"], **fields))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.usefixtures("real_limit")
def test_subsets_of_many_tasks_are_counted_before_they_are_made():
    # subsets(20) of 40 tasks is 137,846,528,820 sets: list(combinations(...)) ate all memory
    grid = MixtureGrid(tasks=[f"t{i}" for i in range(40)], generators=["subsets(20)"])
    with pytest.raises(ConfigError, match="137,846,528,820 task sets"):
        generate_sets(grid)
    # in a sweep the unknown names are refused first, naming the key
    with pytest.raises(ConfigError, match="unknown task in mixtures.tasks 't0'"):
        expand(spec(mixtures=grid))


@pytest.mark.parametrize(
    "generator,fragment",
    [
        # int() of 5,000 digits raised ValueError (Python's limit on int-string conversion)
        ("subsets(" + "9" * 5000 + ")", "1 <= K <= 2"),
        ("subsets(99999999999999999999)", "1 <= K <= 2"),
    ],
)
def test_huge_subset_sizes_are_refused(generator, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        generate_sets(MixtureGrid(tasks=["fpb", "headline"], generators=[generator]))


@pytest.mark.parametrize(
    "text,fragment",
    [
        # OmegaConf resolved these while reading the file: the environment's value went into base:
        # and was saved with every run; the clock changed run ids on every plan
        ("name: x\nbase: ['model.hf_id=${oc.env:HOME}']\n", "'base[0]' holds an interpolation"),
        ("name: x\ndescription: ${now:%H%M%S}\n", "'description' holds an interpolation"),
        ("name: x\ngrid: {training.max_steps: '${seed}'}\n", "'grid.training.max_steps' holds"),
        # RecursionError inside OmegaConf (internal error)
        ("name: x\ngrid:\n  a: " + "[" * 200 + "]" * 200 + "\n", "nested more than 32 levels"),
        # PyYAML's constructors raised ValueError, KeyError and AttributeError
        ("name: 2024-02-30\n", "malformed YAML: a value cannot be read"),
        ("name: x\nbaselines: !!bool maybe\n", "malformed YAML"),
        ("name: x\nseeds: !!int abc\n", "malformed YAML"),
        ("name: x\nseeds: !!timestamp x\n", "malformed YAML"),
        # "- key: value" is a YAML mapping: it reached Hydra's parser, which raised TypeError (ord())
        ("name: x\nbase:\n- data.sample_eval_rows: 1\n", "'base[0]': expected text"),
        (
            "name: x\nmixtures: {tasks: [[fpb]], generators: [singles]}\n",
            "'mixtures.tasks[0]': expected text",
        ),
        # an explicit set with a task that does not exist, named by its key
        ("name: x\nmixtures: {sets: [[fpb, nope]]}\n", "unknown task in mixtures.sets 'nope'"),
    ],
)
def test_bad_sweep_files_fail_in_one_line(sweep_file, text, fragment):
    result = cli("plan", str(sweep_file.parent / "regression.yaml"), "--format", "json")
    assert result.exit_code == 2  # not written yet
    (sweep_file.parent / "regression.yaml").write_text(text, encoding="utf-8")
    result = cli("plan", str(sweep_file.parent / "regression.yaml"), "--format", "json")
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


def test_a_yaml_alias_bomb_is_refused_quickly(sweep_file):
    # nine levels of ten aliases each: 10**9 values once expanded; OmegaConf took minutes, then memory
    lines = ["name: x", "grid:", "  x0: &a0 [q,q,q,q,q,q,q,q,q,q]"]
    lines += [f"  x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (sweep_file.parent / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("plan", str(sweep_file.parent / "bomb.yaml"))
    assert result.exit_code == 2 and "YAML aliases" in result.stderr


@pytest.mark.parametrize("name", ["~nobody_at_all/sweep.yaml", "x" * 5000 + ".yaml"])
def test_unusable_sweep_paths_fail_in_one_line(name):
    # Path.expanduser raised RuntimeError, and Path.is_file OSError (name too long)
    result = cli("plan", name)
    assert result.exit_code == 2


def test_a_filtered_out_run_is_not_checked():
    """A grid run that cannot be trained (a task that is also a regulariser) may be left out by a filter."""
    fields = {
        "grid": {"regularizer": "none,general"},
        "mixtures": MixtureGrid(tasks=["fpb", "open_orca"], generators=["all"]),
    }
    with pytest.raises(ConfigError, match=r"both mixture tasks and regulariser sources.*exclude"):
        expand(spec(**fields))
    plan = expand(spec(**fields, exclude=[{"regularizer": "general", "contains": "open_orca"}]))
    assert {r.config.regularizer.name for r in plan.runs} == {"none"}
