"""A study of one's own from an ordinary wheel install: `mixft init`, sweep and compare in the new
project folder, offline, with mixft imported from the wheel (not this checkout).

run: .venv/bin/python -m pytest tests/smoke/test_project_wheel.py -q    (part of `make test-all`)

The fresh virtualenv gets mixft from its wheel and nothing else; a .pth line lends it the dev
environment's site-packages for the dependencies (torch alone is gigabytes), which skips that folder's
own .pth files, so this checkout's editable install stays out of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> Path:
    """A fresh virtualenv holding mixft's wheel; returns its bin/ folder."""
    root = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", root, ROOT], check=True)
    (wheel,) = root.glob("mixft-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root, env={}
        ).strip()
    )
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)
    (site / "dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


@pytest.mark.slow
def test_init_sweep_and_compare_from_a_wheel(wheel_env, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MIXFT_CONFIG_PATH")}
    env |= {"MIXFT_HOME": str(tmp_path / "store"), "PATH": f"{wheel_env}:{env['PATH']}"}
    where = run(
        wheel_env / "python", "-c", "import mixft.cli.main as m; print(m.__file__)", cwd=tmp_path, env=env
    )
    assert where.startswith(str(wheel_env.parent)), where  # the wheel's copy, not this checkout
    run("mixft", "init", "demo", cwd=tmp_path, env=env)
    project = tmp_path / "demo"
    assert "fomc_stance" in run("mixft", "config", "ls", "task", cwd=project, env=env)
    run("mixft", "sweep", "demo", cwd=project, env=env)
    rows = json.loads(run("mixft", "compare", "demo", "--format", "json", cwd=project, env=env))
    scored = {(row["task"], tuple(row["mixture"])): row["score"] for row in rows["rows"]}
    assert scored[("fomc_stance", ("fomc_stance", "fpb"))] > 0.9, scored  # the example task is learned
