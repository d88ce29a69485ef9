"""Type checks of values OmegaConf lets through: containers inside typed lists and dicts.

run: mixft config show 'mixture.tasks=[[]]'    (-> bad value for 'mixture.tasks[0]': expected text)
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar

from mixft.runner.errors import ConfigError, clip

T = TypeVar("T")
MISSING_VALUE = "???"  # omegaconf.MISSING: a field the file must set


def check_types(value: Any, hint: Any, where: str = "") -> None:
    """Raise ConfigError where a value does not have its schema type.

    OmegaConf checks scalars but lets containers into typed lists and dicts: `mixture.tasks=[[]]`
    composes, and so does a YAML mapping in a sweep's `base:` list ("- key: value" for "- key=value").

    Args:
        value: A dataclass instance, or a value inside one.
        hint: Its type from the schema.
        where: Its dotted key, for the error.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if dataclasses.is_dataclass(hint):
        for f in dataclasses.fields(hint):
            check_types(
                getattr(value, f.name), _hints(hint)[f.name], f"{where}.{f.name}" if where else f.name
            )
        return
    expected = origin or hint
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected in (int, float))
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        # "- model: tiny" in YAML is a mapping, where "- model=tiny" was meant
        hint_colon = (
            "; YAML reads 'key: value' as a mapping: quote it"
            if expected is str and isinstance(value, dict)
            else ""
        )
        shown = clip(repr(value), 40)
        raise ConfigError(f"bad value for '{where}': expected {_type_name(hint)}, got {shown}{hint_colon}")
    if origin is list:
        for i, item in enumerate(value):
            check_types(item, args[0], f"{where}[{i}]")
    elif origin is dict:
        for key, item in value.items():
            check_types(key, args[0], f"{where} key")
            check_types(item, args[1], f"{where}.{key}")


def from_plain(cls: type[T], data: Any) -> T | None:
    """`cls` built from plain YAML data that fits its schema exactly, in microseconds; None otherwise.

    OmegaConf takes ~6 ms to type one task file, which a project of 50 tasks pays on every command.
    Data with an unknown or missing key, or a value OmegaConf would convert (`labels: [yes, no]`,
    whole numbers for text), gets None: the caller types it through OmegaConf, with its conversions
    and its messages. A whole number for a float field becomes a float, as OmegaConf makes it.
    """
    if not isinstance(data, dict) or not dataclasses.is_dataclass(cls):
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if not set(data) <= set(fields):
        return None
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default == MISSING_VALUE:
                return None
            continue
        hint, value = _optional(_hints(cls)[name]), data[name]
        if dataclasses.is_dataclass(hint) and value is not None:
            value = from_plain(hint, value)
            if value is None:
                return None
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[name] = value
    built = cls(**values)
    try:
        check_types(built, cls)
    except ConfigError:
        return None
    return built


def _optional(hint: Any) -> Any:
    """`X | None` -> X; any other hint as it is."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else hint
    return hint


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(hint: Any) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    origin = typing.get_origin(hint)
    return names.get(hint) or {list: "a list", dict: "a mapping"}.get(
        origin, getattr(hint, "__name__", str(hint))
    )
