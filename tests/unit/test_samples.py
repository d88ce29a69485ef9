"""The offline sample suite: the real sources' columns, labels that follow from the text, determinism."""

from __future__ import annotations

import ast
import collections
import json
import math
import operator
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.schema import TaskConfig
from mixft.runner.data.samples import SAMPLE_TASKS, label_of, sample_rows

# the columns and value types of each real source
SOURCE_COLUMNS: dict[str, dict[str, type]] = {
    "headline": {"instruction": str, "input": str, "output": str},
    "fin_ner_cls": {"instruction": str, "input": str, "output": str},
    "convfinqa": {"instruction": str, "input": str, "output": str},
    "fpb": {"sentence": str, "label": int},
    "finqa": {"id": str, "query": str, "answer": str, "text": str},
    "twitter_topics": {"text": str, "label": int},
    "twitter_sa": {"text": str, "label": int},
    "open_orca": {"id": str, "system_prompt": str, "question": str, "response": str},
    "orca_math": {"question": str, "answer": str},
    "fiqa_sa": {"id": str, "query": str, "answer": str, "text": str, "choices": list, "gold": int},
}
SPLITS = ("train", "eval")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def tasks() -> dict[str, TaskConfig]:
    return load_config([]).task


def classification_tasks() -> list[str]:
    return [t for t in SAMPLE_TASKS if load_config([]).task[t].kind == "classification"]


def label(task: TaskConfig, row: dict[str, Any]) -> str:
    """A row's label text, after the task's label map."""
    raw = row[task.columns.output]
    return task.label_map[str(raw)] if task.label_map else raw


def majority_rate(labels: list[str]) -> float:
    return max(collections.Counter(labels).values()) / len(labels)


def test_every_packaged_study_task_has_samples(tasks):
    assert set(SAMPLE_TASKS) <= set(tasks)  # a project's own tasks have none
    assert len(SAMPLE_TASKS) == len(set(SAMPLE_TASKS)) == 10


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", SAMPLE_TASKS)
def test_rows_have_the_sources_columns_and_types(tasks, name, split):
    task = tasks[name]
    rows = sample_rows(name, split, 50)
    assert len(rows) == 50
    configured = {c for c in (task.columns.instruction, task.columns.input, task.columns.output) if c}
    assert configured <= set(SOURCE_COLUMNS[name])
    for row in rows:
        assert set(row) == set(SOURCE_COLUMNS[name])
        for column, kind in SOURCE_COLUMNS[name].items():
            assert type(row[column]) is kind, (column, row)
        assert str(row[task.columns.input]).strip()
        if task.kind == "classification":
            assert label(task, row) in task.labels
        elif task.kind == "numeric_qa":
            assert NUMBER.fullmatch(row[task.columns.output]), row
        if task.columns.input_after:
            assert task.columns.input_after in row[task.columns.input]


def test_flare_rows_keep_their_own_conventions():
    for row in sample_rows("fiqa_sa", "eval", 30):
        assert row["choices"] == ["negative", "neutral", "positive"]
        assert row["choices"][row["gold"]] == row["answer"]
        assert row["text"] in row["query"]
    for row in sample_rows("finqa", "eval", 30):
        instruction, context = row["query"].split("Context: ", 1)
        assert instruction.strip() and context == row["text"] + "\nAnswer:"
    ids = [row["id"] for row in sample_rows("open_orca", "train", 100)]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", classification_tasks())
def test_labels_follow_from_the_text(tasks, name, split):
    task = tasks[name]
    rows = sample_rows(name, split, 200)
    for row in rows:
        assert label_of(name, row[task.columns.input]) == label(task, row), row
    counts = collections.Counter(label(task, row) for row in rows)
    assert set(counts) == set(task.labels)  # every class occurs
    assert len(set(counts.values())) > 1  # near-balanced, never exactly uniform
    assert majority_rate([label(task, row) for row in rows]) < 0.6


@pytest.mark.parametrize("name", classification_tasks())
def test_no_sample_of_64_rows_or_more_has_a_dominant_class(tasks, name):
    for split in SPLITS:
        for seed in (0, 1, 7):
            labels = [label(tasks[name], row) for row in sample_rows(name, split, 300, seed=seed)]
            assert max(majority_rate(labels[:n]) for n in range(64, 301)) < 0.6


def test_label_of_finds_one_cue_or_nothing():
    assert label_of("fpb", "Alderbank Holdings issued a profit warning.") == "negative"
    assert label_of("headline", "GOLD RISES in early trade") == "Yes"
    assert (
        label_of("headline", "Gold is traded against the dollar") is None
    )  # "gains" is a word, not a substring
    assert label_of("headline", "Gold rises, silver falls") is None  # cues of two labels
    for name in ("convfinqa", "finqa", "open_orca", "orca_math"):
        assert (
            label_of(name, sample_rows(name, "train", 1)[0][load_config([]).task[name].columns.input]) is None
        )


