"""A rehearsal of a sweep: its exact shape on the tiny model, a few dozen rows of each real source, a
few steps and a few eval rows, in a store of its own, before a study spends GPU-hours.

run: mixft sweep cocktail_paper --rehearse    |    mixft sweep cocktail_paper --rehearse --sample 8

Every mixture, baseline, regulariser, task and eval of the sweep is kept (model axes collapse to the
tiny model); every source is read as the real sweep reads it (hub or local file; the sample suite
only with data.samples=true), checked by the pre-flight (rows load, columns, labels in the label
set, prompts render), then trained for REHEARSAL_STEPS steps on sequences packed to the tiny model's
context, and scored on REHEARSAL_EVAL rows, so answers are parsed too. The store is
$MIXFT_HOME/rehearsal/: rehearsal runs never mix with real ones.
"""

from __future__ import annotations

import os

from mixft.runner.paths import store_root
from mixft.runner.plan.grid import Plan

REHEARSAL_ROWS = 48  # rows read per source split
REHEARSAL_STEPS = 2  # optimizer steps per training
REHEARSAL_EVAL = 8  # rows scored per eval task
# Tokens per sequence the trainer packs (TRL's max_length): the tiny model's context
# (conf/model/tiny.yaml). A recipe's 4096 would train it past its positions, at 8x the CPU time per
# step (measured: 46 s against 5.7 s on one core; attention grows with the square). Rows are still
# tokenised, truncated and dropped at the recipe's training.max_length, as in the real sweep.
REHEARSAL_SEQUENCE = 1024

# After the user's own overrides, so they win over the sweep's and the user's recipe settings that
# the tiny model on a CPU cannot take (DeepSpeed, 4-bit, bf16, sequences past its context).
OVERRIDES = (
    "model=tiny",
    f"training.max_steps={REHEARSAL_STEPS}",
    f"++training.sft_kwargs.max_length={REHEARSAL_SEQUENCE}",
    "training.deepspeed=null",
    "training.method=full",
    "training.precision=fp32",
    "training.gradient_checkpointing=false",
    "training.save_steps=null",
    f"eval.max_examples={REHEARSAL_EVAL}",
    f"data.max_rows={REHEARSAL_ROWS}",
    "tracker=none",
)


def use_rehearsal_store() -> str:
    """Point this process (and the run processes it starts) at the rehearsal store; returns it."""
    folder = store_root() / "rehearsal"
    os.environ["MIXFT_HOME"] = str(folder)
    return str(folder)


def sample(plan: Plan, trainings: int) -> Plan:
    """The plan cut to `trainings` trained runs spread evenly over it, with the base-model rows."""
    trained = [run for run in plan.runs if run.role != "base"]
    if trainings >= len(trained):
        return plan
    step = len(trained) / trainings
    chosen = {trained[int(i * step)].id for i in range(trainings)}
    return plan.only([run for run in plan.runs if run.role == "base" or run.id in chosen])
