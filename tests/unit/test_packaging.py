"""Packaging: every config group ships in the wheel, under the `mixft` namespace."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_folder_is_a_listed_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["packages"])
    for top in ("cli", "runner"):
        for init in (ROOT / top).rglob("__init__.py"):
            dotted = ".".join(init.parent.relative_to(ROOT).parts)
            assert f"mixft.{dotted}" in packages, dotted


def test_every_conf_group_is_a_listed_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["packages"])
    groups = {p.name for p in (ROOT / "conf").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {f"mixft.conf.{g}" for g in groups} <= packages
    for group in groups:
        assert (ROOT / "conf" / group / "__init__.py").exists()


def test_every_yaml_starts_with_a_run_comment():
    for path in [*(ROOT / "conf").rglob("*.yaml"), *(ROOT / "sweeps").glob("*.yaml")]:
        assert path.read_text().startswith("# run: "), path


def test_the_wheel_holds_configs_sweeps_and_the_console_script(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mixft-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "mixft/conf/config.yaml",
        "mixft/conf/task/finqa.yaml",
        "mixft/sweeps/cocktail_paper.yaml",
        "mixft/cli/main.py",
        "mixft/runner/plan/grid.py",
        "mixft/runner/data/samples.py",
    } <= names
    stages = (ROOT / "runner").rglob("__init__.py")  # every package of the library ships
    assert {f"mixft/{p.relative_to(ROOT).as_posix()}" for p in stages} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mixft = mixft.cli.main:app" in zipfile.ZipFile(wheel).read(entry_points).decode()
