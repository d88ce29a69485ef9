"""Composing every option of every group, and the errors for bad overrides."""

from __future__ import annotations

import dataclasses

import pytest
from omegaconf import OmegaConf

from mixft.runner.config.catalog import group_options
from mixft.runner.config.compose import compose, hydra_compose
from mixft.runner.config.load import load_config
from mixft.runner.config.overrides import parse_overrides
from mixft.runner.config.schema import GROUPS, Config, ModelConfig
from mixft.runner.errors import ConfigError

STUDY_TASKS = {
    "headline",
    "fpb",
    "fin_ner_cls",
    "convfinqa",
    "finqa",
    "twitter_topics",
    "twitter_sa",
    "open_orca",
    "orca_math",
    "fiqa_sa",
}
CHOICE_GROUPS = [g for g in GROUPS if g != "task"]


def test_groups_offer_the_required_options():
    assert set(group_options("model")) == {"tiny", "phi3_mini", "phi3_small", "llama31_8b", "mistral_7b"}
    assert set(group_options("task")) >= STUDY_TASKS  # a project may add its own
    assert set(group_options("regularizer")) == {"none", "general", "math", "general_math"}
    assert {"full_paper", "lora", "smoke"} <= set(group_options("training"))
    assert set(group_options("tracker")) == {"wandb", "mlflow", "none"}
    assert "local" in group_options("executor")


@pytest.mark.parametrize("group,option", [(g, o) for g in CHOICE_GROUPS for o in group_options(g)])
def test_every_option_composes_to_dataclasses(group, option):
    cfg = load_config([f"{group}={option}", "mixture.tasks=[fpb]"])
    assert isinstance(cfg, Config)
    section = getattr(cfg, group)
    assert dataclasses.is_dataclass(section)
    assert section.name == option  # an option's name is its file name


@pytest.mark.parametrize("group,option", [(g, o) for g in CHOICE_GROUPS for o in group_options(g)])
def test_fast_composition_equals_hydra(group, option):
    overrides = [f"{group}={option}", "seed=3", "+training.sft_kwargs.neftune_noise_alpha=5"]
    fast = compose(parse_overrides(overrides))
    slow = hydra_compose(overrides)
    assert OmegaConf.to_container(fast) == OmegaConf.to_container(slow)


def test_every_task_is_typed_and_complete():
    tasks = load_config([]).task
    assert set(tasks) >= STUDY_TASKS
    assert tasks["headline"].labels == ["Yes", "No"]  # strings, not YAML booleans
    assert tasks["fpb"].label_map == {"0": "negative", "1": "neutral", "2": "positive"}
    assert tasks["twitter_sa"].label_map == {"0": "Bearish", "1": "Bullish", "2": "Neutral"}
    assert len(tasks["twitter_topics"].labels) == 20
    assert tasks["twitter_topics"].label_map["19"] == "Stock Movement"
    assert tasks["twitter_topics"].source.eval_split == "validation"
    assert tasks["finqa"].columns.input_after == "Context: "
    assert not tasks["fiqa_sa"].trainable
    assert tasks["open_orca"].pool_ratio == 1.0 and tasks["orca_math"].pool_ratio == 0.5
    for name, task in tasks.items():
        assert task.name == name
        assert task.source.hf_id or name not in STUDY_TASKS  # the study's tasks come from the hub


def test_models_name_their_hub_ids():
    models = {name: load_config([f"model={name}"]).model for name in group_options("model")}
    assert models["phi3_mini"].hf_id == "microsoft/Phi-3-mini-128k-instruct"
    assert models["tiny"].hf_id is None and models["tiny"].build is not None
    assert not models["llama31_8b"].trust_remote_code
    assert all(isinstance(m, ModelConfig) and m.num_parameters > 0 for m in models.values())


def test_full_paper_recipe_matches_the_study():
    training = load_config(["training=full_paper"]).training
    assert training.learning_rate == 3e-6 and training.lr_scheduler_type == "cosine"
    assert training.max_grad_norm == 1.0 and training.per_device_train_batch_size == 8
    assert training.max_length == 4096 and training.method == "full"
    rules = [(r.max_sources, r.num_train_epochs, r.warmup_steps) for r in training.epochs_by_sources]
    assert rules == [(3, 3.0, 0), (None, 2.0, 10)]


def test_regularizers_are_ratios_of_the_pool():
    assert load_config(["regularizer=general_math", "mixture.tasks=[fpb]"]).regularizer.sources == {
        "open_orca": 1.0,
        "orca_math": 0.5,
    }
    assert load_config(["regularizer=none"]).regularizer.sources == {}


def test_overrides_reach_groups_tasks_and_free_dicts():
    cfg = load_config(
        [
            "training=lora",
            "training.learning_rate=2e-4",
            "task.fpb.max_examples=12",
            "+mixture.caps.headline=50",
            "+training.sft_kwargs.neftune_noise_alpha=5",
        ]
    )
    assert cfg.training.method == "lora" and cfg.training.learning_rate == 2e-4
    assert cfg.task["fpb"].max_examples == 12
    assert cfg.mixture.caps == {"headline": 50}
    assert cfg.training.sft_kwargs == {"neftune_noise_alpha": 5}


