"""The config options of every source (config/search_path.py), and the task catalogue typed
against TaskConfig.

run: mixft config ls task

Tasks are not a Hydra group choice: every conf/task/<name>.yaml (project or packaged) is in the
catalogue, and a run keeps the ones its mixture, regulariser and eval name. Loading them outside Hydra's composition keeps
planning fast (composition costs ~0.1 s; ten tasks through it tripled that).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TypeVar

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mixft.runner.config.schema import SuiteConfig, TaskConfig
from mixft.runner.config.search_path import origins, source_of
from mixft.runner.config.types import from_plain
from mixft.runner.config.yamlio import bad_field, load_yaml
from mixft.runner.errors import ConfigError, unknown

T = TypeVar("T")


def group_options(group: str) -> tuple[str, ...]:
    """Options of a config group in every source (projects and package): file names, sorted."""
    return tuple(origins(group))


def _typed(cls: type[T], path: Path, what: str) -> T:
    """One option file typed against its schema: the fast path, else OmegaConf (file:line errors)."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of {what} fields")
    typed = from_plain(cls, data)
    if typed is None:
        try:
            typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), data))
        except OmegaConfBaseException as exc:
            raise ConfigError(bad_field(path, exc)) from None
    assert isinstance(typed, cls)
    return typed


@cache
def _task(path: Path) -> TaskConfig:
    task = _typed(TaskConfig, path, "task")
    project = source_of(path)
    local = task.source.path
    if project is not None and local and not Path(local).expanduser().is_absolute():
        # a project's data lives in the project
        task = dataclasses.replace(
            task, source=dataclasses.replace(task.source, path=str(project.root / local))
        )
    return task


def _apply(node: DictConfig, override: Override) -> None:
    key = override.key_or_group.split(".", 2)[2]
    try:
        OmegaConf.update(node, key, override.value(), merge=True)
    except OmegaConfBaseException as exc:
        reason = str(exc.msg).strip().splitlines()[0]
        raise ConfigError(f"bad value for '{override.key_or_group}': {reason}") from None


@cache
def _load_tasks(texts: tuple[str, ...], files_: tuple[Path, ...]) -> dict[str, TaskConfig]:
    tasks: dict[str, TaskConfig] = {path.stem: _task(path) for path in files_}
    nodes: dict[str, DictConfig] = {}
    for override in OverridesParser.create().parse_overrides(list(texts)):
        name = override.key_or_group.split(".")[1]
        if name not in tasks:
            raise unknown("task", name, tasks)
        node = nodes.setdefault(name, OmegaConf.structured(tasks[name]))
        _apply(node, override)
    return tasks | {name: OmegaConf.to_object(node) for name, node in nodes.items()}  # type: ignore[misc]


def load_tasks(overrides: Sequence[Override] = ()) -> dict[str, TaskConfig]:
    """The task catalogue with `task.NAME.FIELD=value` overrides applied (shared: do not mutate)."""
    files_ = tuple(paths[0] for paths in origins("task").values())
    return _load_tasks(tuple(o.input_line or "" for o in overrides), files_)


@cache
def _suite(path: Path) -> SuiteConfig:
    suite = _typed(SuiteConfig, path, "suite")
    if suite.name != path.stem:
        raise ConfigError(f"{path}: name '{suite.name}' must match the file name '{path.stem}'")
    if suite.include_path and not Path(suite.include_path).expanduser().is_absolute():
        # lm-eval task YAMLs travel with the suite file
        suite = dataclasses.replace(suite, include_path=str((path.parent / suite.include_path).resolve()))
    return suite


def load_suites(names: Sequence[str]) -> dict[str, SuiteConfig]:
    """The suites named in eval.suites (conf/suite/<name>.yaml, project or packaged), by name.

    Raises:
        ConfigError: a name no source holds (with did-you-mean), or a malformed suite file.
    """
    found = origins("suite")
    suites = {}
    for name in names:
        if name not in found:
            raise unknown("eval.suites", name, found)
        suites[name] = _suite(found[name][0])
    return suites
