"""Store identity v2 (store/identity.py): a run id is `<training>-<evaluation>`; what each part hashes,
and what keeps both stable across releases.

run: .venv/bin/python -m pytest tests/unit/test_identity.py -q

- A config field added later with a default changes no id, in any section of any packaged sweep's run.
- Every schema default is pinned in snapshots/identity-defaults.json with IDENTITY_VERSION: a field at
  its default is left out of identities, so changing a default (or removing a field) changes what every
  stored id means. Bump IDENTITY_VERSION (and give stores a migration, store/migrate.py), then
  regenerate the snapshot (new fields are simply added to it):

      MIXFT_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/unit/test_identity.py -q -k defaults

- A local file's content is in the ids of the runs that read it, and its path is not.
- Evaluation settings change only the evaluation part, training settings change both, and the base
  model's training is its model alone (test_runs.py checks the same on whole ids).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import shutil
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mixft.runner.config import eval_schema, schema
from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.config.schema import Config
from mixft.runner.data.fingerprint import data_ids
from mixft.runner.plan.grid import PlannedRun, expand
from mixft.runner.plan.ids import Identifier, ids_of
from mixft.runner.plan.sweepfile import load_sweep
from mixft.runner.store.identity import (
    IDENTITY_VERSION,
    LABELS,
    eval_identity,
    split_id,
    training_identity,
)
from tests.unit.helpers import grid_sweeps

DEFAULTS = Path(__file__).parent / "snapshots" / "identity-defaults.json"
UPDATE = "MIXFT_UPDATE_SNAPSHOTS"

# Every dataclass of the schema: the sections of a run's config, at any depth.
SECTIONS: list[type] = [
    cls
    for _, cls in inspect.getmembers(schema, inspect.isclass)
    if dataclasses.is_dataclass(cls) and cls.__module__ in (schema.__name__, eval_schema.__name__)
]


def config(*overrides: str) -> Config:
    return resolve(load_config(list(overrides)))


def ids(*overrides: str) -> tuple[str, str]:
    """(training id, evaluation part) of the run these overrides build."""
    return split_id(ids_of(config(*overrides)).run)


# --- a field added later -------------------------------------------------------------------------


@functools.cache
def planned() -> tuple[PlannedRun, ...]:
    """Every run of every packaged sweep."""
    return tuple(run for name in grid_sweeps() for run in expand(load_sweep(name)).runs)


@functools.cache
def added_later(cls: type) -> type:
    """`cls` as a later release might have it: one more field, with a default."""
    return dataclasses.make_dataclass(
        f"{cls.__name__}Later",
        [("added_later", int, dataclasses.field(default=7))],
        bases=(cls,),
    )


class Upgrade:
    """Rebuilds configs with every instance of `cls` replaced by `added_later(cls)`, same values (and
    `added_later=value` when given). Shared sections stay shared, so their digests are memoised too."""

    def __init__(self, cls: type, value: int | None = None) -> None:
        self.cls, self.later = cls, added_later(cls)
        self.extra = {} if value is None else {"added_later": value}
        self.replaced = 0
        self._memo: dict[int, tuple[Any, Any]] = {}

    def __call__(self, value: Any) -> Any:
        hit = self._memo.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            values = {f.name: self(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
            if type(value) is self.cls:
                self.replaced += 1
                out = self.later(**values, **self.extra)
            else:
                out = dataclasses.replace(value, **values)
        elif isinstance(value, list | tuple):
            out = type(value)(self(v) for v in value)
        elif isinstance(value, dict):
            out = {k: self(v) for k, v in value.items()}
        else:
            out = value
        self._memo[id(value)] = (value, out)
        return out


def upgraded_ids(cls: type, value: int | None = None) -> tuple[list[str], int]:
    """Ids of every planned run with `cls` upgraded, and how many instances were replaced."""
    upgrade, identify = Upgrade(cls, value), Identifier()
    found = [identify(upgrade(run.config)).run for run in planned()]
    return found, upgrade.replaced


def trains(run: PlannedRun) -> bool:
    return run.role != "base"


def always(run: PlannedRun) -> bool:
    return True


def never(run: PlannedRun) -> bool:
    return False


def builds_its_model(run: PlannedRun) -> bool:
    return run.config.model.build is not None


def has_epoch_rules(run: PlannedRun) -> bool:
    return trains(run) and bool(run.config.training.epochs_by_sources)


def scores_suites(run: PlannedRun) -> bool:
    return bool(run.config.eval.suites)


# Which runs' (training id, evaluation part) a non-default value of a section's new field changes.
# Config itself is left out: identities are built from its named sections and `seed`, so a top-level
# field added to Config enters no id until store/identity.py names it.
CHANGES: dict[str, tuple[Callable[[PlannedRun], bool], Callable[[PlannedRun], bool]]] = {
    "ModelConfig": (always, always),
    "LocalModelConfig": (builds_its_model, builds_its_model),
    "MixtureConfig": (trains, trains),
    "BudgetConfig": (trains, trains),
    "RegularizerConfig": (trains, trains),
    "TrainingConfig": (trains, trains),
    "LoraConfig": (trains, trains),
    "EpochRule": (has_epoch_rules, has_epoch_rules),
    "DataConfig": (trains, always),
    "TaskConfig": (trains, always),
    "SourceConfig": (trains, always),
    "ColumnsConfig": (trains, always),
    "EvalConfig": (never, always),
    "SuiteConfig": (never, scores_suites),
    "TypicalSizes": (never, never),  # a label: cost estimates only
    "ModelShape": (never, never),  # a label: memory estimates only
}


def test_every_section_says_which_ids_it_enters():
    assert {cls.__name__ for cls in SECTIONS} == {*CHANGES, "Config"}


@pytest.mark.parametrize("cls", SECTIONS, ids=lambda cls: cls.__name__)
def test_a_field_added_later_with_a_default_changes_no_id(cls):
    before = [run.id for run in planned()]
    after, replaced = upgraded_ids(cls)
    assert replaced, f"no packaged sweep's run has a {cls.__name__}: the test would check nothing"
    changed = [run.overrides for run, old, new in zip(planned(), before, after, strict=True) if old != new]
    assert not changed, f"adding {cls.__name__}.added_later (default 7) changed {len(changed)} ids"
    if cls.__name__ not in CHANGES:
        return
    # and the check can fail: a value other than the default enters the ids of the runs it affects
    valued, _ = upgraded_ids(cls, 8)
    train_changes, eval_changes = CHANGES[cls.__name__]
    for run, old, new in zip(planned(), before, valued, strict=True):
        (old_training, old_eval), (new_training, new_eval) = split_id(old), split_id(new)
        assert (old_training != new_training) == train_changes(run), (cls.__name__, run.overrides)
        assert (old_eval != new_eval) == eval_changes(run), (cls.__name__, run.overrides)


# --- defaults pinned -----------------------------------------------------------------------------

# Sections no identity reads (labels, `LABELS`, are left out at any depth).
UNHASHED = {"tracker", "executor"}
REQUIRED = "<no default>"  # a field without a default (a dataclasses.MISSING default)


def _section_type(hint: Any) -> tuple[type | None, str]:
    """The schema dataclass a field holds (directly, optionally, in a list or as dict values), and
    the suffix its path takes: "" for one, "[]" for a list's items, ".*" for a dict's values."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args:
        found, _ = _section_type(args[0])
        return found, "[]"
    if origin is dict and len(args) == 2:
        found, _ = _section_type(args[1])
        return found, ".*"
    if args:  # X | None
        found = [a for a in args if dataclasses.is_dataclass(a)]
        return (found[0], "") if found else (None, "")
    return (hint, "") if dataclasses.is_dataclass(hint) else (None, "")


