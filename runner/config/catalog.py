"""The packaged config options, and the task catalogue typed against TaskConfig.

run: mixft config ls task

Tasks are not a Hydra group choice: every conf/task/<name>.yaml is in the catalogue, and a run keeps
the ones its mixture, regulariser and eval name. Loading them outside Hydra's composition keeps
planning fast (composition costs ~0.1 s; ten tasks through it tripled that).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mixft.runner.config.schema import TaskConfig
from mixft.runner.config.yamlio import load_yaml
from mixft.runner.errors import ConfigError, unknown

CONF_PACKAGE = "mixft.conf"


def conf_dir() -> Path:
    """Directory of the packaged configs (config.yaml and one folder per group)."""
    return Path(str(files(CONF_PACKAGE)))


def group_dir(group: str) -> Path:
    """Directory of a packaged config group."""
    return conf_dir() / group


@cache
def group_options(group: str) -> tuple[str, ...]:
    """Options of a packaged config group: its YAML file names without .yaml, sorted."""
    folder = group_dir(group)
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.stem for p in folder.glob("*.yaml")))


@cache
def _task_node(name: str) -> DictConfig:
    path = group_dir("task") / f"{name}.yaml"
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of task fields")
    try:
        return OmegaConf.merge(OmegaConf.structured(TaskConfig), data)
    except OmegaConfBaseException as exc:
        reason = str(exc.msg).strip().splitlines()[0]
        raise ConfigError(f"{path}: bad value for '{exc.full_key}': {reason}") from None


def _apply(node: DictConfig, override: Override) -> None:
    key = override.key_or_group.split(".", 2)[2]
    try:
        OmegaConf.update(node, key, override.value(), merge=True)
    except OmegaConfBaseException as exc:
        reason = str(exc.msg).strip().splitlines()[0]
        raise ConfigError(f"bad value for '{override.key_or_group}': {reason}") from None


@cache
def _load_tasks(texts: tuple[str, ...]) -> dict[str, TaskConfig]:
    names = group_options("task")
    nodes = {name: _task_node(name) for name in names}
    for override in OverridesParser.create().parse_overrides(list(texts)):
        name = override.key_or_group.split(".")[1]
        if name not in nodes:
            raise unknown("task", name, names)
        if nodes[name] is _task_node(name):
            nodes[name] = copy.deepcopy(nodes[name])
        _apply(nodes[name], override)
    return {name: OmegaConf.to_object(node) for name, node in nodes.items()}  # type: ignore[misc]


def load_tasks(overrides: Sequence[Override] = ()) -> dict[str, TaskConfig]:
    """The task catalogue with `task.NAME.FIELD=value` overrides applied (shared: do not mutate)."""
    return _load_tasks(tuple(o.input_line or "" for o in overrides))
