"""Run every benchmark in tests/bench and write docs/benchmarks.md with their figures.

run: make bench    (or: python tests/bench/report.py --only compare_speed,plan_speed)

With --only, the sections of the other benchmarks already in the report are kept as they were (each
section says when it was measured).

Each benchmark prints its figures as ratios against a baseline it measures in the same run (this
machine's speed changes from minute to minute; a ratio survives that) and exits 1 when it misses its
target. The report keeps each one's output verbatim, under the machine it ran on and the command that
reproduces it. Exit code 1 when any benchmark missed its target or failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORT = HERE.parents[1] / "docs" / "benchmarks.md"
TIMEOUT_S = 1800  # per benchmark


def machine() -> list[str]:
    """What the figures were measured on."""
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return [
        f"- CPU: {cpu}, {cores} cores available; memory {memory:.0f} GiB; GPU: {gpu}",
        f"- {platform.platform()}; Python {platform.python_version()}; torch {torch.__version__}",
    ]


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def kept_sections(report: Path) -> dict[str, str]:
    """The report's sections by benchmark name ("## name: ..." to the next heading)."""
    if not report.exists():
        return {}
    parts = report.read_text(encoding="utf-8").split("\n## ")[1:]
    return {part.split(":", 1)[0]: "## " + part.rstrip() + "\n" for part in parts}


def run(script: Path) -> tuple[int, str, float]:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=TIMEOUT_S
        )
        code, output = done.returncode, done.stdout + (done.stderr if done.returncode else "")
    except subprocess.TimeoutExpired:
        code, output = 124, f"timed out after {TIMEOUT_S} s"
    return code, output.strip(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args()
    chosen = {name for name in args.only.split(",") if name}
    scripts = [
        p
        for p in sorted(HERE.glob("*.py"))
        if p.name != Path(__file__).name and (not chosen or p.stem in chosen)
    ]
    sections = kept_sections(args.output) if chosen else {}
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        code, output, seconds = run(script)
        print(output, flush=True)
        verdict = "met its target" if code == 0 else f"MISSED its target or failed (exit {code})"
        failed += [script.stem] * (code != 0)
        summary = (script.read_text().split('"""')[1].strip().splitlines() or [script.stem])[0]
        sections[script.stem] = "\n".join(
            [
                f"## {script.stem}: {summary}\n",
                f"`python tests/bench/{script.name}` ({seconds:.0f} s; {verdict}; measured {now()})\n",
                "```text",
                output,
                "```\n",
            ]
        )
    lines = [
        "# mixft benchmarks\n",
        "Written by `make bench` (tests/bench/report.py); each figure is a ratio against a baseline measured",
        "in the same run, since this machine's speed varies. Reproduce all with `make bench`, one with the",
        "command under its heading.\n",
        *machine(),
        "",
        *(sections[name] for name in sorted(sections)),
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}" + (f"; missed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