def _pinned(value: Any) -> Any:
    """A default as JSON; a section's default as the fields it sets apart from the section's own
    defaults (so that a field added to the section does not read as a changed default)."""
    if dataclasses.is_dataclass(value):
        own = {f.name: _default(f) for f in dataclasses.fields(value)}
        return {
            "section": {
                f.name: _pinned(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if getattr(value, f.name) != own[f.name]
            }
        }
    if isinstance(value, list | tuple):
        return [_pinned(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _pinned(v) for k, v in value.items()}
    return value


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return REQUIRED


def schema_defaults(cls: type = Config, path: str = "") -> dict[str, Any]:
    """Every field's default by its path in a run's config: `seed`, `training.lora.r`,
    `task.*.source.path`, `training.epochs_by_sources[].max_sources`."""
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        where = f"{path}{field.name}"
        if field.name in LABELS or where in UNHASHED:
            continue  # no id reads them: their defaults may change freely
        out[where] = json.loads(json.dumps(_pinned(_default(field))))
        nested, suffix = _section_type(hints[field.name])
        if nested is not None:
            out |= schema_defaults(nested, f"{where}{suffix}.")
    return out


def test_the_defaults_reach_every_section_an_id_reads():
    reached = set()

    def walk(cls: type, path: str = "") -> None:
        reached.add(cls.__name__)
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            nested, suffix = _section_type(hints[field.name])
            where = f"{path}{field.name}"
            if nested is not None and field.name not in LABELS and where not in UNHASHED:
                walk(nested, f"{where}{suffix}.")

    walk(Config)
    assert reached == {cls.__name__ for cls in SECTIONS} - {"TrackerConfig", "TypicalSizes", "ModelShape"}


def test_defaults_are_pinned_with_the_identity_version():
    now = {"identity_version": IDENTITY_VERSION, "defaults": schema_defaults()}
    if os.environ.get(UPDATE) == "1":
        DEFAULTS.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    pinned = json.loads(DEFAULTS.read_text())
    regenerate = f"{UPDATE}=1 .venv/bin/python -m pytest tests/unit/test_identity.py -k defaults"
    assert pinned["identity_version"] == IDENTITY_VERSION, (
        f"IDENTITY_VERSION is {IDENTITY_VERSION} but {DEFAULTS.name} pins version "
        f"{pinned['identity_version']}: regenerate it with {regenerate}"
    )
    gone = object()
    changed = sorted(k for k, v in pinned["defaults"].items() if now["defaults"].get(k, gone) != v)
    assert not changed, (
        f"changed or removed defaults {changed}: a field at its default is left out of every run id, so "
        f"this changes what every stored id means; bump IDENTITY_VERSION in store/identity.py (and give "
        f"stores a migration), then regenerate {DEFAULTS.name} with {regenerate}"
    )


def test_the_pinned_defaults_are_the_schemas():
    defaults = schema_defaults()
    assert defaults["training.learning_rate"] == 2e-5 and defaults["training.keep"] is None
    assert defaults["training.lora"] == {"section": {}} and defaults["training.lora.r"] == 8
    assert defaults["training.epochs_by_sources"] == []
    assert defaults["training.epochs_by_sources[].num_train_epochs"] == 1.0
    assert defaults["task.*.source.eval_split"] == "test" and defaults["model.build.vocab_size"] == 1024
    assert defaults["model.context_length"] == 4096
    assert "model.name" not in defaults and "tracker.project" not in defaults  # in no id
    assert "model.num_parameters" not in defaults  # only cost estimates read it
    assert "task.*.typical.tokens_per_row" not in defaults
    assert defaults["seed"] == 42
    # a new field is no failure: it is added the next time the snapshot is regenerated
    assert set(json.loads(DEFAULTS.read_text())["defaults"]) <= set(defaults)


# --- data identity -------------------------------------------------------------------------------


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


FPB = [{"sentence": f"Profit rose {i}%", "label": "2"} for i in range(5)]
HEADLINE = [{"instruction": "Does it say gold went up?", "input": "Gold up", "output": "Yes"}] * 5


def local_ids(folder: Path) -> dict[str, tuple[str, str]]:
    """(training id, evaluation part) of runs reading fpb and headline from files in `folder`."""
    paths = [f"task.{task}.source.path='{folder}/{task}_{{split}}.jsonl'" for task in ("fpb", "headline")]
    runs = {
        "trains fpb": ["mixture.tasks=[fpb]", "eval.tasks=[]"],
        "fpb in its pool": [
            "mixture.tasks=[headline]",
            "mixture.pool=[fpb,headline]",
            "regularizer=general",
            "eval.tasks=[]",
        ],
        "scores fpb": ["mixture.tasks=[headline]", "eval.tasks=[fpb]"],
        "base scores fpb": ["mixture.tasks=[]", "eval.tasks=[fpb]"],
        "headline only": ["mixture.tasks=[headline]", "eval.tasks=[]"],
    }
    return {name: ids(*paths, *overrides) for name, overrides in runs.items()}


def test_a_local_files_content_is_in_the_ids_of_the_runs_that_read_it(tmp_path):
    data = tmp_path / "data"
    write_rows(data / "fpb_train.jsonl", FPB)
    write_rows(data / "fpb_test.jsonl", FPB)
    write_rows(data / "headline_train.jsonl", HEADLINE)
    write_rows(data / "headline_test.jsonl", HEADLINE)
    before = local_ids(data)
    assert len({training for training, _ in before.values()}) == len(before) - 1
    assert before["scores fpb"][0] == before["headline only"][0]  # one training, two evaluations

    # one row of fpb's training file: new trainings for the runs that train on it (or size a pool by it)
    write_rows(data / "fpb_train.jsonl", [*FPB[:2], {"sentence": "Profit fell", "label": "0"}, *FPB[3:]])
    edited = local_ids(data)
    for name in ("trains fpb", "fpb in its pool"):
        assert edited[name][0] != before[name][0] and edited[name][1] != before[name][1], name
    for name in ("scores fpb", "base scores fpb", "headline only"):
        assert edited[name] == before[name], name

    # one row of fpb's eval file: the same trainings, new evaluations for the runs that score fpb
    write_rows(data / "fpb_test.jsonl", [*FPB[:4], {"sentence": "Profit fell", "label": "0"}])
    scored = local_ids(data)
    for name, (training, evaluation) in scored.items():
        assert training == edited[name][0], name
        assert (evaluation != edited[name][1]) == (name in ("trains fpb", "scores fpb", "base scores fpb"))

    # the same files in another folder: the same runs
    shutil.copytree(data, tmp_path / "moved")
    shutil.rmtree(data)
    assert local_ids(tmp_path / "moved") == scored


def test_the_sample_suites_settings_enter_the_stage_that_reads_them():
    base = ("data.samples=true", "mixture.tasks=[fpb]")
    training, evaluation = ids(*base)
    fewer_eval_rows = ids(*base, "data.sample_eval_rows=64")
    assert fewer_eval_rows[0] == training and fewer_eval_rows[1] != evaluation
    assert ids(*base, "data.sample_train_rows=64")[0] != training
    assert ids("mixture.tasks=[fpb]")[0] != training  # the sample suite's rows are not the hub's


# --- the two stages ------------------------------------------------------------------------------


def identities(*overrides: str) -> tuple[dict[str, Any], dict[str, Any]]:
    cfg = config(*overrides)
    data = data_ids(cfg)
    return training_identity(cfg, data), eval_identity(cfg, data)


def test_each_stage_hashes_only_what_it_reads():
    base = ("mixture.tasks=[fpb]",)
    training, evaluation = identities(*base)
    for eval_only in ("eval.max_examples=10", "task.fpb.max_new_tokens=16", "eval.tasks=[headline]"):
        changed = identities(*base, eval_only)
        assert changed[0] == training and changed[1] != evaluation, eval_only
    for train_only in (
        "task.fpb.max_examples=10",
        "training.learning_rate=1e-4",
        "seed=1",
        "model=phi3_mini",
    ):
        changed = identities(*base, train_only)
        assert changed[0] != training and changed[1] == evaluation, train_only
    # a setting both read (the prompt) is in both; the evaluation part of the id covers the training's too
    both = identities(*base, "task.fpb.prompt=Say it")
    assert both[0] != training and both[1] != evaluation
    assert ids(*base, "seed=1")[1] != ids(*base)[1]


def test_eval_changes_keep_the_training_and_training_changes_change_both():
    base = ("model=phi3_mini", "training=lora", "mixture.tasks=[fpb,headline]")
    training, evaluation = ids(*base)
    for override in ("eval.max_examples=50", "eval=smoke", "eval.include_targets=false"):
        changed = ids(*base, override)
        assert changed[0] == training and changed[1] != evaluation, override
    for override in ("training.lora.r=16", "training=full_paper", "mixture.max_repeat=1.5"):
        changed = ids(*base, override)
        assert changed[0] != training and changed[1] != evaluation, override


def test_the_base_models_training_is_its_model_alone():
    base = ("mixture.tasks=[]", "eval.tasks=[fpb]")
    training, evaluation = ids(*base)
    for override in ("training=lora", "seed=1", "training.learning_rate=1", "data.samples=true"):
        assert ids(*base, override)[0] == training, override
    other_tasks = ids(*base, "eval.tasks=[headline]")
    assert other_tasks[0] == training and other_tasks[1] != evaluation
    for model in ("model=phi3_mini", "model.revision=abc123", "model.build.hidden_size=32"):
        assert ids(*base, model)[0] != training, model
    assert ids("mixture.tasks=[fpb]")[0] != training  # no training of that model on data


# --- suites --------------------------------------------------------------------------------------


def test_a_suite_enters_only_the_evaluation_and_by_its_content(tmp_path, monkeypatch):
    from mixft.runner.config.load import clear_caches
    from tests.toy_suite import write_toy_suite

    suite = write_toy_suite(tmp_path / "project")
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path / "project"))
    run = ["model=tiny", "data.samples=true", "mixture.tasks=[fpb]"]
    without, scored = ids(*run), ids(*run, "eval.suites=[toy]")
    assert scored[0] == without[0] and scored[1] != without[1]  # the same weights, scored again

    data = suite.parent / "toy" / "toy_mc.jsonl"
    data.write_text(data.read_text() + '{"a": 9, "b": 0, "label": 0}\n')
    edited = ids(*run, "eval.suites=[toy]")
    assert edited[0] == without[0] and edited[1] not in (scored[1], without[1])  # its documents changed

    suite.write_text(suite.read_text().replace("num_fewshot: 0", "num_fewshot: 3"))
    clear_caches()
    assert ids(*run, "eval.suites=[toy]")[1] not in (edited[1], scored[1])
