"""Hydra composition of conf/config.yaml, with a fast path for planning many runs.

run: mixft plan cocktail_paper    (one Hydra composition, whatever the number of models)

A Hydra compose costs ~0.1 s on a laptop core, most of it composing Hydra's own config. A sweep
needs many override lists that differ in group choices (model=...) and values, so `compose` asks
Hydra once for the defaults and then applies each list the way Hydra does: a group choice replaces
the group's node with its option file merged onto the group schema, and value overrides go through
Hydra's own `_apply_overrides_to_config`. That holds while option files are plain (no defaults
list, no package header, no interpolation); otherwise every list goes through Hydra.
tests/unit/test_config.py checks that both paths agree for every option of every group.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose_api
from hydra import initialize_config_module
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.types import Override
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.search_path_plugin import SearchPathPlugin
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mixft.runner.config.executors import executor_config
from mixft.runner.config.model_refs import is_model_ref, model_fields
from mixft.runner.config.schema import GROUPS, Config, ModelConfig
from mixft.runner.config.search_path import Source, config_file, option_file, projects, sources
from mixft.runner.config.trackers import tracker_config
from mixft.runner.config.yamlio import bad_field, load_yaml
from mixft.runner.errors import ConfigError

CONFIG_MODULE = "mixft.conf"
CONFIG_PATH = f"pkg://{CONFIG_MODULE}"  # how Hydra's search path names the packaged configs
# What composing a bad value raises: OmegaConf also lets out OverflowError and ValueError, with its
# usual "full_key: ..." lines, for numbers a field cannot hold (max_repeat=1e400 written as digits)
COMPOSE_ERRORS = (HydraException, OmegaConfBaseException, ValueError, OverflowError)
# sections whose settings dataclass depends on their `name` (config/executors.py, config/trackers.py)
TYPED_BY_NAME = {"executor": executor_config, "tracker": tracker_config}
NULL_SECTION = "cannot set a key inside a section that is null in this config"


@contextmanager
def compose_errors(what: str) -> Iterator[None]:
    """Hydra's and OmegaConf's errors while composing `what` (overrides) as one-line ConfigErrors."""
    try:
        yield
    except COMPOSE_ERRORS as exc:
        raise ConfigError(describe_error(exc)) from None
    except AssertionError:  # OmegaConf asserts when a key is set inside a null section
        raise ConfigError(
            f"'{what}': {NULL_SECTION} (see `mixft config show` with the same group choices)"
        ) from None


_hydra_sources: tuple[Source, ...] = ()


class ProjectSearchPath(SearchPathPlugin):
    """Hydra's side: the project conf/ folders go right before mixft's packaged configs."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        main = SearchPathQuery(provider="main", path=CONFIG_PATH)
        if not any(e.path == CONFIG_PATH for e in search_path.get_path()):
            return  # another Hydra application in this process
        for source in projects():
            if source.conf.is_dir():
                search_path.prepend("mixft-project", f"file://{source.conf}", anchor=main)


def ensure_hydra() -> None:
    """Initialise Hydra on the packaged config module, with the project folders before it; again
    when the search path changed (another --config-dir, MIXFT_CONFIG_PATH or directory)."""
    global _hydra_sources
    gh = GlobalHydra.instance()
    if gh.is_initialized() and _hydra_sources == sources():
        return
    if gh.is_initialized():
        gh.clear()
    Plugins.instance().register(ProjectSearchPath)
    ConfigStore.instance().store(name="base_config", node=Config)
    initialize_config_module(CONFIG_MODULE, version_base="1.3")
    _hydra_sources = sources()


def hydra_compose(overrides: Sequence[str]) -> DictConfig:
    """Compose conf/config.yaml with `overrides` through Hydra itself."""
    ensure_hydra()
    with compose_errors(", ".join(overrides)):
        return hydra_compose_api("config", overrides=list(overrides))


def _defaults() -> DictConfig:
    return _defaults_for(sources())


@cache
def _defaults_for(sources_: tuple[Source, ...]) -> DictConfig:
    return hydra_compose([])


def _option_node(group: str, option: str) -> DictConfig | None:
    """The option file merged onto its group schema; None when the file is not plain. A model
    reference (`hf:...`, `path:...`) is the section its own files describe (config/model_refs.py)."""
    if group == "model" and is_model_ref(option):
        return _model_ref_node(option)
    path = option_file(group, option)
    return None if path is None else _node_at(group, path)


