"""`mixft data`: ls, show, stats and validate, with one-line errors and exit code 2."""

from __future__ import annotations

import json

import pytest

from tests.unit.helpers import assert_usage_error, invoke


def test_data_ls_lists_every_task():
    out = invoke("data", "ls").stdout
    for task in ("headline", "fpb", "twitter_topics", "open_orca", "fiqa_sa"):
        assert task in out
    assert "held out" in out and "pool" in out


def test_data_show_applies_the_chat_template():
    result = invoke("data", "show", "twitter_sa", "-n", "2", "--samples")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("<|user|>") == 2 and result.stdout.count("<|assistant|>") == 2
    assert "tokens)" in result.stdout
    evaluation = invoke("data", "show", "fiqa_sa", "-n", "1", "--samples", "--split", "eval")
    assert evaluation.exit_code == 0 and evaluation.stdout.rstrip().endswith("<|assistant|>")


def test_data_stats_of_a_sweep_reports_every_mix():
    result = invoke("data", "stats", "smoke", "--format", "json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert len(runs) == 5
    mix = next(r for r in runs if r["regularizer"] == "general")
    assert set(mix["manifest"]["sources"]) == {"fpb", "headline", "twitter_sa", "open_orca"}
    shares = [s["share_realised"] for s in mix["manifest"]["sources"].values()]
    assert abs(sum(shares) - 1) < 1e-6
    table = invoke("data", "stats", "finance", "--samples")
    assert table.exit_code == 0 and "twitter_topics" in table.stdout and "realised" in table.stdout


def test_data_validate_accepts_a_good_file(tmp_path):
    path = tmp_path / "fpb.jsonl"
    path.write_text('{"sentence": "Profit rose.", "label": 2}\n{"sentence": "Sales fell.", "label": 0}\n')
    result = invoke("data", "validate", str(path), "--task", "fpb")
    assert result.exit_code == 0 and "ok: 2 rows" in result.stdout and "positive: 1" in result.stdout


@pytest.mark.parametrize(
    "content,fragments",
    [
        ('{"sentence": "a", "label": 9}\n', ["row 1", "field 'label'", "'9'"]),
        ('{"text": "a", "label": 1}\n', ["missing column 'sentence'"]),
        ('{"sentence": "a", "label": 1}\nnot json\n', [":2: malformed JSON"]),
    ],
)
def test_data_validate_rejects_bad_files(tmp_path, content, fragments):
    path = tmp_path / "fpb.jsonl"
    path.write_text(content)
    assert_usage_error(invoke("data", "validate", str(path), "--task", "fpb"), *fragments)


def test_data_errors():
    assert_usage_error(invoke("data", "show", "fbp", "--samples"), "did you mean 'fpb'")
    assert_usage_error(invoke("data", "validate", "x.jsonl", "--task", "fpbb"), "did you mean 'fpb'")
    assert_usage_error(invoke("data", "stats", "nothing"), "unknown sweep")
    assert_usage_error(invoke("data", "stats", "smoke", "mixture.max_repeat=0"), "max_repeat")
