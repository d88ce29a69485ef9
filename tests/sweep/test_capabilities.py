"""What the machine can run, checked once where the runs execute: the local executor's pre-flight
refuses a setting its slots cannot run in one line, exit 2, before anything starts, asking the same
function each run asks (runner/execute/capabilities.py). A missing package or CUDA is simulated here by
setting the device the runs get, or by hiding the package, never in the product."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from mixft.runner.errors import ConfigError
from mixft.runner.execute import capabilities
from mixft.runner.execute.capabilities import Device, blocked, check_local, qlora_on
from mixft.runner.execute.options import planned
from tests.unit.helpers import assert_usage_error, invoke

CPU = Device(cuda=False, cpu_processes=1)
GPU = Device(cuda=True, cpu_processes=1)


@pytest.fixture
def on(monkeypatch):
    """Set the device the local executor's runs get (what its slots would say on such a host)."""

    def use(device: Device) -> None:
        monkeypatch.setattr(capabilities, "local_device", lambda settings: device)

    return use


def nothing_started() -> bool:
    return not (Path(os.environ["MIXFT_HOME"]) / "runs").exists()


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("training.precision=fp16", "training.precision=fp16 needs a CUDA GPU"),
        ("training.deepspeed=zero2_offload", "without CUDA runs over several CPU processes"),
    ],
)
def test_a_cpu_host_refuses_in_one_line_before_any_run_starts(on, override, fragment):
    on(CPU)
    result = invoke("sweep", "smoke", override)
    assert_usage_error(
        result, fragment, "5 of the sweep's runs ask for it on this host", "nothing was started"
    )
    assert nothing_started()


def test_the_gate_follows_the_device_the_runs_get(on):
    on(GPU)  # the same settings on a CUDA slot: nothing refused
    check_local(planned("smoke", ["training.precision=fp16"]).runs)
    on(CPU)
    with pytest.raises(ConfigError, match="training.precision=fp16 needs a CUDA GPU"):
        check_local(planned("smoke", ["training.precision=fp16"]).runs)


def test_deepspeed_over_two_cpu_processes_passes_and_without_its_package_is_refused(monkeypatch):
    # the slots of this host as the local executor makes them, with --procs-per-run 2 (CUDA or not)
    plan = planned("smoke", ["training.deepspeed=zero2_offload"], None, {"procs_per_run": 2})
    check_local(plan.runs)
    monkeypatch.setitem(sys.modules, "deepspeed", None)  # find_spec("deepspeed") now says: not installed
    with pytest.raises(ConfigError, match="training.deepspeed=zero2_offload needs the deepspeed package"):
        check_local(plan.runs)


def test_qlora_is_refused_where_bitsandbytes_cannot_quantise(on, monkeypatch):
    on(CPU)
    problem = "training.method=qlora: bitsandbytes cannot quantise on cpu (no kernel); use training.method=lora here"
    monkeypatch.setattr(capabilities, "qlora_on", lambda device: problem)
    result = invoke("sweep", "smoke", "training=lora", "training.method=qlora")
    assert_usage_error(
        result, "training.method=qlora: bitsandbytes cannot quantise on cpu", "nothing was started"
    )
    assert nothing_started()


def test_the_qlora_probe_asks_bitsandbytes_where_the_runs_execute(tmp_path):
    """The probe asks precision.qlora_problem in a process with the slot's environment: bitsandbytes
    quantises on this CPU (tests/accel trains QLoRA here), so nothing is refused; a slot whose
    bitsandbytes does not import is refused with the run's own line."""
    hidden = tmp_path / "bitsandbytes"
    hidden.mkdir()
    (hidden / "__init__.py").write_text("raise ImportError('bitsandbytes is not on this slot')\n")
    qlora_on.cache_clear()
    try:
        assert qlora_on(CPU) is None
        without = Device(cuda=False, cpu_processes=1, env=(("PYTHONPATH", str(tmp_path)),))
        assert qlora_on(without) == (
            "training.method=qlora: the bitsandbytes package is not installed (pip install bitsandbytes); "
            "use training.method=lora here"
        )
    finally:
        qlora_on.cache_clear()


def test_vllm_asked_for_without_vllm_is_refused_and_auto_is_not(on, monkeypatch):
    on(CPU)
    monkeypatch.setitem(sys.modules, "vllm", None)
    assert_usage_error(
        invoke("sweep", "smoke", "eval.engine=vllm"), "eval.engine=vllm needs vLLM", "nothing was started"
    )
    check_local(planned("smoke", ["eval.engine=auto"]).runs)  # auto falls back to hf: nothing to refuse


def test_a_run_that_only_evaluates_needs_no_training_setting(on):
    on(CPU)
    plan = planned("smoke", ["training.precision=fp16"])
    check_local([run for run in plan.runs if run.role == "base"])


def test_flash_attention_without_cuda_is_a_warning_not_a_refusal(on, caplog):
    on(CPU)
    with caplog.at_level(logging.WARNING, logger="mixft.runner.execute.capabilities"):
        check_local(planned("smoke", ["model=phi3_mini"]).runs)
    assert "flash_attention_2 needs CUDA and flash-attn here; its runs use sdpa" in caplog.text


def test_the_setting_a_failed_run_blames():
    plan = planned("smoke", ["training.precision=fp16"])
    trained = next(run for run in plan.runs if run.role != "base")
    base = next(run for run in plan.runs if run.role == "base")
    line = "mixft.runner.errors.ConfigError: training.precision=fp16 needs a CUDA GPU; on a CPU use ..."
    assert blocked(trained, line) == "training.precision=fp16"
    assert blocked(base, line) is None  # it trains nothing: fp16 is not what it needs
    assert blocked(trained, "RuntimeError: training.precision=fp16 somewhere") is None
    assert blocked(trained, "mixft.runner.errors.ConfigError: task 'fpb': no eval split") is None
