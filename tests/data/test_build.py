"""Training sets from the sample suite: formatting, determinism, manifests, the token cache."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.data import cache as cache_module
from mixft.runner.data.build import build_training_set
from mixft.runner.data.format import to_examples
from mixft.runner.data.samples import SAMPLE_TASKS
from mixft.runner.data.sources import load_split
from mixft.runner.data.tokenizer import load_tokenizer
from mixft.runner.paths import token_cache_root

MIX = ["data.samples=true", "mixture.tasks=[fpb,headline]", "regularizer=math", "seed=3"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    import os

    old = os.environ.get("MIXFT_HOME")
    os.environ["MIXFT_HOME"] = str(tmp_path_factory.mktemp("models"))
    try:
        yield load_tokenizer(load_config([]).model)
    finally:
        if old is None:
            os.environ.pop("MIXFT_HOME", None)
        else:
            os.environ["MIXFT_HOME"] = old


def digest(rows) -> str:
    return hashlib.sha256(
        json.dumps([[list(x) for x in rows["input_ids"]], list(rows["source"])]).encode()
    ).hexdigest()


@pytest.mark.parametrize("task", SAMPLE_TASKS)
def test_every_task_formats_its_sample_rows(task, tokenizer):
    cfg = load_config(["data.samples=true"])
    spec = cfg.task[task]
    split = "train" if spec.trainable else "eval"
    raw = load_split(spec, split, cfg.data)
    examples = to_examples(spec, raw.rows.select(range(20)), raw.origin)
    for example in examples:
        user = example["prompt"][0]["content"]
        assert example["completion"][0]["content"] == example["answer"] and user.strip()
        if spec.labels:
            assert example["answer"] in spec.labels
        if spec.columns.instruction is None:
            assert user.startswith(spec.prompt)
        text = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
        assert text.rstrip().endswith(example["answer"] + "<|end|>")


def test_loss_covers_the_answer_only(tokenizer):
    cfg = resolve(load_config(["data.samples=true", "mixture.tasks=[fpb]"]))
    rows = build_training_set(cfg, tokenizer).rows
    for input_ids, labels in zip(rows["input_ids"][:20], rows["labels"][:20], strict=True):
        answer = [t for t, label in zip(input_ids, labels, strict=True) if label != -100]
        text = tokenizer.decode(answer)
        assert text.split("<|end|>")[0] in {"negative", "neutral", "positive"}
        assert labels[0] == -100 and len(labels) == len(input_ids)


def test_the_manifest_matches_the_rows(tokenizer):
    built = build_training_set(resolve(load_config(MIX)), tokenizer)
    manifest, rows = built.manifest, built.rows
    counts = Counter(rows["source"])
    assert set(manifest["sources"]) == {"fpb", "headline", "orca_math"} == set(counts)
    for name, src in manifest["sources"].items():
        assert src["realised_rows"] == counts[name]
        picked = [n for n, s in zip(rows["n_tokens"], rows["source"], strict=True) if s == name]
        assert src["tokens"] == sum(picked)
        assert src["fingerprint"] and src["origin"].startswith("samples:")
    assert manifest["total_rows"] == len(rows) and manifest["seed"] == 3
    assert manifest["sources"]["orca_math"]["requested_rows"] == 256  # 0.5 x (256 + 256)


def test_the_mix_is_the_same_in_another_process(tokenizer, tmp_path):
    here = digest(build_training_set(resolve(load_config(MIX)), tokenizer).rows)
    code = (
        "import hashlib, json\nfrom mixft.runner.config.load import load_config\nfrom mixft.runner.config.run import resolve\n"
        "from mixft.runner.data.tokenizer import load_tokenizer\nfrom mixft.runner.data.build import build_training_set\n"
        f"cfg = resolve(load_config({MIX!r}))\nrows = build_training_set(cfg, load_tokenizer(cfg.model)).rows\n"
        "ids = [[list(x) for x in rows['input_ids']], list(rows['source'])]\n"
        "print(hashlib.sha256(json.dumps(ids).encode()).hexdigest())\n"
    )
    env = {**__import__("os").environ, "MIXFT_HOME": str(tmp_path / "other"), "PYTHONHASHSEED": "7"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == here


def test_the_seed_changes_the_mix(tokenizer):
    a = build_training_set(resolve(load_config(MIX)), tokenizer).rows
    b = build_training_set(resolve(load_config([*MIX, "seed=4"])), tokenizer).rows
    assert digest(a) != digest(b)


def test_a_second_run_tokenises_nothing(tokenizer, monkeypatch):
    first = build_training_set(resolve(load_config([*MIX, "seed=11"])), tokenizer)

    def refuse(*args, **kwargs):
        raise AssertionError("tokenised again")

    monkeypatch.setattr(cache_module, "tokenize_examples", refuse)
    # another run sharing the sources (different regulariser, same seed): every source from the cache
    second = build_training_set(
        resolve(load_config(["data.samples=true", "mixture.tasks=[fpb,headline]", "seed=11"])), tokenizer
    )
    assert second.cache_hits == 2 and first.cache_hits == 0
    assert second.manifest["sources"]["fpb"] == first.manifest["sources"]["fpb"] | {
        "share_realised": second.manifest["sources"]["fpb"]["share_realised"]
    }


def test_a_crash_while_writing_leaves_no_entry(tokenizer, monkeypatch):
    from datasets import Dataset

    cfg = resolve(load_config(["data.samples=true", "mixture.tasks=[twitter_sa]", "seed=21"]))
    real_save = Dataset.save_to_disk

    def crash(self, path, *args, **kwargs):
        real_save(self, path, *args, **kwargs)
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(Dataset, "save_to_disk", crash)
    with pytest.raises(KeyboardInterrupt):
        build_training_set(cfg, tokenizer)
    monkeypatch.undo()
    entries = list(token_cache_root().glob("twitter_sa-*"))
    assert all(not p.name.startswith(".") for p in entries) and not entries
    rebuilt = build_training_set(cfg, tokenizer)
    assert rebuilt.cache_hits == 0 and len(rebuilt.rows) == 256


def test_cache_keys_are_stable_across_processes(tokenizer):
    cfg = load_config(["data.samples=true"])
    raw = load_split(cfg.task["fpb"], "train", cfg.data)
    key = cache_module.cache_key(raw, cfg.task["fpb"], tokenizer, 256, 0, 100)
    code = (
        "from mixft.runner.config.load import load_config\nfrom mixft.runner.data.sources import load_split\n"
        "from mixft.runner.data.cache import cache_key\nfrom mixft.runner.data.tokenizer import load_tokenizer\n"
        "cfg = load_config(['data.samples=true'])\nraw = load_split(cfg.task['fpb'], 'train', cfg.data)\n"
        "print(cache_key(raw, cfg.task['fpb'], load_tokenizer(cfg.model), 256, 0, 100))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == key


def test_a_token_budget_sets_the_total_tokens(tokenizer):
    cfg = resolve(
        load_config(
            [
                "data.samples=true",
                "mixture.tasks=[fpb,headline]",
                "mixture.budget.unit=tokens",
                "mixture.budget.total=20000",
            ]
        )
    )
    manifest = build_training_set(cfg, tokenizer).manifest
    requested = {n: s["requested_tokens"] for n, s in manifest["sources"].items()}
    assert sum(requested.values()) == 20000
    for src in manifest["sources"].values():
        # rows are whole: the realised tokens reach the request within one row's tokens
        assert src["requested_tokens"] <= src["tokens"] < src["requested_tokens"] + 200
        assert src["realised_rows"] < src["available_rows"]


def test_upsampling_repeats_rows_within_max_repeat(tokenizer):
    cfg = resolve(
        load_config(
            [
                "data.samples=true",
                "mixture.tasks=[fpb,headline]",
                "+mixture.shares.fpb=0.75",
                "+mixture.shares.headline=0.25",
                "mixture.max_repeat=2",
            ]
        )
    )
    built = build_training_set(cfg, tokenizer)
    fpb = built.manifest["sources"]["fpb"]
    # 75% of the 512 task rows is 384: 1.5 passes over fpb's 256 sample rows
    assert fpb["requested_rows"] == 384 and fpb["realised_rows"] == 384 and fpb["repeats"] == 1.5
    assert Counter(built.rows["source"])["fpb"] == 384
