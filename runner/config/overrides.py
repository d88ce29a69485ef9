"""Overrides: parse them with Hydra's grammar and refuse, in one line each, those Hydra would refuse
with a long message or silently drop.

run: mixft config show trainng.learning_rate=1e-5    (-> unknown key, did you mean 'training'?)
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, Override
from hydra.errors import HydraException

from mixft.runner.config.catalog import group_options
from mixft.runner.config.executors import executor_fields
from mixft.runner.config.model_refs import is_model_ref
from mixft.runner.config.schema import GROUPS, Config
from mixft.runner.config.secrets import looks_secret
from mixft.runner.config.trackers import tracker_fields
from mixft.runner.errors import ConfigError, clip, did_you_mean, unknown


def parse_overrides(overrides: Sequence[str]) -> list[Override]:
    """Parse overrides with Hydra's own grammar; a syntax error becomes one ConfigError line."""
    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except (HydraException, ValueError, OverflowError, RecursionError) as exc:
            # beside its own errors, Hydra's parser lets out int()'s limit of 4,300 digits and the
            # RecursionError of brackets nested a few hundred deep
            reason = _syntax_reason(text, str(exc)) if isinstance(exc, HydraException) else _other(exc)
            raise ConfigError(
                f"cannot parse override '{clip(text)}': {reason} (grammar: KEY=VALUE, "
                "e.g. model=tiny; quote values holding {}[](),= as KEY='VALUE')"
            ) from None
    return parsed


_LEXER = "LexerNoViableAltException: "


