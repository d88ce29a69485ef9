"""CLI helpers for unit tests."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from mixft.cli.main import app


def invoke(*args: str) -> Any:
    """Run `mixft ARGS` in-process; the result has exit_code, stdout and stderr."""
    return CliRunner().invoke(app, list(args))


def plan_json(*args: str) -> list[dict[str, Any]]:
    """`mixft plan ARGS --format json`, parsed; fails the test on a non-zero exit."""
    result = invoke("plan", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_usage_error(result: Any, *fragments: str) -> None:
    """Exit code 2, one line on stderr that holds every fragment, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def grid_sweeps() -> list[str]:
    """The packaged sweeps that expand to a grid (`mixft plan`): every one but the searches."""
    from mixft.runner.config.search_path import packaged_sweeps
    from mixft.runner.plan.sweepfile import load_sweep

    return [name for name in packaged_sweeps() if load_sweep(name).search is None]
