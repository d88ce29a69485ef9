"""Cost estimates of `mixft plan`: the FLOPs arithmetic, measured figures from the store, the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mixft.cli.render import COST_KEYS, ROW_KEYS
from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.errors import ConfigError
from mixft.runner.plan.cost import run_cost
from mixft.runner.plan.hardware import GPU_PEAK_TFLOPS, eval_flops, hardware, train_flops
from mixft.runner.plan.ids import ids_of
from mixft.runner.store.measured import StoreStats
from tests.unit.helpers import assert_usage_error, invoke, plan_json

PHI3_MINI = 3_821_079_552  # conf/model/phi3_mini.yaml num_parameters


def config(*overrides: str):
    return resolve(load_config(["model=phi3_mini", "eval.max_examples=10", *overrides]))


def test_flops_formulas():
    assert train_flops(7_000_000_000, 1e6, "full") == 6 * 7e9 * 1e6
    assert train_flops(7_000_000_000, 1e6, "lora") == 4 * 7e9 * 1e6
    assert train_flops(7_000_000_000, 1e6, "qlora") == 4 * 7e9 * 1e6
    assert eval_flops(7_000_000_000, 1e6) == 2 * 7e9 * 1e6


def test_gpu_hours_are_flops_over_peak_times_mfu():
    hw = hardware("h100", 0.5)
    assert (hw.gpu, hw.peak_tflops, hw.mfu) == ("H100", GPU_PEAK_TFLOPS["H100"], 0.5)
    assert hw.gpu_hours(GPU_PEAK_TFLOPS["H100"] * 1e12 * 0.5 * 3600) == pytest.approx(1.0)
    assert hardware("mine", 0.3, peak_tflops=100).gpu_hours(1e17) == pytest.approx(
        1e17 / (100e12 * 0.3) / 3600
    )


def test_a_full_fine_tuning_run_costs_6nd_plus_generation():
    cfg = config("training=full_paper", "mixture.tasks=[fpb]")
    hw = hardware("A100", 0.4)
    cost = run_cost(cfg, ids_of(cfg).run, StoreStats(), hw)
    # cap x typical tokens per row x 3 epochs (<= 3 sources)
    tokens = 5_000 * cfg.task["fpb"].typical.tokens_per_row * 3
    assert (cost.tokens, cost.epochs, cost.tokens_source) == (tokens, 3.0, "estimate")
    assert cost.train_flops == pytest.approx(6 * PHI3_MINI * tokens)
    # scored on fpb and fiqa_sa, 10 examples each: prompt + max_new_tokens, 2N per token
    per_task = {
        t: cfg.task[t].typical.tokens_per_row + cfg.task[t].max_new_tokens for t in ("fpb", "fiqa_sa")
    }
    assert cost.eval_flops == pytest.approx(2 * PHI3_MINI * 10 * sum(per_task.values()))
    total = cost.train_flops + cost.eval_flops
    assert cost.gpu_hours == pytest.approx(total / (312e12 * 0.4) / 3600)


def test_lora_costs_two_thirds_of_full_fine_tuning_per_token():
    full = config("training=full_paper", "mixture.tasks=[fpb,headline]")
    lora = config("training=lora", "mixture.tasks=[fpb,headline]")
    hw = hardware()
    a, b = run_cost(full, "a", StoreStats(), hw), run_cost(lora, "b", StoreStats(), hw)
    assert (a.epochs, b.epochs) == (3.0, 4.0)  # the study's rule vs training=lora's 4 epochs
    assert a.train_flops / a.tokens == pytest.approx(6 * PHI3_MINI)
    assert b.train_flops / b.tokens == pytest.approx(4 * PHI3_MINI)


def test_regularisers_are_sized_from_the_pool():
    cfg = config("training=full_paper", "mixture.tasks=[fpb]", "regularizer=general_math")
    cost = run_cost(cfg, "x", StoreStats(), hardware())
    # pool = fpb's 5,000 rows; open_orca 1.0x, orca_math 0.5x; 3 sources -> 3 epochs
    rows = {"fpb": 5_000, "open_orca": 5_000, "orca_math": 2_500}
    assert cost.tokens == sum(n * cfg.task[t].typical.tokens_per_row for t, n in rows.items()) * 3


def test_a_base_run_only_evaluates():
    cfg = config("training=full_paper", "mixture.tasks=[]", "eval.tasks=[fpb]")
    cost = run_cost(cfg, "x", StoreStats(), hardware())
    assert cost.tokens == 0 and cost.train_flops == 0 and cost.eval_flops > 0


def manifest(tokens: dict[str, tuple[int, int]], max_length: int = 4096, origin: str = "hub:x") -> dict:
    """A manifest with (rows, tokens) per source, shaped as runner/data/build.py writes it."""
    sources = {
        name: {"origin": origin, "realised_rows": rows, "available_rows": rows, "tokens": n}
        for name, (rows, n) in tokens.items()
    }
    return {
        "max_length": max_length,
        "total_rows": sum(rows for rows, _ in tokens.values()),
        "total_tokens": sum(n for _, n in tokens.values()),
        "sources": sources,
    }


def write_run(store: Path, training: str, model: str, data: dict) -> None:
    """A training's folder as the store holds it: runs/<training id>/ with its manifest and run.json."""
    assert "-" not in training, "manifests live in a training's folder, not in an evaluation's"
    folder = store / "runs" / training
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(data))
    (folder / "run.json").write_text(json.dumps({"id": training, "model": model}))


