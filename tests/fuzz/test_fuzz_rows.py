"""Fuzzing data rows: local files, row formatting and answer parsing.

run: pytest tests/fuzz/test_fuzz_rows.py

Local jsonl/csv/parquet files with malformed lines, odd encodings, missing columns and wrong types
either load (and format) or fail with one ConfigError line that names the file; valid files with any
text load whole. Formatting any row of any task, and parsing any model output, never raises.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixft.runner.config.load import load_config
from mixft.runner.data.format import to_example, to_examples
from mixft.runner.data.sources import read_local
from mixft.runner.errors import ConfigError
from mixft.runner.scoring.metrics import normalize, numeric_match, parse_label, parse_number
from mixft.runner.scoring.scorers import score_example
from tests.fuzz.common import assert_one_line, cli, config_error_or, no_hang
from tests.fuzz.strategies import identifiers, one_in

CATALOGUE = load_config([]).task
FPB = CATALOGUE["fpb"]
# reading a file goes through `datasets` (~50 ms and a cache entry each): fewer examples
FILES = settings(max_examples=max(10, settings.default.max_examples // 3))


@pytest.fixture(scope="module", autouse=True)
def _datasets_cache(tmp_path_factory):
    """Keep the Arrow files `datasets` writes for every file read out of the user's cache."""
    import datasets.config

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.mktemp("hf_datasets"))
        yield


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rows")


# text with line separators, NUL, BOM, quotes, delimiters and anything else unicode has
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('\n\r\t\x00\x0c\x85\u2028\u2029\ufeff",;{}[]\\')), st.characters()
    ),
    max_size=30,
)
# what a JSON or parquet cell may hold
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        texts,
        st.sampled_from([0, 1, 2, "0", "1", "2", "positive", " ", ""]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(identifiers, inner, max_size=3)),
    max_leaves=6,
)
rows = st.lists(
    st.dictionaries(
        st.sampled_from(["sentence", "label", "text", "extra", "Label", ""]), json_values, max_size=4
    ),
    max_size=6,
)
# text that reads back as itself: some non-space character, and a letter so pandas keeps it a string
sentences = st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and any(c.isalpha() for c in t))


