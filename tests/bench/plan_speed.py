"""Planning benchmarks: wall time of mixft commands, each against a baseline timed in the same run.

run: make bench    (or: python tests/bench/plan_speed.py --repeat 5)

Baselines: a bare interpreter start for `mixft --help`, and "one Hydra compose per run" (the
straightforward way to resolve every run of a grid) for the plans. A project folder of 50 tasks and
20 models on the search path is set against the packaged-only plan of the same sweep.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIXFT = [sys.executable, "-m", "mixft.cli.main"]
HEAVY = ("torch", "transformers", "trl", "datasets", "wandb")


PROJECT_TASKS, PROJECT_MODELS, PROJECT_TARGET = 50, 20, 1.2


def wall(cmd: list[str], repeat: int, cwd: Path | None = None) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_project(root: Path) -> Path:
    """A project folder of PROJECT_TASKS tasks and PROJECT_MODELS models, copies of packaged ones."""
    from mixft.runner.config.search_path import packaged

    conf = packaged().conf
    tasks = sorted((conf / "task").glob("*.yaml"))
    for kind, count, sources in (
        ("task", PROJECT_TASKS, tasks),
        ("model", PROJECT_MODELS, [conf / "model/phi3_mini.yaml"]),
    ):
        (root / "conf" / kind).mkdir(parents=True)
        for i in range(count):
            source = sources[i % len(sources)]
            name = f"project_{source.stem}_{i:02d}"
            text = source.read_text().replace(f"name: {source.stem}", f"name: {name}")
            (root / "conf" / kind / f"{name}.yaml").write_text(text)
    return root


def project_ratio(repeat: int) -> tuple[float, float]:
    """(packaged-only seconds, seconds with the project on the search path) for one sweep's plan."""
    command = [*MIXFT, "plan", "cocktail_paper", "--format", "json"]
    with tempfile.TemporaryDirectory() as tmp:
        project, elsewhere = make_project(Path(tmp) / "project"), Path(tmp)
        assert (
            "project_fpb"
            in subprocess.run([*MIXFT, "config", "ls"], cwd=project, capture_output=True, text=True).stdout
        )
        return wall(command, repeat, cwd=elsewhere), wall(command, repeat, cwd=project)


def hydra_compose_seconds(repeat: int) -> float:
    """Median time of one full Hydra composition of mixft's config, in-process."""
    code = (
        "import time, statistics\nfrom mixft.runner.config.compose import hydra_compose\nhydra_compose([])\n"
        f"t=[]\nfor i in range({repeat}):\n    s=time.perf_counter(); hydra_compose(['model=phi3_mini'])\n"
        "    t.append(time.perf_counter()-s)\nprint(statistics.median(t))\n"
    )
    return float(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    )


def heavy_imports(args: list[str]) -> list[str]:
    """Heavy modules a mixft command imports (should be none)."""
    code = (
        f"import sys\nfrom mixft.cli.main import app\ntry:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1].replace("'", '"'))


def count_runs(args: list[str]) -> int:
    out = subprocess.run(
        [*MIXFT, *args, "--format", "json"], check=True, capture_output=True, text=True
    ).stdout
    return len(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
        f"{__import__('os').cpu_count()} cores; median of {repeat}"
    )
    python = wall([sys.executable, "-c", "pass"], repeat)
    compose = hydra_compose_seconds(repeat)
    cases = [
        ("mixft --help", ["--help"], 0.5),
        ("mixft plan cocktail_paper", ["plan", "cocktail_paper"], 1.5),
        ("mixft plan grid_10k (json)", ["plan", str(HERE / "grid_10k.yaml"), "--format", "json"], 5.0),
    ]
    print(f"baseline: interpreter start {python:.3f} s; one Hydra compose {compose:.3f} s")
    print(f"{'command':<30} {'seconds':>8} {'target':>7} {'vs baseline':>34}  heavy imports")
    failed = False
    for label, args, target in cases:
        seconds = wall([*MIXFT, *args], repeat)
        if args[0] == "plan":
            runs = count_runs(args[:2])
            ratio = f"{runs * compose / seconds:6.1f}x faster than {runs} composes"
        else:
            ratio = f"{seconds / python:6.1f}x interpreter start"
        heavy = heavy_imports(args)
        failed |= seconds > target or bool(heavy)
        print(f"{label:<30} {seconds:8.3f} {target:7.1f} {ratio:>34}  {heavy or 'none'}")
    alone, with_project = project_ratio(repeat)
    ratio = with_project / alone
    failed |= ratio > PROJECT_TARGET
    print(
        f"plan cocktail_paper with a project of {PROJECT_TASKS} tasks and {PROJECT_MODELS} models: "
        f"{with_project:.3f} s against {alone:.3f} s packaged-only = {ratio:.2f}x (target {PROJECT_TARGET}x)"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
