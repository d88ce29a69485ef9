"""Every wheel mixft needs, in one folder, for machines without internet (clusters, the GPU host).

run: make wheelhouse [PY=3.12] [PLATFORM=manylinux_2_28_x86_64] [EXTRAS=gpu] [LEAN=1] [OUT=wheelhouse]
     python tools/wheelhouse.py OUT --python 3.12 --platform manylinux_2_28_x86_64 --extras gpu --lean

pip resolves mixft (its own wheel, built from this checkout) with the extras for the target Python
and platform, binary wheels only; a package the registry has only as an sdist (antlr4-python3-runtime,
deepspeed) is built into a wheel here first (pure Python; deepspeed with DS_BUILD_OPS=0, its ops
compile just in time on the GPU host), then the resolution runs again. `--lean` leaves out what a GPU
host already has (torch, transformers, accelerate, peft) and what `tracker=none` does not need
(wandb); `--have FILE` (the target's `pip freeze`) leaves out everything it lists; either way with
every package only they pulled in. Then, on the machine without internet:

    pip install --no-index --find-links OUT 'mixft[gpu]'          # a full wheelhouse
    pip install --no-index --no-deps OUT/*.whl                     # a lean one, beside the host's packages
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# on a GPU host already (their CUDA builds there), or not needed with tracker=none
LEAN_EXCLUDES = ("torch", "transformers", "accelerate", "peft", "wandb")
# how pip names a requirement it found no wheel for: directly, or as what every candidate depends on
MISSING = re.compile(r"No matching distribution found for ([^;\s]+)|depends on ([^;\s]+)")
MANYLINUX = re.compile(r"manylinux_2_(\d+)_(\w+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def target_args(python: str | None, platform: str | None) -> list[str]:
    """pip options that select wheels for another interpreter or platform (none: this one)."""
    args = ["--only-binary=:all:"]
    if python:
        args += ["--python-version", python, "--implementation", "cp"]
    for tag in compatible(platform) if platform else ():
        args += ["--platform", tag]
    return args


def compatible(platform: str) -> list[str]:
    """The tag and every older one a host of it runs: manylinux_2_28_x86_64 takes manylinux_2_24 and
    manylinux2014 wheels too."""
    found = MANYLINUX.fullmatch(platform)
    if found is None:
        return [platform]
    glibc, arch = int(found.group(1)), found.group(2)
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = [f"manylinux_2_{n}_{arch}" for n in range(glibc, 4, -1)]
    return tags + [f"{name}_{arch}" for n, name in legacy.items() if n <= glibc]


def build_own_wheel(out: Path) -> Path:
    done = pip("wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out), str(ROOT))
    if done.returncode:
        raise SystemExit(f"building mixft's wheel failed: {done.stderr.strip().splitlines()[-1]}")
    return max(out.glob("mixft-*.whl"), key=lambda p: p.stat().st_mtime)


def build_from_sdist(requirement: str, out: Path) -> None:
    """A wheel of an sdist-only package, built here (pure Python for those mixft needs)."""
    print(f"building a wheel of {requirement} (the registry has no binary wheel)", flush=True)
    done = pip(
        "wheel",
        "--no-deps",
        "--no-build-isolation",  # deepspeed's setup imports torch: the venv's, not a download
        "--quiet",
        "-w",
        str(out),
        requirement,
        env={"DS_BUILD_OPS": "0"},
    )
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"cannot build a wheel of {requirement}: {tail}")


def resolve(root: str, out: Path, target: list[str]) -> list[dict]:
    """pip's installation report for `root`: every package with its version and requirements. A
    package without a binary wheel is built into `out` and the resolution repeated."""
    built: set[str] = set()
    while True:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            done = pip(
                "install", "--dry-run", "--ignore-installed", "--report", str(report),
                "--target", str(Path(tmp) / "site"), "--find-links", str(out), *target, root,
            )  # fmt: skip
            if done.returncode == 0:
                return json.loads(report.read_text())["install"]
        said = done.stdout + done.stderr  # pip explains a conflict on stdout
        missing = [a or b for a, b in MISSING.findall(said) if (a or b) not in built]
        if not missing:
            raise SystemExit(f"pip cannot resolve {root}: {done.stderr.strip().splitlines()[-1]}")
        built.add(missing[0])
        build_from_sdist(missing[0], out)


def _requires(item: dict, extras: set[str], python: str | None) -> list[tuple[str, set[str]]]:
    """(name, extras) of what a resolved package requires with `extras` on the target Python."""
    from packaging.requirements import Requirement

    env = {"python_version": python, "python_full_version": f"{python}.0"} if python else {}
    needed = []
    for spec in item["metadata"].get("requires_dist") or []:
        req = Requirement(spec)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras or {""}):
            needed.append((canonical(req.name), set(req.extras)))
    return needed


def keep(items: list[dict], extras: set[str], excludes: set[str], python: str | None) -> list[dict]:
    """The packages reachable from mixft (with `extras`) without passing through an excluded one."""
    by_name = {canonical(i["metadata"]["name"]): i for i in items}
    reached: dict[str, set[str]] = {}
    stack = [("mixft", extras)]
    while stack:
        name, wanted = stack.pop()
        if name in excludes or name not in by_name:
            continue  # excluded, or not for the target (a marker pip evaluated as false)
        if name in reached and wanted <= reached[name]:
            continue
        reached[name] = reached.get(name, set()) | wanted
        stack += _requires(by_name[name], reached[name], python)
    return [i for n, i in by_name.items() if n in reached]


def have(listing: Path) -> set[str]:
    """Package names of a `pip freeze` output or a list of names (comments and blank lines skipped)."""
    names = set()
    for line in listing.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonical(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]))
    return names


def download(items: list[dict], out: Path, target: list[str]) -> None:
    pins = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items]
    pins = [p for p in pins if not p.startswith("mixft==")]
    done = pip("download", "--no-deps", "--quiet", "--find-links", str(out), "-d", str(out), *target, *pins)
    if done.returncode:
        raise SystemExit(f"pip download failed: {done.stderr.strip().splitlines()[-1]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to fill with wheels")
    parser.add_argument("--python", help="target Python, e.g. 3.12 (default: this one)")
    parser.add_argument(
        "--platform", help="target platform tag, e.g. manylinux_2_28_x86_64 (default: this one)"
    )
    parser.add_argument("--extras", default="", help="comma-separated extras of mixft: gpu, eval")
    parser.add_argument("--lean", action="store_true", help=f"leave out {', '.join(LEAN_EXCLUDES)}")
    parser.add_argument(
        "--have",
        type=Path,
        help="packages the target has already (`pip freeze` there, or names one per line): left out too",
    )
    parser.add_argument("--pin", action="append", default=[], help="a constraint, e.g. torch==2.13.0")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    extras = {e for e in args.extras.split(",") if e}
    target = target_args(args.python, args.platform)
    if args.pin:
        pins = out / "constraints.txt"
        pins.write_text("".join(p + "\n" for p in args.pin), encoding="utf-8")
        target += ["--constraint", str(pins)]
    wheel = build_own_wheel(out)
    root = f"mixft[{','.join(sorted(extras))}] @ {wheel.as_uri()}" if extras else wheel.as_uri()
    items = resolve(root, out, target)
    excludes = set(LEAN_EXCLUDES) if args.lean else set()
    if args.have is not None:
        excludes |= have(args.have)
    kept = keep(items, extras, excludes, args.python)
    download(kept, out, target)
    names = {canonical(i["metadata"]["name"]) for i in kept}
    for stale in out.glob("*.whl"):  # wheels from an earlier fill that this one does not use
        if canonical(stale.name.split("-")[0]) not in names:
            stale.unlink()
    (out / "requirements.txt").write_text(
        "".join(f"{i['metadata']['name']}=={i['metadata']['version']}\n" for i in kept), encoding="utf-8"
    )
    size = sum(p.stat().st_size for p in out.glob("*.whl")) / 2**20
    where = f"Python {args.python or sysconfig.get_python_version()}, {args.platform or 'this platform'}"
    print(f"{out}: {len(kept)} wheels, {size:.1f} MiB, for {where}" + (" (lean)" if args.lean else ""))


if __name__ == "__main__":
    main()
