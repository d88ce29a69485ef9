"""A store written by mixft 0.1 moves to trainings and evaluations, and nothing trained is lost.

run: .venv/bin/python -m pytest tests/migrate -q

store-abf28e5.tgz is the store mixft 0.1 (commit abf28e5, one folder per run) left after
`mixft sweep smoke training.max_steps=2 eval.max_examples=8`, with its `mixft compare smoke --format
json` output as compare-before.json. Weights and checkpoints were left out to keep it small; the
model folders' other files (config, tokenizer) show where weights go.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from mixft.runner.plan.ids import identify
from mixft.runner.store import migrate
from tests.sweep.test_sweep import mixft

FIXTURE = Path(__file__).parent / "store-abf28e5.tgz"
SWEEP = ["smoke", "training.max_steps=2", "eval.max_examples=8"]


@pytest.fixture
def old_store() -> Path:
    home = Path(os.environ["MIXFT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(home, filter="data")
    return home


def tree(home: Path) -> dict[str, str]:
    """Every file of the store's runs/ and sweeps/, by path, with its content digest."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ("runs", "sweeps")
        for p in sorted((home / folder).rglob("*"))
        if p.is_file()
    }


def contents(files: dict[str, str], *names: str) -> list[str]:
    """Digests of the files with these names (train.log, ...), wherever they lie."""
    return sorted(digest for path, digest in files.items() if Path(path).name in names)


# what the runs scored, as compare read it then; its statistics (intervals, marks, counts) are compare's
# of today, not the store's
RESULTS = ("model", "recipe", "task", "mixture", "regularizer", "reference", "held_out", "metric")
RESULTS += ("baseline", "baseline_std", "score", "score_std", "delta", "n_seeds", "n_examples", "base")


def results_of(rows: list[dict]) -> list[dict]:
    return [{k: row.get(k) for k in RESULTS} for row in rows]


def test_a_sweep_on_an_unmigrated_store_stops_and_says_how(old_store):
    before = tree(old_store)
    result = mixft("sweep", *SWEEP)
    assert result.returncode == 2
    assert "6 run folder(s) of mixft 0.1" in result.stderr and "mixft store migrate" in result.stderr
    assert tree(old_store) == before


def test_the_dry_run_lists_every_move_and_changes_nothing(old_store):
    before = tree(old_store)
    result = mixft("store", "migrate", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 7 and lines[-1] == "would move 6 run folder(s); 0 left as they are"
    assert tree(old_store) == before


def test_migration_keeps_every_result_and_the_sweep_trains_nothing(old_store):
    before = tree(old_store)
    compare_before = json.loads((old_store / "compare-before.json").read_text())
    result = mixft("store", "migrate")
    assert result.returncode == 0, result.stderr
    after = tree(old_store)
    for names in [("train.log",), ("manifest.json",), ("config.json", "tokenizer.json")]:
        assert contents(after, *names) == contents(before, *names)  # moved, not rewritten
    predictions = [p for p in after if "/predictions/" in p]
    assert len(predictions) == sum("/predictions/" in p for p in before)
    assert all("/evals/" in p for p in predictions)
    trainings = [p for p in after if p.endswith("/train.log")]
    assert len(trainings) == 5 and not any("/evals/" in p for p in trainings)

    plan = json.loads(mixft("plan", *SWEEP, "--format", "json").stdout)
    assert {row["work"] for row in plan} == {"done"}
    status = json.loads(mixft("status", "smoke", "--format", "json").stdout)
    assert {row["id"] for row in status} == {row["id"] for row in plan}
    compare = json.loads(mixft("compare", "smoke", "--format", "json").stdout)
    assert results_of(compare["rows"]) == results_of(compare_before["rows"])

    again = mixft("sweep", *SWEEP)
    assert again.returncode == 0 and " start " not in again.stdout, again.stdout
    assert mixft("store", "migrate").stdout.strip() == "moved 0 run folder(s); 0 left as they are"


def test_a_migration_cut_short_is_finished_by_running_it_again(old_store):
    class Cut(Exception):
        pass

    seen = []

    def report(line: str) -> None:
        seen.append(line)
        if len(seen) == 3:
            raise Cut

    with pytest.raises(Cut):
        migrate.migrate(identify, report)
    assert len(migrate.old_runs()) == 3
    moves = migrate.migrate(identify, lambda line: None)
    assert len(moves) == 3 and not migrate.old_runs()
    plan = json.loads(mixft("plan", *SWEEP, "--format", "json").stdout)
    assert {row["work"] for row in plan} == {"done"}


def test_a_run_whose_overrides_no_longer_compose_is_left_where_it_is(old_store):
    folder = next(p for p in (old_store / "runs").iterdir() if p.is_dir())
    (folder / "overrides.yaml").write_text("- model=gone\n")
    result = mixft("store", "migrate")
    assert result.returncode == 1
    assert f"runs/{folder.name}: left as it is" in result.stdout and "model" in result.stdout
    assert folder.exists() and migrate.old_runs() == [folder]


def test_two_old_runs_of_one_training_become_two_evaluations_of_it(old_store):
    import shutil

    import yaml

    runs = old_store / "runs"
    source = next(p for p in runs.iterdir() if "fpb" in json.loads((p / "run.json").read_text())["tasks"])
    twin = runs / "0123456789ab"
    shutil.copytree(source, twin)
    overrides = [o for o in yaml.safe_load((twin / "overrides.yaml").read_text()) if "max_examples" not in o]
    (twin / "overrides.yaml").write_text(yaml.safe_dump([*overrides, "eval.max_examples=4"]))
    result = mixft("store", "migrate")
    assert result.returncode == 0, result.stderr
    moved = {line.split()[0]: line.split("-> ")[1] for line in result.stdout.splitlines() if "->" in line}
    training = moved[f"runs/{source.name}"].split(" + ")[0]
    assert moved["runs/0123456789ab"].split(" + ")[0] == training  # one training, two evaluations
    assert len(list((old_store / training / "evals").iterdir())) == 2
    [parked] = (old_store / "migrated").iterdir()  # the second copy of the training, set aside
    assert parked.name in (source.name, "0123456789ab") and (parked / "train.log").exists()
