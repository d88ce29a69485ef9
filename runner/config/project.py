"""A new project folder: one example task on local files, one sweep, and a README of what to run next.

run: mixft init demo && cd demo && mixft sweep demo && mixft compare demo

The example task (`fomc_stance`: is a sentence from a Federal Reserve statement hawkish, dovish or
neutral?) reads two jsonl files written here from a few phrase lists, so the project runs offline on
a CPU with the tiny model; its sweep mixes it with the packaged `fpb`, whose offline sample rows stand
in for the hub (data.samples=true), and scores every mixture against its single-task baselines.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from mixft.runner.errors import ConfigError

TASK = "fomc_stance"
SWEEP = "demo"
TEST_SHARE = 0.25

_SUBJECTS = ("The Committee", "Participants", "Most members", "The Board")
_WHEN = ("", " at this meeting", " in light of incoming data", " over the intermeeting period")
_STANCES = {
    "hawkish": (
        "decided to raise the target range for the federal funds rate",
        "judged that additional policy firming may be appropriate",
        "saw the risks to inflation as tilted to the upside",
        "agreed to keep reducing the Federal Reserve's securities holdings",
        "noted that inflation remained well above the 2 percent objective",
    ),
    "dovish": (
        "decided to lower the target range for the federal funds rate",
        "judged that policy should stay accommodative for some time",
        "saw the downside risks to employment as elevated",
        "will be patient in determining future adjustments to the policy rate",
        "noted that inflation was running below the 2 percent objective",
    ),
    "neutral": (
        "noted that household spending grew at a moderate pace",
        "observed that business fixed investment was little changed",
        "reviewed the staff projection for exports",
        "discussed the schedule of communications",
        "noted that conditions in the labor market were broadly stable",
    ),
}

TASK_YAML = f"""\
# run: mixft data show {TASK}    (a task of this project: conf/task/*.yaml shadow the packaged ones)
name: {TASK}                     # must match the file name
kind: classification
description: Monetary-policy stance of a sentence from an FOMC statement.
source:
  path: data/{TASK}_{{split}}.jsonl   # relative to the project folder; {{split}} is train or test
  train_split: train
  eval_split: test
columns:
  input: sentence
  output: label
prompt: "Is this FOMC sentence hawkish, dovish or neutral? Answer with one word: hawkish, dovish or neutral."
labels: [hawkish, dovish, neutral]
metric: accuracy_f1
max_new_tokens: 8                # tokens generated per scored answer
typical: {{tokens_per_row: 60, eval_rows: 60}}
"""

SWEEP_YAML = f"""\
# run: mixft plan {SWEEP}    then    mixft sweep {SWEEP}    then    mixft compare {SWEEP}
name: {SWEEP}
description: "{TASK} alone, fpb alone and the two mixed, on the tiny model (CPU, offline, minutes)."
base:
  - model=tiny          # a real study: model=hf:ORG/NAME or model=path:/models/NAME
  - training=smoke
  - eval=smoke
  - data.samples=true   # offline sample rows for packaged hub tasks; {TASK} reads its own files
mixtures:
  tasks: [{TASK}, fpb]
  generators: [singles, all]
seeds: [0]
"""

README = f"""\
# A mixft project

`conf/<group>/*.yaml` (task, model, training, eval, regularizer, mixture, tracker, executor) and
`sweeps/*.yaml` here are read before mixft's packaged options when mixft runs in this folder (or with
`mixft --config-dir PATH`, or `MIXFT_CONFIG_PATH=PATH`). `mixft config ls` shows where each option
comes from.

```bash
mixft config ls task                      # {TASK} comes from this folder
mixft data validate data/{TASK}_train.jsonl --task {TASK}
mixft plan {SWEEP}                            # 3 trainings and the base model, with cost
mixft sweep {SWEEP} --rehearse                # every source, prompt and parse checked in seconds
mixft sweep {SWEEP}                           # a few minutes on a CPU
mixft compare {SWEEP}                         # the mixture against each single-task baseline
```

Next:
- your own task: copy `conf/task/{TASK}.yaml`, point `source.path` at your files (or `source.hf_id`
  at a hub dataset), and list it in `sweeps/{SWEEP}.yaml`;
- a packaged option to change: `mixft config cp task/fpb` writes `conf/task/fpb.yaml` here;
- a real model: `model=hf:ORG/NAME` (or `model=path:/models/NAME` offline) in the sweep's `base`,
  with `training=lora` and `data.samples=false` to read the hub data.
"""


def example_rows(seed: int = 0) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The example task's (train, test) rows: every phrase combination once, shuffled, split 3:1."""
    rows = [
        {"sentence": f"{subject} {phrase}{when}.", "label": label}
        for label, phrases in _STANCES.items()
        for subject, phrase, when in itertools.product(_SUBJECTS, phrases, _WHEN)
    ]
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * (1 - TEST_SHARE))
    return rows[:cut], rows[cut:]


def init_project(folder: Path) -> list[Path]:
    """Write a new project into `folder` (created if missing); refuse to overwrite any file.

    Returns:
        The files written, in the order written.
    """
    train, test = example_rows()
    files = {
        Path("conf") / "task" / f"{TASK}.yaml": TASK_YAML,
        Path("sweeps") / f"{SWEEP}.yaml": SWEEP_YAML,
        Path("data") / f"{TASK}_train.jsonl": "".join(json.dumps(r) + "\n" for r in train),
        Path("data") / f"{TASK}_test.jsonl": "".join(json.dumps(r) + "\n" for r in test),
        Path("README.md"): README,
    }
    existing = [str(folder / path) for path in files if (folder / path).exists()]
    if existing:
        raise ConfigError(f"{existing[0]} exists; mixft init writes a new project (choose an empty folder)")
    written = []
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
