"""A suite added to a finished sweep scores the saved models and the base model, and trains nothing;
compare --view forgetting then sets every arm against the base model and every regularised arm against
the same mixture without its regulariser.

run: .venv/bin/python -m pytest tests/sweep/test_suites_sweep.py -q
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sweep.test_identities import QUICK, fingerprints
from tests.sweep.test_sweep import mixft
from tests.toy_suite import SUITE, TASKS, write_toy_suite

pytestmark = [pytest.mark.smoke, pytest.mark.slow]


def test_a_suite_added_to_a_finished_sweep_trains_nothing(tmp_path, monkeypatch):
    done = mixft("sweep", "smoke", *QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    trained = fingerprints()

    write_toy_suite(tmp_path / "project", limit=12)
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path / "project"))
    scored = mixft("sweep", "smoke", *QUICK, f"eval.suites=[{SUITE}]")
    assert scored.returncode == 0, scored.stdout + scored.stderr
    assert fingerprints() == trained  # not one training file touched

    shown = mixft("status", "smoke", "--format", "json")  # the runs of the sweep's last invocation
    assert shown.returncode == 0, shown.stdout + shown.stderr
    status = json.loads(shown.stdout)
    assert len(status) == 6 and {row["state"] for row in status} == {"done"}
    assert [row["training_state"] for row in status].count("base") == 1  # the base model, scored once
    for row in status:
        settings = json.loads((Path(row["run_dir"]) / "suites" / SUITE / "settings.json").read_text())
        assert {settings["tasks"][task]["n_docs"] for task in TASKS} == {12}

    shown = mixft(
        "compare", "smoke", *QUICK, f"eval.suites=[{SUITE}]", "--view", "forgetting", "--format", "json"
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = json.loads(shown.stdout)["rows"]
    against_base = [r for r in rows if r["reference"] == "base"]
    against_plain = [r for r in rows if r["reference"] != "base"]
    assert len(against_base) == 5 * len(TASKS)  # five trained arms, each task of the suite
    assert len(against_plain) == len(TASKS) and {r["regularizer"] for r in against_plain} == {"general"}
    for row in rows:
        assert row["n_examples"] == 12 and row["ci_low"] <= row["delta"] <= row["ci_high"], row
