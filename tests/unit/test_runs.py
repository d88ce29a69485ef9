"""Run identity: stable, order-free, and sensitive to anything that changes a run's training or its
evaluation, each in its own part of the id (`<training>-<evaluation>`; more in test_identity.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, role_of
from mixft.runner.plan.ids import ids_of
from mixft.runner.store.identity import canonical_json, split_id

RUN_ID = re.compile(r"[0-9a-f]{12}-[0-9a-f]{8}")


def rid(*overrides: str) -> str:
    return ids_of(resolve(load_config(list(overrides)))).run


def test_order_of_overrides_and_tasks_does_not_matter():
    a = rid("model=phi3_mini", "training=lora", "training.learning_rate=1e-4", "mixture.tasks=[fpb,headline]")
    b = rid("mixture.tasks=[headline,fpb]", "training=lora", "training.learning_rate=1e-4", "model=phi3_mini")
    assert a == b and RUN_ID.fullmatch(a)


def test_anything_that_changes_training_changes_both_parts_of_the_id():
    base = ("mixture.tasks=[fpb]",)
    ids = [
        rid(*base),
        rid(*base, "seed=1"),
        rid(*base, "training.learning_rate=1e-4"),
        rid(*base, "model=phi3_mini"),
        rid(*base, "task.fpb.max_examples=100"),
        rid(*base, "task.fpb.prompt=Say it"),
        rid("mixture.tasks=[fpb,headline]"),
        rid(*base, "+mixture.caps.fpb=10"),
        rid(*base, "regularizer=general"),
    ]
    trainings, evaluations = zip(*map(split_id, ids), strict=True)
    assert len(set(trainings)) == len(ids)
    # an evaluation's digest covers the training it scores: new weights, new scores
    assert len(set(evaluations)) == len(ids)


def test_what_only_evaluation_reads_changes_only_the_evaluation_part():
    base = ("mixture.tasks=[fpb]",)
    ids = [
        rid(*base),
        rid(*base, "eval.max_examples=10"),
        rid(*base, "eval.tasks=[fiqa_sa,headline]"),
        rid(*base, "eval.batch_size=4"),
        rid(*base, "eval.max_new_tokens=16"),
        rid(*base, "task.fpb.max_new_tokens=16"),
        rid(*base, "task.fiqa_sa.prompt=Say it"),  # scored, never trained on
    ]
    trainings, evaluations = zip(*map(split_id, ids), strict=True)
    assert len(set(trainings)) == 1
    assert len(set(evaluations)) == len(ids)


def test_labels_tracker_and_executor_do_not_change_the_id():
    base = ("mixture.tasks=[fpb]",)
    same = {
        rid(*base),
        rid(*base, "tracker=wandb"),
        rid(*base, "executor.gpus=none"),
        rid(*base, "training.name=renamed"),
        rid(*base, "task.fpb.description=other words"),
        rid(*base, "task.fpb.typical.tokens_per_row=7"),
        rid(*base, "task.headline.max_examples=7"),  # a task the run does not use
        # settings that change neither the weights nor the scores
        rid(*base, "training.save_steps=3"),
        rid(*base, "training.logging_steps=1"),
        rid(*base, "training.save_final_only=true"),
        rid(*base, "training.keep=none"),
    }
    assert len(same) == 1


def test_roles():
    assert role_of(load_config(["mixture.tasks=[fpb]"])) == "baseline"
    assert role_of(load_config(["mixture.tasks=[fpb,headline]"])) == "mixture"
    assert role_of(load_config(["mixture.tasks=[fpb]", "regularizer=general"])) == "mixture"
    assert role_of(load_config([])) == "base"


def test_resolve_keeps_only_the_tasks_a_run_uses():
    cfg = resolve(load_config(["mixture.tasks=[headline,fpb]", "regularizer=math"]))
    assert cfg.mixture.tasks == ["fpb", "headline"]
    assert set(cfg.task) == {"fpb", "headline", "orca_math", "fiqa_sa"}


def test_canonical_json_is_sorted_ascii_and_compact():
    assert canonical_json({"b": 1e-5, "a": [1, "é"]}) == '{"a":[1,"\\u00e9"],"b":1e-05}'


def test_ids_are_the_same_in_other_processes():
    code = (
        "from mixft.runner.config.load import load_config; from mixft.runner.config.run import resolve;"
        "from mixft.runner.plan.ids import ids_of;"
        "print(ids_of(resolve(load_config(['model=llama31_8b','mixture.tasks=[finqa,convfinqa]']))).run)"
    )
    here = rid("model=llama31_8b", "mixture.tasks=[finqa,convfinqa]")
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == here
    assert json.loads(canonical_json({"x": here}))["x"] == here
