"""`mixft search` end to end on the tiny model: rounds, a kill mid-search and a re-run that trains
nothing twice, a third run that trains nothing, the confirmation, and the files it leaves."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QUICK = ["training.max_steps=16", "eval.max_examples=32"]
ARGS = ["search", "search_smoke", "--budget", "3", "--batch", "1", *QUICK]


def mixft(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mixft.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def trainings() -> dict[str, float]:
    """Done trainings by id, with the time their metrics were written."""
    runs = Path(os.environ["MIXFT_HOME"]) / "runs"
    out = {}
    for folder in runs.glob("*"):
        status = folder / "status.json"
        if (
            status.exists()
            and json.loads(status.read_text())["state"] == "done"
            and (folder / "metrics.json").exists()
        ):
            out[folder.name] = (folder / "metrics.json").stat().st_mtime
    return out


def test_a_killed_search_resumes_and_trains_nothing_twice():
    cmd = [sys.executable, "-m", "mixft.cli.main", *ARGS]
    first = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert first.stdout is not None
    seen = []
    deadline = time.time() + 600
    for line in first.stdout:  # kill it once the second round has started training
        seen.append(line)
        if line.split()[1:3] == ["round", "2:"]:
            break
        assert time.time() < deadline, "".join(seen)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = trainings()
    assert len(before) >= 4, "".join(seen)  # three baselines and round 1's candidate

    second = mixft(*ARGS)
    assert second.returncode == 0, second.stdout + second.stderr
    after = trainings()
    assert all(after[t] == before[t] for t in before)  # nothing done was trained again
    assert "predicted best:" in second.stdout and "confirmation at seed 1" in second.stdout
    summary = json.loads((Path(os.environ["MIXFT_HOME"]) / "searches/search_smoke/search.json").read_text())
    assert [c["round"] for c in summary["candidates"]] == [1, 2, 3]
    assert summary["confirmation"]["targets"] and all(
        row["n_examples"] == 32 and row["interval"] for row in summary["confirmation"]["targets"].values()
    )
    # one seed: each target's baselines at seeds 0 and 1 give compare's pooled seed variance
    assert {row["ci_method"] for row in summary["confirmation"]["targets"].values()} == {"pooled"}
    with (Path(os.environ["MIXFT_HOME"]) / "searches/search_smoke/ratios.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(
        abs(sum(float(r[s]) for s in ("fpb", "headline", "twitter_sa")) - 1) < 1e-6 for r in rows
    )

    third = mixft(*ARGS)  # everything done: the same rounds replayed from the store
    assert third.returncode == 0, third.stdout + third.stderr
    assert " start " not in third.stdout and trainings() == after
    assert (
        third.stdout.split("predicted best:")[1].splitlines()[0]
        == second.stdout.split("predicted best:")[1].splitlines()[0]
    )
    status = mixft("status", "search_smoke", "--format", "json")
    assert all(row["state"] == "done" for row in json.loads(status.stdout))


def test_halving_trains_the_best_early_candidates_in_full_and_says_so():
    args = ["search", "search_smoke", "--budget", "2", "--batch", "2", "--halving", "--no-confirm", *QUICK]
    done = mixft(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chosen by early scores" in done.stdout and "saved" in done.stdout
    summary = json.loads((Path(os.environ["MIXFT_HOME"]) / "searches/search_smoke/search.json").read_text())
    (rung,) = summary["rungs"]
    assert len(rung["early"]) == 2 and len(rung["survivors"]) == 1
    assert all(e["steps"] == 4 for e in rung["early"])  # a quarter of 16 steps
    assert 0 < rung["gpu_hours_spent"] < rung["gpu_hours_all_full"]
    assert [c["mixture"] for c in summary["candidates"]] == rung["survivors"]
    # the rung runs are a sweep of their own: the search's comparison holds full runs only
    rungs = json.loads(mixft("status", "search_smoke.rungs", "--format", "json").stdout)
    search = json.loads(mixft("status", "search_smoke", "--format", "json").stdout)
    assert len(rungs) == 2 and not {r["id"] for r in rungs} & {r["id"] for r in search}
