"""Every usage error of every `mixft` command is one line on stderr with exit code 2: an unknown
option, an extra argument, a bad choice or number. The commands come from the Typer app itself, so a
new command is covered without touching this file."""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

import pytest
import typer

from mixft.cli.main import app
from tests.unit.helpers import assert_usage_error, invoke


def _walk(command: Any, path: list[str], found: list[tuple[list[str], Any]]) -> None:
    found.append((path, command))
    for name, sub in getattr(command, "commands", {}).items():
        _walk(sub, [*path, name], found)


def commands() -> list[tuple[list[str], Any]]:
    """(path, click command) of the app and every command and subcommand under it."""
    found: list[tuple[list[str], Any]] = []
    _walk(typer.main.get_command(app), [], found)
    return found


def annotation(param: Any) -> Any:
    """The Python type a parameter converts to (`X | None` unwrapped), None when unknown."""
    described = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(described, types.UnionType) or typing.get_origin(described) is typing.Union:
        described = next((a for a in typing.get_args(described) if a is not type(None)), None)
    return typing.get_args(described)[0] if typing.get_origin(described) is list else described


def arguments(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "argument"]


def value(param: Any) -> str:
    """A value the parameter takes: an enum's first member, else a sweep name."""
    kind = annotation(param)
    return next(iter(kind)).value if isinstance(kind, type) and issubclass(kind, enum.Enum) else "smoke"


def filled(command: Any) -> list[str]:
    """A value for each positional argument and each required option."""
    required = [p for p in command.params if p.param_type_name == "option" and p.required]
    return [value(p) for p in arguments(command)] + [text for p in required for text in (p.opts[0], value(p))]


def name(case: tuple[list[str], Any]) -> str:
    return " ".join(["mixft", *case[0]])


COMMANDS = commands()
LEAVES = [case for case in COMMANDS if not hasattr(case[1], "commands")]
GROUPS = [case for case in COMMANDS if hasattr(case[1], "commands")]
# options whose values are checked by type: a choice (an enum) or a number
TYPED = [
    (path, command, param)
    for path, command in LEAVES
    for param in command.params
    if param.param_type_name == "option"
    and not getattr(param, "is_flag", False)
    and (
        (isinstance(annotation(param), type) and issubclass(annotation(param), enum.Enum))
        or annotation(param) in (int, float)
    )
]


def one_line(result: Any, path: list[str], *fragments: str) -> None:
    """Exit code 2 and one line on stderr, like every error of the CLI: "error: " what is wrong,
    ending with the help of the command it was given to."""
    assert_usage_error(result, *fragments)
    line = result.stderr.strip()
    assert line.startswith("error: ") and line.endswith(f"; see {' '.join(['mixft', *path])} --help"), line


def test_the_walk_finds_every_command():
    names = {name(case) for case in COMMANDS}
    assert {"mixft", "mixft status", "mixft config ls", "mixft data validate", "mixft store migrate"} <= names
    assert len(LEAVES) >= 18 and len(TYPED) >= 15


@pytest.mark.parametrize("case", COMMANDS, ids=name)
def test_an_unknown_option_is_one_line(case):
    path, command = case
    result = invoke(*path, *filled(command), "--no-such-option")
    one_line(result, path, "No such option: --no-such-option", "--help")


@pytest.mark.parametrize("case", LEAVES, ids=name)
def test_an_extra_argument_is_one_line(case):
    path, command = case
    if any(p.nargs == -1 for p in arguments(command)):  # takes overrides or ids: no argument is extra
        pytest.skip(f"{name(case)} takes any number of arguments")
    result = invoke(*path, *filled(command), "extra-argument")
    one_line(result, path, "unexpected extra argument", "extra-argument")


@pytest.mark.parametrize("case", GROUPS, ids=name)
def test_an_unknown_command_is_one_line(case):
    path, _ = case
    one_line(invoke(*path, "nosuch"), path, "No such command 'nosuch'")


@pytest.mark.parametrize("case", TYPED, ids=lambda c: f"{' '.join(['mixft', *c[0]])} {c[2].opts[0]}")
def test_a_bad_choice_or_number_is_one_line(case):
    path, command, param = case
    result = invoke(*path, *filled(command), param.opts[0], "nosuch")
    choices = annotation(param) not in (int, float)  # a choice's error names the value and the choices
    one_line(result, path, f"Invalid value for '{param.opts[0]}'", *(["'nosuch'"] if choices else []))


@pytest.mark.parametrize("case", LEAVES, ids=name)
def test_a_missing_argument_is_one_line(case):
    path, command = case
    required = [p for p in arguments(command) if p.required]
    if not required:
        pytest.skip(f"{name(case)} has no required argument")
    one_line(invoke(*path), path, "Missing argument")


def test_the_issue_s_examples_are_one_line_each():
    assert_usage_error(
        invoke("compare", "smoke", "--view", "nosuch"),
        "error: Invalid value for '--view': 'nosuch' is not one of 'tasks'",
        "; see mixft compare --help",
    )
    assert_usage_error(invoke("init", "/proc/x"), "cannot write a project into /proc/x")


def test_status_takes_the_overrides_the_sweep_ran_with():
    """`mixft status SWEEP OVERRIDES`: the runs `mixft sweep SWEEP OVERRIDES` plans (and would run)."""
    small = ["eval.max_examples=16"]
    planned = [row["id"] for row in json.loads(invoke("plan", "smoke", *small, "--format", "json").stdout)]
    default = [row["id"] for row in json.loads(invoke("plan", "smoke", "--format", "json").stdout)]
    result = invoke("status", "smoke", *small, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(row["id"] for row in rows) == sorted(planned) and set(planned) != set(default)
    assert {row["state"] for row in rows} == {"pending"}  # planned here, never run
    # without overrides the sweep must have run in this store
    assert_usage_error(invoke("status", "smoke"), "sweep 'smoke' has not run in this store")
    assert_usage_error(invoke("status", "smoke", "eval.nosuch=1"), "eval.nosuch")
