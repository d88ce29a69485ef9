"""`make wheelhouse` and an install from it without an index, as on a cluster without internet: a full
wheelhouse installs mixft into a fresh virtualenv; a lean one installs beside a host's own torch stack.

run: .venv/bin/python -m pytest tests/smoke/test_wheelhouse.py -q
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.smoke, pytest.mark.slow]
# only the wheelhouse: no index, no find-links or constraints from pip's config files
ISOLATED = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
HOST_STACK = ("torch", "transformers", "accelerate", "peft", "wandb")


def sh(*cmd: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, f"{cmd}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def wheelhouse(out: Path, *args: str) -> set[str]:
    """Fill `out` for this machine (torch pinned to the build this venv runs); the packages in it."""
    sh(sys.executable, ROOT / "tools" / "wheelhouse.py", out, "--pin", f"torch=={version('torch')}", *args)
    return {p.name.split("-")[0].lower().replace("_", "-") for p in out.glob("*.whl")}


def venv(folder: Path) -> Path:
    sh(sys.executable, "-m", "venv", folder)
    return folder / "bin"


def plans(bin_dir: Path, tmp: Path, env: dict[str, str] | None = None) -> None:
    out = sh(bin_dir / "mixft", "plan", "smoke", env={"MIXFT_HOME": str(tmp / "store"), **(env or {})})
    assert "6 runs" in out, out


def test_full_and_lean_wheelhouses_install_without_an_index(tmp_path):
    full = wheelhouse(tmp_path / "full")
    assert {"mixft", "torch", "trl", "hydra-core", "antlr4-python3-runtime"} <= full
    bin_dir = venv(tmp_path / "fresh")
    sh(bin_dir / "pip", "install", "--find-links", tmp_path / "full", "mixft", env=ISOLATED)
    plans(bin_dir, tmp_path)

    lean = wheelhouse(tmp_path / "lean", "--lean")
    assert "mixft" in lean and not lean & set(HOST_STACK)
    assert lean < full
    host = venv(tmp_path / "host")  # a GPU host: its own torch stack, then the lean wheels beside it
    sh(host / "pip", "install", "--find-links", tmp_path / "full", *HOST_STACK, env=ISOLATED)
    wheels = sorted((tmp_path / "lean").glob("*.whl"))
    sh(host / "pip", "install", "--no-deps", *wheels, env=ISOLATED)
    sh(host / "pip", "check", env=ISOLATED)  # every requirement met: nothing the lean set needs is missing
    plans(host, tmp_path)
