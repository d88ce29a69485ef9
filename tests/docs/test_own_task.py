"""Adding a task as docs/tasks.md shows keeps the suite green: no test pins the catalogue to the
study's ten tasks.

run: .venv/bin/python -m pytest tests/docs/test_own_task.py -q    (part of `make test-all`)

The page's conf/task/fomc_stance.yaml goes into a copy of mixft's conf/ (the code is the installed
one, as the docs tests do it), and the fast tiers that read the catalogue run again on it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_docs import DOCS, File, _shadow_package, parse

ROOT = DOCS.parent
# the tiers that read the task catalogue; smoke and sweep tests name their tasks
SUITES = ["tests/unit", "tests/data", "tests/fuzz", "tests/compare"]


def own_task() -> File:
    """The task file docs/tasks.md adds."""
    files = [
        i for i in parse(DOCS / "tasks.md").items if isinstance(i, File) and i.path.startswith("conf/task/")
    ]
    assert len(files) == 1, files
    return files[0]


@pytest.mark.slow
def test_the_suite_stays_green_with_a_task_of_ones_own(tmp_path):
    task = own_task()
    root = _shadow_package(tmp_path / "pkg")
    target = root / "mixft" / task.path
    target.write_text(task.text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MIXFT_HOME"} | {"PYTHONPATH": str(root)}
    listed = subprocess.run(
        [sys.executable, "-m", "mixft.cli.main", "config", "ls", "task"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert Path(task.path).stem in listed.stdout.split(), listed.stdout + listed.stderr  # the copy is in use
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
