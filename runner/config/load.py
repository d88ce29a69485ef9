"""Compose conf/ with Hydra overrides into plain, checked dataclasses.

run: mixft config show training=lora seed=3

Hydra parses and applies the overrides (config/compose.py); config/overrides.py refuses the bad ones
in one line. `task.NAME.FIELD=value` overrides go to the task catalogue (config/catalog.py), which is
not part of Hydra's composition.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from functools import lru_cache

from hydra.core.override_parser.types import Override
from omegaconf import OmegaConf

from mixft.runner.config.catalog import group_options, load_suites, load_tasks
from mixft.runner.config.compose import COMPOSE_ERRORS, compose, default_option, describe_error, option_name
from mixft.runner.config.overrides import check_override, parse_overrides
from mixft.runner.config.run import sort_task_lists
from mixft.runner.config.schema import Config
from mixft.runner.config.search_path import Source, sources
from mixft.runner.config.trackers import TRACKER_CONFIGS, tracker_fields
from mixft.runner.config.types import check_types
from mixft.runner.config.validate import validate_config, validate_run
from mixft.runner.errors import ConfigError


@lru_cache(maxsize=256)
def _composed(overrides: tuple[str, ...], sources_: tuple[Source, ...]) -> Config:
    try:
        obj = OmegaConf.to_object(compose(parse_overrides(overrides)))
    except COMPOSE_ERRORS as exc:
        raise ConfigError(describe_error(exc)) from None
    assert isinstance(obj, Config)
    return obj


def is_task_override(override: Override) -> bool:
    """True for `task.NAME.FIELD=value`, which edits the task catalogue."""
    return override.key_or_group.split(".")[0] == "task"


def shared_config(overrides: Sequence[str]) -> Config:
    """Checked config for `overrides`, cached per override list: shared, so never mutate it.

    Planning asks for the same lists again and again (one per run), so each is composed once.
    """
    return _shared_config(tuple(overrides), sources())


@lru_cache(maxsize=1024)
def _shared_config(overrides: tuple[str, ...], sources_: tuple[Source, ...]) -> Config:
    parsed = without_replaced_settings(parse_overrides(overrides))
    executor, tracker = chosen_executor(parsed), chosen_option(parsed, "tracker")
    for override in parsed:
        check_override(override, executor=executor, tracker=tracker)
    hydra_overrides = tuple(o.input_line or "" for o in parsed if not is_task_override(o))
    composed = _composed(hydra_overrides, sources_)
    cfg = dataclasses.replace(
        composed,
        task=load_tasks([o for o in parsed if is_task_override(o)]),
        suite=load_suites(composed.eval.suites),
    )
    check_types(cfg, Config)
    validate_config(cfg)
    return sort_task_lists(cfg)


def without_replaced_settings(overrides: list[Override]) -> list[Override]:
    """Drop `tracker.FIELD=...` overrides that a later `tracker=OPTION` replaces: a sweep's
    `tracker=wandb tracker.project=x` followed by `tracker=none` (a rehearsal, a command line) tracks
    nothing, instead of failing on a setting that tracker does not have."""
    kept = []
    for i, override in enumerate(overrides):
        group, _, field = override.key_or_group.partition(".")
        later = [o for o in overrides[i + 1 :] if o.key_or_group == group and not o.is_sweep_override()]
        if group == "tracker" and field and later:
            name = chosen_option(later, group)
            if field.split(".")[0] not in tracker_fields(name) and name in TRACKER_CONFIGS:
                continue
        kept.append(override)
    return kept


def chosen_executor(overrides: Sequence[Override]) -> str:
    """The executor an override list runs on: its last `executor=OPTION`, else the default option."""
    return chosen_option(overrides, "executor")


def chosen_option(overrides: Sequence[Override], group: str) -> str:
    """The name an override list picks for a group: its last `GROUP=OPTION`, else the default option."""
    choices = [o.value() for o in overrides if o.key_or_group == group and not o.is_sweep_override()]
    option = str(choices[-1]) if choices else default_option(group)
    return option_name(group, option) if option in group_options(group) else option


def load_config(overrides: Sequence[str] = ()) -> Config:
    """Compose the packaged configs with Hydra overrides into a checked `Config`.

    Args:
        overrides: Hydra overrides such as `model=phi3_mini` or `training.learning_rate=1e-5`.

    Returns:
        The composed config as plain dataclasses, with the whole task catalogue.

    Raises:
        ConfigError: for any bad override or invalid value, as one line.
    """
    cfg = copy.deepcopy(shared_config(overrides))
    validate_run(cfg)
    return cfg


def clear_caches() -> None:
    """Forget composed configs and loaded option files, e.g. after conf/ changed in a live process."""
    from mixft.runner.config import catalog, compose, search_path

    for cached in (
        _shared_config,
        _composed,
        compose._node_at,
        compose._model_ref_node,
        compose._defaults_for,
        compose._default_option,
        catalog._task,
        catalog._suite,
        catalog._load_tasks,
        search_path._sources,
        search_path._origins,
    ):
        cached.cache_clear()
