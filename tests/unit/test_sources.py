"""Loading local files (jsonl, csv, parquet) and turning rows into prompts, with one-line errors."""

from __future__ import annotations

import json

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.data.format import to_examples
from mixft.runner.data.sources import load_split, read_local
from mixft.runner.errors import ConfigError

FPB_ROWS = [
    {"sentence": "Shares of Acme rose 5% after strong results.", "label": 2},
    {"sentence": "Acme cut its outlook.", "label": 0},
    {"sentence": "Acme holds its annual meeting in May.", "label": 1},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def fpb_from(path_template: str):
    cfg = load_config([f"task.fpb.source.path='{path_template}'", "mixture.tasks=[fpb]"])
    return cfg.task["fpb"], cfg.data


def test_jsonl_csv_and_parquet_read_the_same_rows(tmp_path):
    import pandas as pd

    write_jsonl(tmp_path / "a.jsonl", FPB_ROWS)
    pd.DataFrame(FPB_ROWS).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame(FPB_ROWS).to_parquet(tmp_path / "a.parquet")
    for suffix in ("jsonl", "csv", "parquet"):
        rows = read_local(tmp_path / f"a.{suffix}")
        assert [dict(r) for r in rows] == FPB_ROWS


def test_split_placeholder_and_formatting(tmp_path):
    write_jsonl(tmp_path / "fpb_train.jsonl", FPB_ROWS)
    write_jsonl(tmp_path / "fpb_test.jsonl", FPB_ROWS[:1])
    task, data = fpb_from(str(tmp_path / "fpb_{split}.jsonl"))
    train, test = load_split(task, "train", data), load_split(task, "eval", data)
    assert len(train.rows) == 3 and len(test.rows) == 1
    examples = to_examples(task, train.rows, train.origin)
    assert [e["answer"] for e in examples] == ["positive", "negative", "neutral"]
    user = examples[0]["prompt"][0]
    assert user["role"] == "user" and user["content"].startswith(task.prompt)
    assert user["content"].endswith("Shares of Acme rose 5% after strong results.")
    assert examples[0]["completion"] == [{"role": "assistant", "content": "positive"}]
    assert train.fingerprint != test.fingerprint


def test_a_path_without_placeholder_needs_one_split(tmp_path):
    write_jsonl(tmp_path / "fpb.jsonl", FPB_ROWS)
    task, data = fpb_from(str(tmp_path / "fpb.jsonl"))
    with pytest.raises(ConfigError, match="placeholder"):
        load_split(task, "train", data)


def test_finqa_keeps_the_text_after_the_context_marker():
    cfg = load_config([])
    row = {
        "id": "1",
        "query": "Answer the question. Context: Revenue was 5. What is revenue?",
        "answer": "5",
        "text": "",
    }
    (example,) = to_examples(cfg.task["finqa"], _dataset([row]), "finqa.jsonl")
    assert example["prompt"][0]["content"].endswith("Revenue was 5. What is revenue?")
    assert "Answer the question." not in example["prompt"][0]["content"]


def _dataset(rows):
    from datasets import Dataset

    return Dataset.from_list(rows)


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b'{"sentence": "ok", "label": 1}\n{"sentence": "broken", \n', r"x\.jsonl:2: malformed JSON"),
        (b'{"sentence": "ok", "label": 1}\n[1, 2]\n', r"x\.jsonl:2: each line must be a JSON object"),
        (b'{"sentence": "caf\xe9", "label": 1}\n', r"x\.jsonl:1: not UTF-8"),
        (b'{"text": "no sentence column", "label": 1}\n', r"missing column 'sentence'.*has: text, label"),
        (
            b'{"sentence": "ok", "label": 1}\n{"sentence": "odd", "label": 7}\n',
            r"row 2: field 'label': label '7'",
        ),
        (b'{"sentence": "", "label": 1}\n', r"row 1: field 'sentence' is empty"),
        (b"\n", r"no rows"),
    ],
)
def test_bad_files_name_file_row_and_field(tmp_path, content, fragment):
    (tmp_path / "x.jsonl").write_bytes(content)
    task, data = fpb_from(str(tmp_path / "x.jsonl"))
    task.source.eval_split = None  # one file, the train split only
    with pytest.raises(ConfigError, match=fragment) as err:
        raw = load_split(task, "train", data)
        to_examples(task, raw.rows, raw.origin)
    assert "\n" not in str(err.value)


def test_unsupported_and_missing_files(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ConfigError, match="unsupported file type"):
        read_local(tmp_path / "x.txt")
    with pytest.raises(ConfigError, match="not found"):
        read_local(tmp_path / "missing.jsonl")


def test_the_hub_path_fails_offline_with_a_hint(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    cfg = load_config(["mixture.tasks=[fpb]"])
    with pytest.raises(ConfigError, match="data.samples=true"):
        load_split(cfg.task["fpb"], "train", cfg.data)
