"""Disk before launch: `mixft sweep` refuses, in one line with exit code 2, runs the store's file
system has no room for (plan/disk.py), unless --force; `mixft status` says the store's free space.

run: .venv/bin/python -m pytest tests/faults/test_disk_check.py -q    (the refusal mounts a tmpfs: root)
"""

from __future__ import annotations

import pytest

from mixft.runner.execute.sweep import disk_check, queue
from mixft.runner.paths import store_root
from mixft.runner.plan.cost import kept_bytes
from mixft.runner.plan.disk import KEPT_CHECKPOINTS, checkpoint_bytes, disk_need
from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep
from tests.faults.tmpfs import mount_tmpfs, unmount
from tests.reliability.store import env_for, mixft


def smoke(*overrides: str):
    return expand(load_sweep("smoke"), list(overrides))


def test_the_disk_runs_need_counts_kept_weights_checkpoints_and_token_cache():
    plan = smoke()
    trainings = {run.training: run for run in plan.runs if run.role != "base"}
    assert len(trainings) == 5
    need = disk_need(plan.runs)
    cfg = next(iter(trainings.values())).config
    one = checkpoint_bytes(cfg)
    # full fp32 fine-tuning: the weights (4 bytes a parameter) and AdamW's two moments (8 more)
    assert one == 12 * cfg.model.num_parameters
    assert need.weights == sum(kept_bytes(run.config) for run in trainings.values()) > 0
    assert need.checkpoints == (KEPT_CHECKPOINTS * len(trainings) + 1) * one
    assert need.cache > 16 * 100 * len(trainings)  # 16 bytes a token, > 100 tokens a training
    # no intermediate checkpoints, or a LoRA adapter's: less; a training left to train only
    assert disk_need(smoke("training.save_steps=null").runs).checkpoints == 0
    # deleted once done (save_final_only): only the checkpoints of a training in flight, 2 and a third
    assert disk_need(smoke("training.save_final_only=true").runs).checkpoints == 3 * one
    lora = disk_need(smoke("training.method=lora").runs)
    assert 0 < lora.checkpoints < need.checkpoints and lora.weights < need.weights
    assert disk_need([run for run in plan.runs if run.role == "base"]).total == 0


@pytest.mark.slow
def test_a_sweep_the_store_cannot_hold_is_refused_in_one_line_before_anything_starts(tmp_path, monkeypatch):
    store = tmp_path / "store"
    if not mount_tmpfs(store, "4m"):
        pytest.skip("a small disk is a tmpfs here: needs root to mount one")
    try:
        env = env_for(store)
        refused = mixft(env, "sweep", "smoke")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith("error: the runs to do need about ") and "--force" in line, line
        assert "checkpoints" in line and f"({store}) has 4.2 MB free" in line, line
        assert not (store / "runs").exists()  # nothing planned, nothing started
        dry = mixft(env, "sweep", "smoke", "--dry-run")
        assert dry.returncode == 0 and "disk: the runs to do need about" in dry.stdout, (
            dry.stdout + dry.stderr
        )
        # --force goes on: the check gives its line and raises nothing
        monkeypatch.setenv("MIXFT_HOME", str(store))
        assert store_root() == store
        plan = smoke()
        assert "4.2 MB free in the store" in disk_check(queue(plan, 0), force=True)
    finally:
        unmount(store)
