"""Errors a person can act on: one line, what is wrong, where, and what to do."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# Line breaks (all that str.splitlines knows) and other control characters, except tab: a message
# that quotes user input holding one would otherwise break over lines or drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with line breaks and control characters written as escapes (\\n, \\x85, ...)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def clip(text: str, limit: int = 80) -> str:
    """User input quoted in a message, cut to `limit` characters (a 5,000-digit number, a pasted file)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


class ConfigError(ValueError):
    """Bad input (config, override, sweep file, data): the CLI prints it as one line, exit code 2."""

    def __init__(self, message: object = "") -> None:
        # messages quote user input (keys, values, rows); keep them on one line whatever it holds
        super().__init__(one_line(str(message).strip()))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> ConfigError:
    """Build the error for a name that is not among `choices`, listing them and the nearest one."""
    options = sorted(choices)
    listing = ", ".join(options) if options else "none"
    return ConfigError(f"unknown {kind} '{name}'{did_you_mean(name, options)}; choose from: {listing}")
