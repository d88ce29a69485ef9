"""Faults: real signals at real moments, a corrupt status.json (a full disk: tests/faults).

Each must leave the store readable and `mixft status` truthful, and the next `mixft sweep` must
finish the run with the results of a run that nothing disturbed (same metrics, weights, predictions).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mixft.runner.store.status import UNRECORDED
from tests.reliability.store import (
    REPO,
    assert_same_results,
    assert_store_readable,
    env_for,
    mixft,
    results,
    run_folder,
    run_ids,
    status_file,
    status_rows,
    training_folder,
    write_sweep,
)

pytestmark = [pytest.mark.smoke, pytest.mark.slow]  # kill-and-resume trials: make test-all

# (moment, signal) per seed; tests/reliability/inject.py says what each moment is
FAULTS = [
    ("checkpoint", "KILL"),
    ("checkpoint", "TERM"),
    ("final", "KILL"),
    ("metrics", "KILL"),
    ("metrics", "TERM"),
    ("claim", "KILL"),
    ("claim", "TERM"),
]
# the checkpoint training restarts from: 4 is cut off, so 2; after training ended, the final one
RESUMED_FROM = {"checkpoint": 2, "final": 6, "metrics": 6, "claim": 0}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every run of these tests, undisturbed, in a store of its own: {store, sweep, env, results}."""
    folder = tmp_path_factory.mktemp("reference")
    sweep = write_sweep(folder, "reference", list(range(len(FAULTS))))
    env = env_for(folder / "store")
    done = mixft(env, "sweep", str(sweep), "--max-parallel", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    ids = run_ids(sweep)
    return {
        "store": folder / "store",
        "sweep": sweep,
        "env": env,
        "ids": ids,
        "results": {rid: results(folder / "store", rid) for rid in ids},
    }


def inject_all(env: dict[str, str], sweep: Path) -> None:
    """Run FAULTS[i] on the sweep's run i (tests/reliability/inject.py), two at a time."""
    faults = [f"{i}:{moment}:{sig}" for i, (moment, sig) in enumerate(FAULTS)]
    cmd = [sys.executable, "-m", "tests.reliability.inject", str(sweep), *faults]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    ends = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("exit ")]
    codes = {int(index): int(code) for index, code in ends}
    for index, (moment, sig) in enumerate(FAULTS):
        # SIGTERM before the run installs its handler (during the claim) ends it as by default
        expected = 130 if sig == "TERM" and moment != "claim" else -getattr(signal, f"SIG{sig}")
        assert codes[index] == expected, (moment, sig, codes)


def test_signals_while_writing_leave_a_store_the_next_sweep_finishes(tmp_path, reference):
    sweep = write_sweep(tmp_path, "faults", list(range(len(FAULTS))))
    env = env_for(tmp_path / "store")
    ids = run_ids(sweep)
    assert ids == reference["ids"][: len(FAULTS)]
    inject_all(env, sweep)
    store = tmp_path / "store"
    assert_store_readable(store)
    rows = status_rows(env, sweep)
    for rid, (moment, sig) in zip(ids, FAULTS, strict=True):
        row = rows[rid]
        assert row["holder"] is None, (moment, sig, row)
        if moment == "claim":  # it never started: the claim it left belongs to a dead process
            assert row["state"] == "pending" and row["attempts"] == 0, row
            assert row["training_state"] == "pending", row
            assert (run_folder(store, rid) / "claim.json").exists()
        elif sig == "TERM":
            assert (row["state"], row["error"]) == ("interrupted", "Interrupted: signal 15"), row
            assert row["training_state"] == "interrupted", row
            assert status_file(store, rid, training=True)["error"] == "Interrupted: signal 15"
        else:  # SIGKILL: status.json still says running; with no live holder that is interrupted
            assert status_file(store, rid)["state"] == "running"
            assert status_file(store, rid, training=True)["state"] == "running"
            assert (row["state"], row["error"]) == ("interrupted", UNRECORDED), row
            assert row["training_state"] == "interrupted", row

    again = mixft(env, "sweep", str(sweep), "--max-parallel", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {row["state"] for row in status_rows(env, sweep).values()} == {"done"}
    for rid, (moment, sig) in zip(ids, FAULTS, strict=True):
        training = training_folder(store, rid)
        for status in (status_file(store, rid), status_file(store, rid, training=True)):
            history = [h["state"] for h in status["history"]]
            want = ["done"] if moment == "claim" else ["interrupted", "done"]
            assert history == want, (moment, status)
        got = results(store, rid)
        assert got["metrics"]["train/steps"] == 6.0, (moment, sig)
        assert_same_results(got, reference["results"][rid])
        for folder in (run_folder(store, rid), training):
            metrics = (folder / "metrics.json").read_text()
            assert f'"train/resumed_from_step": {RESUMED_FROM[moment]}.0' in metrics, (moment, metrics)
        assert not (training / ".model-staging").exists()
        assert sorted(p.name for p in (training / "checkpoints").glob("checkpoint-*")) == [
            "checkpoint-4",
            "checkpoint-6",
        ]
    assert_store_readable(store)


CORRUPT = {
    "truncated": lambda text: text[: len(text) // 2],
    "a JSON string": lambda text: '"done"\n',
    "an unknown state": lambda text: text.replace('"done"', '"finished"'),
}


def test_a_corrupt_status_reads_as_interrupted_and_the_run_is_redone(reference):
    # on the reference store itself (its results were read when it was made)
    store, sweep, env = reference["store"], reference["sweep"], reference["env"]
    victims = dict(zip(reference["ids"], CORRUPT, strict=False))
    trained = {rid: (training_folder(store, rid) / "train.log").read_text() for rid in victims}
    for rid, how in victims.items():
        path = run_folder(store, rid) / "status.json"
        path.write_text(CORRUPT[how](path.read_text()))

    rows = status_rows(env, sweep)
    for rid, how in victims.items():
        assert (rows[rid]["state"], rows[rid]["error"]) == ("interrupted", "status.json was unreadable"), how
    assert sum(row["state"] == "done" for row in rows.values()) == len(rows) - len(victims)

    again = mixft(env, "sweep", str(sweep), "--max-parallel", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(victims)} to run" in again.stdout
    assert {row["state"] for row in status_rows(env, sweep).values()} == {"done"}
    for rid, how in victims.items():
        assert status_file(store, rid)["state"] == "done", how
        assert_same_results(results(store, rid), reference["results"][rid])
        # the run is evaluated again, from the kept weights: its training is not redone
        assert [h["state"] for h in status_file(store, rid, training=True)["history"]] == ["done"], how
        assert (training_folder(store, rid) / "train.log").read_text() == trained[rid], how
    assert_store_readable(store)
