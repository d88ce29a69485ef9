"""Which generation engine a run uses (eval.engine), and what it records.

run: .venv/bin/python -m pytest tests/unit/test_engines.py -q
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate import engines
from mixft.runner.store import rundir


def engine_of(*overrides: str) -> str:
    return engines.resolve_engine(load_config(["data.samples=true", *overrides]))


@pytest.mark.parametrize("usable", [False, True])
def test_auto_takes_vllm_only_where_it_can_run(usable, monkeypatch):
    monkeypatch.setattr(engines, "vllm_usable", lambda: usable)
    assert engine_of() == ("vllm" if usable else "hf")
    assert engine_of("eval.engine=hf") == "hf"
    # a QLoRA adapter scored on vLLM's unquantized base would be another model
    assert engine_of("training=lora", "training.method=qlora") == "hf"


def test_vllm_where_it_cannot_run_is_one_line(monkeypatch):
    monkeypatch.setattr(engines, "vllm_usable", lambda: False)
    with pytest.raises(ConfigError, match=r"eval.engine=vllm needs vLLM and a CUDA GPU here") as exc:
        engine_of("eval.engine=vllm")
    assert "\n" not in str(exc.value)


def test_an_unknown_engine_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown value for eval.engine 'vlm' \(did you mean 'vllm'\?\)"):
        load_config(["data.samples=true", "eval.engine=vlm"])


def test_the_record_names_the_engine_and_its_library(tmp_path):
    assert rundir.read_engine(tmp_path) == "hf"  # evaluations from before engines were recorded
    rundir.write_engine(tmp_path, engines.engine_record("hf"))
    assert rundir.read_engine(tmp_path) == "hf"
    assert engines.engine_record("hf") == {"engine": "hf", "version": version("transformers")}