@st.composite
def jsonl_bytes(draw: st.DrawFn) -> bytes:
    """A jsonl file: JSON objects, junk lines and blank lines, in UTF-8 or not, with odd line ends."""
    lines = []
    for row in draw(rows):
        if one_in(draw, 6):
            lines.append(draw(st.one_of(texts, st.sampled_from(["[1, 2]", "42", "null", '"x"', "{", "NaN"]))))
        else:
            lines.append(json.dumps(row, ensure_ascii=draw(st.booleans())))
    text = draw(st.sampled_from(["\n", "\r\n", "\n\n"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """A csv file: a header of some columns, then rows of any cells, some short or long."""
    header = draw(st.lists(st.sampled_from(["sentence", "label", "text", "", "sentence"]), max_size=4))
    out = io.StringIO()
    writer = csv.writer(out)
    if header or draw(st.booleans()):
        writer.writerow(header)
    for _ in range(draw(st.integers(0, 5))):
        writer.writerow(draw(st.lists(st.one_of(texts, st.integers(-3, 3).map(str)), max_size=5)))
    text = out.getvalue()
    if one_in(draw, 5):  # a stray quote or delimiter
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', ",", "\x00", "\r"])) + text[at:]
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1"])), errors="replace")


def load_and_format(path: Path, data: bytes):
    path.write_bytes(data)
    return config_error_or(lambda: to_examples(FPB, read_local(path), str(path)))


def check_examples(examples) -> None:
    for example in examples:
        assert example["answer"] in FPB.labels
        assert example["prompt"][0]["content"].strip()


@FILES
@given(jsonl_bytes())
def test_any_jsonl_file_loads_or_fails_in_one_line(folder, data):
    examples = load_and_format(folder / "rows.jsonl", data)
    if not isinstance(examples, ConfigError):
        check_examples(examples)
    elif "cannot read as json" not in str(examples):  # our own checks name the line or row
        assert "rows.jsonl" in str(examples)


@FILES
@given(csv_bytes())
def test_any_csv_file_loads_or_fails_in_one_line(folder, data):
    examples = load_and_format(folder / "rows.csv", data)
    if not isinstance(examples, ConfigError):
        check_examples(examples)


@FILES
@given(st.lists(st.tuples(sentences, st.integers(0, 2)), min_size=1, max_size=6), st.booleans())
def test_valid_jsonl_with_any_text_loads_whole(folder, pairs, ascii_only):
    """Every valid file loads: U+2028, U+0085 and friends are text inside JSON strings, not line ends."""
    lines = [json.dumps({"sentence": s, "label": label}, ensure_ascii=ascii_only) for s, label in pairs]
    path = folder / "valid.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with no_hang():
        examples = to_examples(FPB, read_local(path), str(path))
    assert [e["answer"] for e in examples] == [FPB.label_map[str(label)] for _, label in pairs]
    for example, (sentence, _) in zip(examples, pairs, strict=True):
        assert example["prompt"][0]["content"].endswith(sentence.strip())


@FILES
@given(st.lists(st.tuples(sentences, st.integers(0, 2)), min_size=1, max_size=6), st.booleans())
def test_valid_csv_with_any_text_loads_whole(folder, pairs, bom):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sentence", "label"])
    writer.writerows(pairs)
    path = folder / "valid.csv"
    path.write_text(out.getvalue(), encoding="utf-8-sig" if bom else "utf-8")
    with no_hang():
        examples = to_examples(FPB, read_local(path), str(path))
    assert [e["answer"] for e in examples] == [FPB.label_map[str(label)] for _, label in pairs]


@FILES
@given(st.lists(st.tuples(sentences, st.one_of(st.integers(0, 2), st.none())), min_size=1, max_size=6))
def test_parquet_rows_load_or_name_the_empty_row(folder, pairs):
    import pandas as pd

    path = folder / "rows.parquet"
    pd.DataFrame(pairs, columns=["sentence", "label"]).to_parquet(path)
    examples = config_error_or(lambda: to_examples(FPB, read_local(path), str(path)))
    if any(label is None for _, label in pairs):
        # a null makes the column float (1.0 for 1); the first null row is named
        first = next(n for n, (_, label) in enumerate(pairs, start=1) if label is None)
        assert isinstance(examples, ConfigError) and f"row {first}: field 'label' is empty" in str(examples)
    else:
        assert [e["answer"] for e in examples] == [FPB.label_map[str(label)] for _, label in pairs]


@FILES
@given(st.binary(max_size=200), st.sampled_from(["rows.parquet", "rows.jsonl", "rows.csv", "rows.json"]))
def test_random_bytes_fail_in_one_line(folder, data, name):
    load_and_format(folder / name, data)


@FILES
@given(jsonl_bytes())
def test_mixft_data_validate_exits_0_or_2(folder, data):
    path = folder / "cli.jsonl"
    path.write_bytes(data)
    cli("data", "validate", str(path), "--task", "fpb")


@given(st.sampled_from(sorted(CATALOGUE)), st.data())
def test_any_row_of_any_task_formats_or_fails_in_one_line(name, data):
    task = CATALOGUE[name]
    columns = [c for c in (task.columns.instruction, task.columns.input, task.columns.output) if c]
    row = {column: data.draw(json_values, label=column) for column in columns}
    example = config_error_or(lambda: to_example(task, row, "row 1"))
    if isinstance(example, ConfigError):
        return
    answer = example["answer"]
    assert isinstance(answer, str) and answer.strip() and answer == answer.strip()
    assert example["prompt"][0]["content"].strip()
    if task.kind == "classification":
        assert answer in task.labels


# Parsing model outputs: any text, never an exception, never a hang.

LABEL_SETS = sorted({tuple(t.labels) for t in CATALOGUE.values() if t.labels})
long_texts = st.builds(lambda t, k: t * k, st.text(max_size=12), st.integers(1, 3000))
outputs = st.one_of(st.text(max_size=200), long_texts)


@given(outputs, st.sampled_from(LABEL_SETS))
def test_parse_label_reads_a_label_or_none(output, labels):
    with no_hang(5):
        got = parse_label(output, labels)
    assert got is None or got in labels


@given(st.sampled_from(LABEL_SETS), st.data())
def test_every_label_reads_as_itself(labels, data):
    label = data.draw(st.sampled_from(labels))
    decorated = data.draw(st.sampled_from(["{}", " {} ", "{}.", '"{}"', "{}\nbecause ...", "Answer: {}"]))
    assert parse_label(decorated.format(label), labels) == label


@given(outputs)
def test_parse_number_reads_a_number_or_none(text):
    with no_hang(5):
        got = parse_number(text)
    assert got is None or isinstance(got, float)
    normalize(text)


@given(st.integers(-(2**53), 2**53), st.sampled_from(["{}", "{:,}", "The answer is {}.", "$ {:,}"]))
def test_written_integers_read_back(n, template):
    assert parse_number(template.format(n)) == n


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: abs(x) < 1e300))
def test_written_floats_read_back(x):
    assert parse_number(repr(x)) == x or math.isclose(parse_number(repr(x)) or 0.0, x, rel_tol=1e-12)


@given(
    st.one_of(st.none(), st.floats()),
    st.floats(),
    st.floats(min_value=0, allow_nan=False),
)
def test_numeric_match_is_a_bool(pred, gold, tol):
    assert numeric_match(pred, gold, tol) in (True, False)


@given(outputs, st.sampled_from(sorted(CATALOGUE)), st.data())
def test_score_example_scores_any_output(output, name, data):
    task = CATALOGUE[name]
    if task.kind == "classification":
        gold = data.draw(st.sampled_from(task.labels))
        kind = "classification"
    else:
        gold = data.draw(
            st.one_of(st.integers(-(10**6), 10**6).map(str), st.sampled_from(["yes", "1,234.5", "12%"]))
        )
        kind = "numeric_qa"
    result = score_example(output, gold, kind, task.labels)
    assert result["correct"] in (True, False)


# Regressions: inputs the fuzzers found, and what they must do now.


@pytest.mark.parametrize(
    "name,content,outcome",
    [
        # a valid line holding U+2028 (JSON allows it raw) was cut in two by str.splitlines: rejected
        ("ls.jsonl", '{"sentence": "a\u2028b", "label": 1}\n'.encode(), "ok"),
        ("nel.jsonl", '{"sentence": "a\x85b", "label": 1}\n'.encode(), "ok"),
        # and junk after a NEL or form feed passed the check, then pyarrow failed without a line
        (
            "x85.jsonl",
            '{"sentence": "a", "label": 1}\x85{"sentence": "b"}\n'.encode(),
            "x85.jsonl:1: malformed JSON",
        ),
        ("ff.jsonl", b'{"sentence": "a", "label": 1}\x0c\n', "ff.jsonl:1: malformed JSON"),
        # a JSON NaN label became the answer "nan" (free text) or "label 'nan' is not in the label map"
        ("nan.jsonl", b'{"sentence": "a", "label": NaN}\n', "row 1: field 'label' is empty"),
        # a nested value became its repr as the prompt: "{'a': 1}"
        ("nested.jsonl", b'{"sentence": {"a": 1}, "label": 1}\n', "field 'sentence' holds a dict"),
        ("list.jsonl", b'{"sentence": "a", "label": [1]}\n', "field 'label' holds a list"),
        # a label 1.0 is the label 1
        ("float.jsonl", b'{"sentence": "a", "label": 1.0}\n', "ok"),
        # pyarrow's message was hidden behind "An error occurred while generating the dataset"
        ("dup.jsonl", b'{"sentence": "a", "sentence": "b", "label": 1}\n', "specified twice"),
        ("empty.jsonl", b"{}\n", "cannot read as json: no rows"),
        ("bom.jsonl", b'\xef\xbb\xbf{"sentence": "a", "label": 1}\n', "byte-order mark"),
        # an empty cell was NaN: the label column turned float, and row 1 ("1.0") was blamed
        ("short.csv", b"sentence,label\na,1\nb\n", "short.csv row 2: field 'label' is empty"),
        ("empty.csv", b"sentence,label\na,\n", "row 1: field 'label' is empty"),
        # "NA" is text in a CSV cell, not a missing value
        ("na.csv", b"sentence,label\nNA,1\n", "ok"),
        # a spreadsheet's byte-order mark joined the first column's name: missing column 'sentence'
        ("bom.csv", b"\xef\xbb\xbfsentence,label\na,1\n", "ok"),
        ("header.csv", b"sentence,label\n", "cannot read as csv: no rows"),
    ],
)
def test_files_that_were_misread(folder, name, content, outcome):
    path = folder / name
    path.write_bytes(content)
    if outcome == "ok":
        (example,) = to_examples(FPB, read_local(path), str(path))
        assert example["answer"] == "neutral"
        return
    with pytest.raises(ConfigError) as err:
        to_examples(FPB, read_local(path), str(path))
    assert outcome in str(err.value)
    assert_one_line(str(err.value))


@pytest.mark.parametrize("instruction", [None, math.nan, "", "  "])
def test_an_empty_instruction_leaves_the_input_alone(instruction):
    # headline reads its instruction from a column: None became the instruction "None"
    row = {"instruction": instruction, "input": "Gold rises", "output": "Yes"}
    example = to_example(CATALOGUE["headline"], row, "row 1")
    assert example["prompt"][0]["content"] == "Gold rises"


def test_a_nested_instruction_is_an_error():
    row = {"instruction": ["Answer"], "input": "Gold rises", "output": "Yes"}
    with pytest.raises(ConfigError, match="field 'instruction' holds a list"):
        to_example(CATALOGUE["headline"], row, "row 1")
