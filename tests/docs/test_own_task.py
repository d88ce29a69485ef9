"""Adding a task to mixft's own catalogue (docs/tasks.md's task, as a packaged option) keeps the suite
green: no test pins the catalogue to the study's ten tasks.

run: .venv/bin/python -m pytest tests/docs/test_own_task.py -q    (part of `make test-all`)

The page's conf/task/fomc_stance.yaml goes into a copy of mixft's conf/ (the code is the installed
one, as the docs tests do it), and the fast tiers that read the catalogue run again on it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_docs import DOCS, File, parse

ROOT = DOCS.parent
# the tiers that read the task catalogue; smoke and sweep tests name their tasks
SUITES = ["tests/unit", "tests/data", "tests/fuzz", "tests/compare"]


def _shadow_package(root: Path) -> Path:
    """A copy of mixft whose conf/ the page may add option files to; the code is the installed one."""
    pkg = root / "mixft"
    pkg.mkdir(parents=True)
    for name in ("cli", "runner", "sweeps", "conf"):
        spec = importlib.util.find_spec(f"mixft.{name}")
        assert spec and spec.submodule_search_locations, f"mixft.{name} is not installed"
        source = Path(list(spec.submodule_search_locations)[0])
        if name == "conf":
            shutil.copytree(source, pkg / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (pkg / name).symlink_to(source, target_is_directory=True)
    return root


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
    # under a name of its own: `mixft init`'s example project (tests/unit/test_project.py) has the same task
    stem = Path(task.path).stem
    name = f"{stem}_packaged"
    assert f"name: {stem} " in task.text, task.text
    target = root / "mixft" / "conf" / "task" / f"{name}.yaml"
    target.write_text(task.text.replace(f"name: {stem} ", f"name: {name} "), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MIXFT_HOME"} | {"PYTHONPATH": str(root)}
    listed = subprocess.run(
        [sys.executable, "-m", "mixft.cli.main", "config", "ls", "task"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert name in listed.stdout.split(), listed.stdout + listed.stderr  # the copy is in use
    # run from outside the checkout: its own conf/ would otherwise be a project folder over the copy
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            *(str(ROOT / s) for s in SUITES),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