def test_a_runs_own_manifest_gives_its_exact_tokens(tmp_path):
    cfg = config("training=full_paper", "mixture.tasks=[fpb]")
    ids = ids_of(cfg)
    write_run(tmp_path, ids.training, "phi3_mini", manifest({"fpb": (4_000, 123_456)}))
    cost = run_cost(cfg, ids.run, StoreStats.load(tmp_path / "runs"), hardware())
    assert (cost.tokens, cost.tokens_source) == (123_456 * 3, "cache")
    # another evaluation of the same training reads the same manifest
    other = config("training=full_paper", "mixture.tasks=[fpb]", "eval.max_examples=20")
    assert ids_of(other).training == ids.training and ids_of(other).run != ids.run
    cost = run_cost(other, ids_of(other).run, StoreStats.load(tmp_path / "runs"), hardware())
    assert (cost.tokens, cost.tokens_source) == (123_456 * 3, "cache")


def test_other_manifests_give_tokens_per_row_and_split_sizes(tmp_path):
    write_run(tmp_path, "aaaaaaaaaaaa", "phi3_mini", manifest({"fpb": (4_000, 200_000)}))
    stats = StoreStats.load(tmp_path / "runs")
    cost = run_cost(config("training=full_paper", "mixture.tasks=[fpb]"), "other", stats, hardware())
    # 4,000 rows measured (below the 5,000 cap), 50 tokens each, 3 epochs
    assert (cost.tokens, cost.tokens_source) == (4_000 * 50 * 3, "cache")
    mixed = run_cost(config("training=full_paper", "mixture.tasks=[fpb,headline]"), "m", stats, hardware())
    assert mixed.tokens_source == "estimate"  # headline was never measured
    llama = run_cost(
        config("training=full_paper", "mixture.tasks=[fpb]", "model=llama31_8b"), "l", stats, hardware()
    )
    assert llama.tokens_source == "estimate"  # measured with another model's tokenizer


def test_another_runs_manifest_of_every_source_counts_as_cache(tmp_path):
    cfg = config("training=full_paper", "mixture.tasks=[fpb,headline]")
    assert run_cost(cfg, "x", StoreStats.load(tmp_path / "runs"), hardware()).tokens_source == "estimate"
    write_run(
        tmp_path, "d" * 12, "phi3_mini", manifest({"fpb": (5_000, 300_000), "headline": (10_000, 500_000)})
    )
    cost = run_cost(cfg, "x", StoreStats.load(tmp_path / "runs"), hardware())
    assert (cost.tokens, cost.tokens_source) == ((300_000 + 500_000) * 3, "cache")


def test_regulariser_rows_count_as_measured_only_with_the_pools_sizes(tmp_path):
    cfg = config(
        "training=full_paper", "mixture.tasks=[fpb]", "regularizer=general", "mixture.pool=[fpb,headline]"
    )
    write_run(
        tmp_path, "e" * 12, "phi3_mini", manifest({"fpb": (4_000, 200_000), "open_orca": (14_000, 7_000_000)})
    )
    cost = run_cost(cfg, "x", StoreStats.load(tmp_path / "runs"), hardware())
    assert cost.tokens_source == "estimate"  # headline's split size (part of the pool) is unknown
    # pool = 4,000 fpb rows + headline's cap of 10,000; open_orca 1.0x = 14,000 rows of 500 tokens
    assert cost.tokens == (4_000 * 50 + 14_000 * 500) * 3
    write_run(tmp_path, "f" * 12, "phi3_mini", manifest({"headline": (10_000, 800_000)}))
    assert run_cost(cfg, "x", StoreStats.load(tmp_path / "runs"), hardware()).tokens_source == "cache"