def test_load_config_returns_a_private_copy():
    first = load_config([])
    first.training.learning_rate = 1.0
    first.task["fpb"].labels.append("x")
    again = load_config([])
    assert again.training.learning_rate != 1.0 and "x" not in again.task["fpb"].labels


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        (["model=phi3"], "did you mean 'phi3_mini'"),
        (["training.learing_rate=1"], "did you mean 'training.learning_rate'"),
        (["training.learning_rate=abc"], "training.learning_rate"),
        (["+foo=1"], "unknown key 'foo'"),
        (["+training.warmup=1"], "unknown key 'training.warmup'"),
        (["++training.learning_rate=1"], "would be dropped"),
        (["mixture.tasks=[fpbb]"], "did you mean 'fpb'"),
        (["mixture.tasks=[fpb,fpb]"], "twice"),
        (["mixture.tasks=[fiqa_sa]"], "evaluation-only"),
        (["regularizer=general", "regularizer.sources.open_orca=0"], "must be positive"),
        (["regularizer=math", "regularizer.sources.orca_math=-0.5"], "must be positive"),
        (["task.fpb.pool_ratio=-1", "task.fpb.max_examples=null"], "must be positive"),
        (["model=tiny,phi3_mini"], "is a sweep"),
        (["task=[fpb]"], "mixture.tasks"),
        (["mixture.caps.fpb=3"], "+mixture.caps.fpb"),
        (["model.name.x=1"], "single value"),
        (["nonsense"], "cannot parse"),
        (["mixture.tasks=[fpb]", "+mixture.shares.fpb=0.5"], "sum to 1"),
        (["seed=-1"], "seed"),
    ],
)
def test_bad_overrides_raise_one_line(overrides, fragment):
    with pytest.raises(ConfigError) as err:
        load_config(overrides)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message


def test_a_regulariser_needs_a_pool():
    with pytest.raises(ConfigError, match="pool"):
        load_config(["regularizer=general"])


def test_a_malformed_option_file_names_its_file_and_line(tmp_path, monkeypatch):
    for group in ("model", "task"):
        (tmp_path / "conf" / group).mkdir(parents=True)
    (tmp_path / "conf" / "model" / "broken.yaml").write_text("name: broken\nhf_id: [unclosed\n")
    (tmp_path / "conf" / "task" / "fpb.yaml").write_text("name: fpb\nkind: classification\n  labels: x\n")
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+: malformed YAML"):
        load_config(["model=broken"])
    with pytest.raises(ConfigError, match=r"fpb\.yaml:\d+: malformed YAML"):
        load_config([])


def test_a_secret_nested_in_a_value_is_refused_when_the_config_loads():
    # one rule, checked at composition: a token inside a dict-valued override never reaches a run dir
    with pytest.raises(
        ConfigError, match="'training.sft_kwargs.model_init_kwargs.token' looks like a secret"
    ):
        load_config(["+training.sft_kwargs.model_init_kwargs={token: canary-0042}"])
    with pytest.raises(ConfigError, match="looks like a secret"):
        load_config(["+training.sft_kwargs.hub_token=canary-0042"])
    assert load_config(["eval.max_new_tokens=4"]).eval.max_new_tokens == 4  # "tokens" is no secret


def test_a_tasks_kind_decides_its_metric():
    with pytest.raises(ConfigError, match=r"metric \(kind classification\) 'numeric_accuracy'"):
        load_config(["task.fpb.metric=numeric_accuracy"])
    with pytest.raises(ConfigError, match="unknown value for task 'fpb' kind 'essay'"):
        load_config(["task.fpb.kind=essay"])


def test_typical_sizes_change_the_estimate_and_never_the_run_id():
    from mixft.runner.config.run import resolve
    from mixft.runner.plan.cost import run_cost
    from mixft.runner.plan.hardware import hardware
    from mixft.runner.plan.ids import ids_of
    from mixft.runner.store.measured import StoreStats

    base = ["model=phi3_mini", "training=full_paper", "mixture.tasks=[fpb]"]
    plain, bigger = (
        resolve(load_config([*base, *extra])) for extra in ([], ["task.fpb.typical.tokens_per_row=700"])
    )
    assert ids_of(plain).run == ids_of(bigger).run
    costs = [run_cost(cfg, "x", StoreStats(), hardware()).tokens for cfg in (plain, bigger)]
    assert costs[1] == costs[0] * 10  # fpb: 70 tokens a row in its YAML


def test_a_plain_task_file_is_typed_as_omegaconf_types_it():
    from omegaconf import OmegaConf

    from mixft.runner.config.schema import TaskConfig
    from mixft.runner.config.search_path import packaged
    from mixft.runner.config.types import from_plain
    from mixft.runner.config.yamlio import load_yaml

    def typed(data):
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TaskConfig), data))

    for path in sorted((packaged().conf / "task").glob("*.yaml")):
        data = load_yaml(path)
        fast = from_plain(TaskConfig, data)
        assert fast is not None and repr(fast) == repr(typed(data)), path  # same values, same types
    fpb = load_yaml(packaged().conf / "task" / "fpb.yaml")
    assert repr(from_plain(TaskConfig, fpb | {"pool_ratio": 2, "max_examples": None})) == repr(
        typed(fpb | {"pool_ratio": 2, "max_examples": None})
    )  # 2 -> 2.0, as OmegaConf makes it (ids hash the type too)
    for odd in ({"labels": [True, False]}, {"prompt": 12}, {"colour": "red"}, {"columns": {"inputs": "x"}}):
        assert from_plain(TaskConfig, fpb | odd) is None, odd  # OmegaConf converts or refuses these
    assert from_plain(TaskConfig, {k: v for k, v in fpb.items() if k != "kind"}) is None  # required
