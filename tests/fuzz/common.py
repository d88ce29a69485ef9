"""Checks shared by the fuzz tests: bad input is a one-line ConfigError (exit 2), never a hang."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mixft.runner.errors import ConfigError
from tests.unit.helpers import invoke

T = TypeVar("T")

# One example may take this long before it counts as a hang (planning a sweep: well under a second).
HANG_SECONDS = 30.0


class Hang(BaseException):
    """An example ran past HANG_SECONDS. A BaseException, so no `except Exception` can swallow it."""


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Stop the block once it has run `seconds` and fail with AssertionError, which Hypothesis shrinks.

    Inside the block the timer raises Hang, which no `except Exception` in the code under test
    catches; on the way out it becomes an AssertionError so that the failing input is reported.
    """

    def alarm(*_: Any) -> None:
        raise Hang(f"still running after {seconds:g} s: a hang or a run-count explosion")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang as exc:
        raise AssertionError(str(exc)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_line(message: str) -> None:
    """An error message a person can act on: not empty, exactly one line."""
    assert message.strip(), "empty error message"
    assert len(message.strip().splitlines()) == 1, f"more than one line: {message!r}"


def config_error_or(call: Callable[[], T]) -> T | ConfigError:
    """The call's result, or the ConfigError it raised (checked to be one line); anything else fails."""
    with no_hang():
        try:
            return call()
        except ConfigError as exc:
            assert_one_line(str(exc))
            return exc


def cli(*args: str) -> Any:
    """`mixft ARGS` in-process: exit 0, or exit 2 with one line on stderr; never 1 (internal error)."""
    with no_hang():
        result = invoke(*args)
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {result.output!r}"
    if result.exit_code == 2:
        assert "Traceback" not in result.output
        assert_one_line(result.stderr)
        assert result.stderr.startswith("error: "), result.stderr
    return result
