"""Sections typed by their `name` (executor, tracker): one settings dataclass per option, in a table.

run: mixft config show executor=ray    |    mixft config show tracker=mlflow
"""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

from mixft.runner.errors import unknown

T = TypeVar("T")


def settings_class(kind: str, table: dict[str, type[T]], name: str) -> type[T]:
    """The settings dataclass that `name` picks in `table` (`kind` names the section in errors).

    Raises:
        ConfigError: an unknown name, with the nearest one.
    """
    if name not in table:
        raise unknown(kind, name, table)
    return table[name]


def settings_fields(kind: str, table: dict[str, type], name: str | None = None) -> list[str]:
    """Settings of one option, or of any option when `name` is None, in declaration order
    (`name` itself is not a setting: KIND=OPTION picks it)."""
    classes = [settings_class(kind, table, name)] if name is not None else list(table.values())
    return list(dict.fromkeys(f.name for cls in classes for f in fields(cls) if f.name != "name"))