def test_torn_or_foreign_files_in_the_store_are_skipped(tmp_path):
    folder = tmp_path / "runs" / "bbbbbbbbbbbb"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json")
    (folder / "run.json").write_text(json.dumps({"model": "phi3_mini"}))
    write_run(tmp_path, "cccccccccccc", "phi3_mini", {"version": 0})
    stats = StoreStats.load(tmp_path / "runs")
    assert not stats.runs and not stats.sources


def plan_file(tmp_path: Path) -> str:
    path = tmp_path / "costed.yaml"
    path.write_text(
        "name: costed\nbase: [model=phi3_mini, training=full_paper, eval.max_examples=10]\n"
        "mixtures: {sets: [[fpb, headline]]}\nseeds: [1]\n"
    )
    return str(path)


def test_plan_json_carries_the_figures_and_keeps_its_keys(tmp_path):
    rows = plan_json(plan_file(tmp_path))
    assert len(rows) == 4
    for row in rows:
        at = ROW_KEYS.index("run_dir")  # overrides, not a CSV column, comes just before it
        assert list(row)[: len(ROW_KEYS) + 1] == [*ROW_KEYS[:at], "overrides", *ROW_KEYS[at:]]
        assert set(COST_KEYS) <= set(row)
        assert row["tokens_source"] == "estimate" and row["gpu"] == "H100" and row["mfu"] == 0.4
        assert row["gpu_hours"] > 0 and row["eval_flops"] > 0
        assert (row["tokens"] > 0) == (row["role"] != "base") == (row["train_flops"] > 0)
        # an empty store: each training is new work; the base model is only scored, and keeps nothing
        assert row["work"] == ("eval" if row["role"] == "base" else "train")
        assert (row["disk_gb"] > 0) == (row["role"] != "base")


def test_a_written_manifest_flips_a_run_to_cache(tmp_path):
    path = plan_file(tmp_path)
    fpb = next(row for row in plan_json(path) if row["tasks"] == ["fpb"])
    write_run(tmp_path / "store", fpb["training"], "phi3_mini", manifest({"fpb": (4_321, 99_999)}))
    rows = {row["id"]: row for row in plan_json(path)}
    assert rows[fpb["id"]]["tokens_source"] == "cache" and rows[fpb["id"]]["tokens"] == 99_999 * 3
    # the mixture reuses fpb's measured tokens per row, but headline is still estimated
    assert all(row["tokens_source"] == "estimate" for rid, row in rows.items() if rid != fpb["id"])


def test_plan_table_and_csv_show_the_totals(tmp_path):
    table = invoke("plan", plan_file(tmp_path), "--gpu", "a100", "--mfu", "0.35")
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "GPU-hours on A100 (312 TFLOP/s dense bf16 peak) at 35% MFU" in text
    assert "training tokens measured (cache) for 0 of 3 trained runs" in text
    assert "PFLOPs training" in text or "EFLOPs training" in text
    rows = list(csv.DictReader(io.StringIO(invoke("plan", plan_file(tmp_path), "-f", "csv").stdout)))
    assert len(rows) == 4 and list(rows[0]) == [*ROW_KEYS, *COST_KEYS]


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--gpu", "H10"], ["unknown GPU 'H10'", "did you mean 'H100'", "A10G", "--peak-tflops"]),
        (["--gpu", "TPU"], ["unknown GPU 'TPU'"]),
        (["--mfu", "0"], ["--mfu"]),
        (["--mfu", "1.5"], ["--mfu"]),
        (["--gpu", "mine", "--peak-tflops", "-1"], ["--peak-tflops"]),
    ],
)
def test_bad_hardware_is_one_line_with_exit_code_2(args, fragments):
    assert_usage_error(invoke("plan", "smoke", *args), *fragments)


def test_unknown_gpu_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'RTX4090'"):
        hardware("rtx 4090")
    assert hardware(" a10g ").gpu == "A10G"
