"""A suite of two lm-eval tasks over small local data, written into a project folder for the tests.

run: imported by tests/smoke/test_suites.py and tests/bench/suite_speed.py

`toy_mc` is multiple choice (which number is larger: loglikelihood of each answer), `toy_gen` is
generative (repeat a word: greedy generation until a newline, exact match). Both are lm-eval task
YAMLs with `dataset_path: json` over jsonl files next to them, the way a user adds their own.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SUITE = "toy"
TASKS = ("toy_mc", "toy_gen")
WORDS = ["bond", "yield", "equity", "rate", "loan", "asset", "hedge", "cash", "debt", "swap"]

MC = """task: toy_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: Is {{{{a}}}} larger than {{{{b}}}}?\\nAnswer:"
doc_to_choice: ["yes", "no"]
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""

GEN = """task: toy_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "Repeat the word: {{{{word}}}}\\nWord:"
doc_to_target: " {{{{word}}}}"
generation_kwargs:
  until: ["\\n"]
  do_sample: false
  max_gen_toks: 8
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
"""


def write_toy_suite(project: Path, n_docs: int = 40, **settings: object) -> Path:
    """conf/suite/toy.yaml and its lm-eval tasks (conf/suite/toy/) in `project`; returns the suite file.

    `settings` become fields of the suite file (num_fewshot, limit, ...).
    """
    folder = project / "conf" / "suite" / SUITE
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    mc = [{"a": rng.randint(0, 9), "b": rng.randint(0, 9)} for _ in range(n_docs)]
    for row in mc:
        row["label"] = 0 if row["a"] > row["b"] else 1
    gen = [{"word": rng.choice(WORDS)} for _ in range(n_docs)]
    for name, rows, template in (("toy_mc", mc, MC), ("toy_gen", gen, GEN)):
        data = folder / f"{name}.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (folder / f"{name}.yaml").write_text(template.format(data=data), encoding="utf-8")
    fields = {"name": SUITE, "tasks": list(TASKS), "include_path": SUITE, "num_fewshot": 0, **settings}
    suite = project / "conf" / "suite" / f"{SUITE}.yaml"
    suite.write_text(
        "# run: mixft run model=tiny eval.suites=[toy]\n"
        + "".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items()),
        encoding="utf-8",
    )
    return suite