@pytest.mark.parametrize("name", classification_tasks())
def test_a_word_count_model_learns_the_rule_and_generalises_to_eval(tasks, name):
    # naive Bayes on words and word pairs: a floor for what a tiny language model can learn
    task = tasks[name]
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for row in sample_rows(name, "train", 400):
        counts[label(task, row)].update(_words(row[task.columns.input]))
    vocab = set().union(*counts.values())

    def predict(text: str) -> str:
        def score(y: str) -> float:
            total = sum(counts[y].values()) + len(vocab)
            return sum(math.log((counts[y][w] + 1) / total) for w in _words(text) if w in vocab)

        return max(counts, key=score)

    rows = sample_rows(name, "eval", 200)
    accuracy = sum(predict(row[task.columns.input]) == label(task, row) for row in rows) / len(rows)
    assert accuracy > majority_rate([label(task, row) for row in rows]) + 0.3


def _words(text: str) -> list[str]:
    words = re.findall(r"\w+", text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@pytest.mark.parametrize("name", SAMPLE_TASKS)
def test_rows_are_deterministic_and_extend_as_prefixes(name):
    rows = sample_rows(name, "train", 40, seed=5)
    assert rows == sample_rows(name, "train", 40, seed=5)
    assert sample_rows(name, "train", 25, seed=5) == rows[:25]
    assert sample_rows(name, "train", 40, seed=6) != rows
    assert sample_rows(name, "train", 0) == []


def test_rows_are_the_same_in_other_processes():
    script = (
        "import json; from mixft.runner.data.samples import SAMPLE_TASKS, sample_rows; "
        "print(json.dumps({t: [sample_rows(t, s, 15, seed=3) for s in ('train', 'eval')] for t in SAMPLE_TASKS}))"
    )
    here = json.loads(json.dumps({t: [sample_rows(t, s, 15, seed=3) for s in SPLITS] for t in SAMPLE_TASKS}))
    for hash_seed in ("1", "987"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(done.stdout) == here


@pytest.mark.parametrize("name", SAMPLE_TASKS)
def test_train_and_eval_share_no_input(tasks, name):
    column = tasks[name].columns.input
    train = {row[column] for row in sample_rows(name, "train", 400)}
    evaluation = {row[column] for row in sample_rows(name, "eval", 400)}
    assert not train & evaluation
    assert len(train) > 300  # varied filler, not a handful of repeated rows


def test_finqa_answers_are_computed_from_the_table():
    for row in sample_rows("finqa", "train", 100) + sample_rows("finqa", "eval", 100):
        table = {
            m: (int(a), int(b)) for m, a, b in re.findall(r"^(.+) \| (\d+) \| (\d+)$", row["text"], re.M)
        }
        ask = re.search(
            r"Question: what was the (percentage change in|change in|total) (.+?) (?:from|in) \d{4}",
            row["text"],
        )
        assert ask, row["text"]
        a, b = table[ask[2]]
        expected = {
            "percentage change in": f"{(b - a) / a * 100:.1f}",
            "change in": str(b - a),
            "total": str(a + b),
        }
        assert row["answer"] == expected[ask[1]]


def test_convfinqa_answers_are_the_change_of_the_asked_row():
    for row in sample_rows("convfinqa", "train", 100):
        text = row["input"]
        table = {m: (int(a), int(b)) for m, a, b in re.findall(r"^(.+) \| (\d+) \| (\d+)$", text, re.M)}
        metric = re.search(r"Question: what was the (?:change in )?(.+?) (?:from|in) \d{4}", text)[1]
        a, b = table[metric]
        assert row["output"] in {str(b - a), f"{(b - a) / a * 100:.1f}"}
        assert text.endswith("Answer:")


def test_orca_math_answers_work_out_numbers_from_the_question():
    for row in sample_rows("orca_math", "train", 100) + sample_rows("orca_math", "eval", 50):
        *_, working, final = row["answer"].splitlines()
        expression, result = working.rsplit(" = ", 1)
        assert final == f"Final answer: {result}" and row["answer"].endswith(result)
        assert _arithmetic(expression) == int(result)
        assert set(re.findall(r"\d+", expression)) - {"100"} <= set(re.findall(r"\d+", row["question"]))


def _arithmetic(expression: str) -> float:
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}

    def value(node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            return node.value
        assert isinstance(node, ast.BinOp)
        return ops[type(node.op)](value(node.left), value(node.right))

    return value(ast.parse(expression, mode="eval").body)


@pytest.mark.parametrize(
    "call,fragment",
    [
        (lambda: sample_rows("fpbb", "train", 3), "fin_ner_cls"),
        (lambda: sample_rows("fpbb", "train", 3), "did you mean 'fpb'"),
        (lambda: label_of("nope", "text"), "twitter_topics"),
        (lambda: sample_rows("fpb", "test", 3), "train, eval"),
        (lambda: sample_rows("fpb", "train", -1), "-1"),
    ],
)
def test_bad_arguments_are_value_errors(call, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call()