@cache
def _model_ref_node(ref: str) -> DictConfig:
    return OmegaConf.merge(OmegaConf.structured(ModelConfig), model_fields(ref))


@cache
def _node_at(group: str, path: Path) -> DictConfig | None:
    data = load_yaml(path)
    text = path.read_text(encoding="utf-8")
    if "@package" in text or "${" in text or not isinstance(data, dict) or "defaults" in data:
        return None
    try:
        schema = group_schema(group, data)
    except ConfigError:
        return None  # let Hydra report it, with its context
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), data)
    except OmegaConfBaseException as exc:
        raise ConfigError(bad_field(path, exc, prefix=group)) from None


def group_schema(group: str, data: dict[str, Any]) -> Any:
    """The dataclass a group's option is typed against: the executor's or tracker's by its name, else
    the group's."""
    if group in TYPED_BY_NAME:
        return TYPED_BY_NAME[group](str(data.get("name")))
    return typing.get_type_hints(Config)[group]


def typed_section(group: str, node: DictConfig) -> DictConfig:
    """A section typed by its `name` (executor, tracker): the settings dataclass that name registers
    (an untyped section comes from Hydra's own path)."""
    name = node.get("name") if isinstance(node, DictConfig) else None
    cls = TYPED_BY_NAME[group](str(name))
    if OmegaConf.get_type(node) is cls:
        return node
    with compose_errors(f"{group}={name}"):
        return OmegaConf.merge(OmegaConf.structured(cls), node)


def option_name(group: str, option: str) -> str:
    """The `name:` an option file declares (conf/executor/slurm.yaml -> slurm); the option when none."""
    path = option_file(group, option)
    data = load_yaml(path) if path is not None else None
    return str(data.get("name", option)) if isinstance(data, dict) else option


def default_option(group: str) -> str:
    """The option conf/config.yaml's defaults list picks for a group."""
    return _default_option(group, config_file())


@cache
def _default_option(group: str, primary: Path) -> str:
    data = load_yaml(primary)
    for entry in data.get("defaults", []) if isinstance(data, dict) else []:
        if isinstance(entry, dict) and group in entry:
            return str(entry[group])
    raise ConfigError(f"{primary}: its defaults list picks no {group} option")


def _is_choice(override: Override) -> bool:
    return override.key_or_group in GROUPS and override.package is None and not override.is_delete()


def compose(overrides: Sequence[Override]) -> DictConfig:
    """The composed config for parsed, checked overrides (same result as Hydra's compose)."""
    # the last choice of a group wins, as in Hydra; an earlier one (a sweep's model=hf:..., replaced
    # by a rehearsal's model=tiny) is never read
    choices = list({o.key_or_group: (o.key_or_group, o.value()) for o in overrides if _is_choice(o)}.values())
    nodes = [_option_node(group, str(option)) for group, option in choices]
    if any(node is None for node in nodes):
        if any(group == "model" and is_model_ref(option) for group, option in choices):
            raise ConfigError(
                "model=hf:/path: works with plain option files only (no defaults list or @package)"
            )
        cfg = hydra_compose([o.input_line or "" for o in overrides])
        for group in TYPED_BY_NAME:
            cfg[group] = typed_section(group, cfg[group])
        return cfg
    cfg = copy.deepcopy(_defaults())
    for (group, _), node in zip(choices, nodes, strict=True):
        cfg[group] = copy.deepcopy(node)
    for group in TYPED_BY_NAME:  # before their values are set: they are checked by type
        cfg[group] = typed_section(group, cfg[group])
    for override in overrides:
        if _is_choice(override):
            continue
        with compose_errors(override.input_line or ""):
            ConfigLoaderImpl._apply_overrides_to_config([override], cfg)
    return cfg


def describe_error(exc: BaseException) -> str:
    """One line from a Hydra/OmegaConf exception chain: the deepest key and message."""
    chain = [exc]
    while chain[-1].__cause__ is not None:
        chain.append(chain[-1].__cause__)
    for err in reversed(chain):
        key = getattr(err, "full_key", None)
        msg = getattr(err, "msg", None) or str(err)
        if key and "not in struct" in msg:
            return f"'{key}' is not set yet; add it with '+{key}=VALUE'"
        if key:
            return f"bad value for '{key}': {msg.strip().splitlines()[0]}"
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    key = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("full_key:")), "")
    if key and lines:
        return f"bad value for '{key}': {lines[0]}"
    return "; ".join(lines[:3]) or type(exc).__name__
