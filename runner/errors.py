"""Errors a person can act on: one line, what is wrong, where, and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """Bad input (config, override, sweep file, data): the CLI prints it as one line, exit code 2."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> ConfigError:
    """Build the error for a name that is not among `choices`, listing them and the nearest one."""
    options = sorted(choices)
    listing = ", ".join(options) if options else "none"
    return ConfigError(f"unknown {kind} '{name}'{did_you_mean(name, options)}; choose from: {listing}")