def _other(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "brackets nested too deeply"
    if "integer string conversion" in str(exc):
        return "a number longer than 4,300 digits"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _syntax_reason(text: str, message: str) -> str:
    """Hydra's parse error in a few words; its lexer errors point at the character with a caret."""
    if message.startswith(f"{_LEXER}{text}\n"):
        caret = message[len(_LEXER) + len(text) + 1 :].split("\n", 1)[0]
        column = len(caret) - len(_LEXER) - 1
        if caret.strip() == "^" and 0 <= column < len(text):
            return f"unexpected {text[column]!r} at position {column + 1}"
        return "unexpected character"
    lines = [ln.strip() for ln in message.splitlines() if not ln.startswith(("See ", "Error parsing"))]
    # "extraneous input '(' expecting {<EOF>, ':', ...}": the list of every token helps nobody
    reasons = [ln.split(" expecting {", 1)[0] for ln in lines if ln]
    return "; ".join(reasons) or "not KEY=VALUE"


def check_override(
    override: Override, allow_sweep: bool = False, executor: str | None = None, tracker: str | None = None
) -> None:
    """Reject an override Hydra would refuse with a long message, or would silently drop.

    Args:
        override: One parsed override.
        allow_sweep: Accept several values (a grid axis).
        executor: The executor its list picks, which decides the `executor.*` keys there are; None
            accepts a key of any executor (checked again once the list is composed).
        tracker: The tracker its list picks, likewise for the `tracker.*` keys.
    """
    key, line = override.key_or_group, override.input_line or ""
    text = clip(line)  # for messages: an override may be a pasted page
    if "${" in line:
        raise ConfigError(
            f"'{text}': interpolations (${{...}}) are not supported in overrides; write the value itself "
            "(a run's config must not depend on the environment, the clock or other keys)"
        )
    if override.package is not None:
        raise ConfigError(
            f"'{text}': package overrides (GROUP@PACKAGE) are not supported; write {key or 'GROUP'}=OPTION"
        )
    if override.is_sweep_override() and not allow_sweep:
        raise ConfigError(
            f"'{text}' is a sweep (several values); put it in a sweep file's grid and run `mixft plan`"
        )
    if override.is_delete():
        raise ConfigError(f"'{text}': removing config entries is not supported; set a value instead")
    if key.split(".")[0] == "task" and key.count(".") == 1:
        raise ConfigError(
            f"'{text}': set one field of a task at a time, as {key}.max_examples=100 "
            "(see `mixft config show` for the fields)"
        )
    if key == "task":
        raise ConfigError(
            f"'{text}': tasks are not chosen as a group; name them in mixture.tasks, "
            "regularizer.sources or eval.tasks (see `mixft config ls task`)"
        )
    if key in GROUPS:
        _check_group_choice(key, override, allow_sweep)
        return
    if "/" in key:
        raise unknown("config group", key, GROUPS)
    if key.split(".")[0] == "executor":
        _check_named_key(key, executor, executor_fields(executor))
    elif key.split(".")[0] == "tracker":
        _check_named_key(key, tracker, tracker_fields(tracker))
    else:
        _walk(key)
    if looks_secret(key.rsplit(".", 1)[-1]):
        raise ConfigError(
            f"'{key}' looks like a secret: pass tokens through the environment (HF_TOKEN, WANDB_API_KEY), "
            "never as overrides, which are saved with the run"
        )
    adds = override.is_add() or override.is_force_add()
    if adds and (key.split(".")[0] in ("executor", "tracker") or not _inside_dict(key)):
        raise ConfigError(
            f"'{text}' adds a key that the schema does not declare, so it would be dropped; "
            f"set an existing key without '+' (see `mixft config show`)"
        )


def _check_group_choice(group: str, override: Override, allow_sweep: bool) -> None:
    value = override.value()
    options = group_options(group)
    if isinstance(value, Glob):
        if not value.filter(list(options)):
            raise ConfigError(
                f"'{override.input_line}' matches no {group} option; options: {', '.join(options)}"
            )
        return
    if allow_sweep and override.is_sweep_override():
        names = list(override.sweep_string_iterator()) if override.is_choice_sweep() else []
    elif isinstance(value, list):
        raise ConfigError(f"'{override.input_line}': choose one {group} option, not a list")
    else:
        names = [value]
    for name in names:
        # a model reference is read when composed, and only if no later model= replaces it
        if not (group == "model" and is_model_ref(name)) and (
            not isinstance(name, str) or name not in options
        ):
            raise unknown(f"{group} option", str(name), options)


def _unwrap(tp: Any) -> Any:
    """`X | None` -> X."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else Any
    return tp


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _walk(key: str) -> list[Any]:
    """Types along a dotted key through the schema; raises ConfigError at the first unknown part."""
    tp: Any = Config
    path: list[Any] = [tp]
    for depth, part in enumerate(key.split(".")):
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        here = ".".join(key.split(".")[:depth]) or "the config"
        if tp is Any:
            return path
        if origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin is list:
            if not part.isdigit():
                raise ConfigError(f"'{key}': {here} is a list; index it with a number")
            tp = typing.get_args(tp)[0]
        elif is_dataclass(tp):
            names = [f.name for f in fields(tp)]
            if part not in names:
                prefix = f"{here}." if depth else ""
                full_names = [prefix + n for n in names]
                raise ConfigError(
                    f"unknown key '{key}'{did_you_mean(prefix + part, full_names)}; "
                    f"{here} has: {', '.join(names)}"
                )
            tp = _hints(tp)[part]
        else:
            raise ConfigError(f"unknown key '{key}': {here} is a single value, not a section")
        path.append(tp)
    return path


def _check_named_key(key: str, chosen: str | None, known: list[str]) -> None:
    """An `executor.FIELD` or `tracker.FIELD` key: a setting of the chosen executor or tracker (of any,
    when not known yet)."""
    group, _, field = key.partition(".")
    field = field.split(".")[0]
    if field == "name":
        flag = " (or `mixft sweep --executor NAME`)" if group == "executor" else ""
        raise ConfigError(
            f"'{key}': choose the {group} with {group}=OPTION{flag}; see `mixft config ls {group}`"
        )
    if field not in known:
        owner = f"{group} {chosen} has" if chosen else f"{group}s have"
        close = did_you_mean(key, [f"{group}.{n}" for n in known])
        raise ConfigError(f"unknown key '{key}'{close}; {owner}: {', '.join(known)}")


def _inside_dict(key: str) -> bool:
    """True when the key's parent is a free-keyed dict (mixture.caps, training.sft_kwargs, ...)."""
    path = _walk(key)
    parent = _unwrap(path[-2]) if len(path) >= 2 else None
    return parent is Any or typing.get_origin(parent) is dict
