"""`model=path:DIR` on the tiny model's saved folder plans and trains like a packaged model.

run: .venv/bin/python -m pytest tests/smoke/test_model_path.py -q
"""

from __future__ import annotations

import json

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.plan.memory import model_parameters
from mixft.runner.train.models import ensure_tiny_model
from tests.sweep.test_sweep import mixft

pytestmark = pytest.mark.smoke


@pytest.mark.slow  # plans and trains: test-all runs it, the fast tier stays under 5 minutes
def test_a_local_model_folder_plans_and_trains():
    folder = ensure_tiny_model(load_config(["model=tiny"]).model.build)
    model = f"model=path:{folder}"
    plan = mixft("plan", "smoke", model, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    assert {row["model"] for row in json.loads(plan.stdout)} == {folder.name}
    run = mixft(
        "run",
        model,
        "data.samples=true",
        "mixture.tasks=[fpb]",
        "training=smoke",
        "eval=smoke",
        "training.max_steps=2",
        "eval.max_examples=4",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    done = json.loads(run.stdout)
    assert done["status"] == "done" and done["metrics"]["train/steps"] == 2
    assert "eval/fpb/accuracy" in done["metrics"]


def test_the_tiny_models_parameter_count_is_the_built_models():
    tiny = load_config(["model=tiny"])
    folder = ensure_tiny_model(tiny.model.build)
    # counted from the built model's safetensors header (tied embeddings stored once)
    built = load_config([f"model=path:{folder}"]).model.num_parameters
    assert tiny.model.num_parameters == built == model_parameters(tiny) == 426_624
