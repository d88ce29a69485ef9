"""One classifier of why a run ended (runner/store/faults.py): a test per class, on real tracebacks.

run: .venv/bin/python -m pytest tests/faults/test_causes.py -q
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from mixft.runner.store import faults
from mixft.runner.store.faults import classify, error_line, is_out_of_memory, log_tracebacks
from mixft.runner.store.status import failures, last_error_line

TRACEBACKS = Path(__file__).resolve().parents[1] / "data" / "tracebacks"
STORE = "/tmp/f/tmpfs"  # where the recorded tracebacks' store was


def text(name: str) -> str:
    return (TRACEBACKS / name).read_text()


@pytest.fixture(autouse=True)
def recorded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXFT_HOME", STORE)


# (fixture, kind, one-line cause)
CASES = [
    (
        "enospc_write_json.txt",
        faults.DISK,
        "No space left on device writing runs/3ba273c0503c/evals/f3698447/metrics.json",
    ),
    ("enospc_safetensors.txt", faults.DISK, "No space left on device"),
    ("enospc_torch_save.txt", faults.STORAGE, "a write to the store failed (unexpected pos 704 vs 598)"),
    ("edquot.txt", faults.DISK, "Disk quota exceeded writing runs/x"),
    ("eio.txt", faults.STORAGE, "Input/output error writing runs/x"),
    ("estale.txt", faults.STORAGE, "Stale file handle writing runs/x"),
    ("memory_error.txt", faults.MEMORY, "out of host memory (MemoryError)"),
    ("cpu_alloc.txt", faults.MEMORY, None),
    ("config_error.txt", faults.ERROR, None),
    ("library_error.txt", faults.ERROR, None),
    ("code_error.txt", faults.ERROR, "KeyError: 'eval/accuracy'"),
    ("cuda_runtime_oom.txt", faults.GPU_MEMORY, "RuntimeError: CUDA error: out of memory"),
    ("cuda_runtime_oom_rank0.txt", faults.GPU_MEMORY, "RuntimeError: CUDA error: out of memory"),
    ("torch_cuda_oom.txt", faults.GPU_MEMORY, None),
    ("vllm_no_cache_blocks.txt", faults.GPU_MEMORY, None),
    ("vllm_startup_memory.txt", faults.GPU_MEMORY, None),
    ("vllm_kv_cache_too_small.txt", faults.GPU_MEMORY, None),
]


@pytest.mark.parametrize(("name", "kind", "line"), CASES, ids=[c[0] for c in CASES])
def test_each_class_of_end_is_told_from_the_traceback(name, kind, line):
    cause = classify(text(name))
    assert cause.kind == kind, cause
    if line is not None:
        assert cause.line == line
    assert "\n" not in cause.line and cause.line
    # machine faults resume; errors of the run, and the GPU's memory, do not (packing decides)
    assert cause.resumable == (kind in (faults.DISK, faults.STORAGE, faults.MEMORY))
    assert is_out_of_memory(text(name)) == (kind == faults.GPU_MEMORY)


def test_the_error_line_is_the_exception_not_the_hints_after_it():
    # CUDA's runtime error runs on for three lines; the last of them says nothing of memory
    assert text("cuda_runtime_oom.txt").strip().endswith("to enable device-side assertions.")
    assert error_line(text("cuda_runtime_oom.txt")) == "RuntimeError: CUDA error: out of memory"
    assert last_error_line({"error": text("cuda_runtime_oom_rank0.txt")}) == (
        "RuntimeError: CUDA error: out of memory"
    )
    # a recorded cause wins over the error's line; a one-line error is its own line
    assert last_error_line({"error": text("eio.txt"), "cause": "Input/output error writing runs/x"}) == (
        "Input/output error writing runs/x"
    )
    assert error_line("timed out after 5 min") == "timed out after 5 min"
    assert error_line("") is None


def test_a_config_error_stays_a_failure_whatever_it_was_raised_from():
    chained = text("enospc_write_json.txt") + (
        "\nDuring handling of the above exception, another exception occurred:\n\n" + text("config_error.txt")
    )
    assert classify(chained).kind == faults.ERROR
    # the other way round (a library error raised while a write failed), the disk is the cause
    chained = text("config_error.txt").replace("mixft.runner.errors.ConfigError", "ValueError")
    chained = text("enospc_write_json.txt") + "\nThe above exception was the direct cause:\n\n" + chained
    assert classify(chained).kind == faults.DISK


def test_an_unrecorded_end_is_told_by_its_exit_code_and_log():
    killed = classify("", -signal.SIGKILL)
    assert killed.kind == faults.KILLED and killed.resumable and "SIGKILL" in killed.line
    assert classify("", 128 + signal.SIGKILL).kind == faults.KILLED
    assert classify("", 1) == faults.Cause(faults.ERROR, "the run process exited with code 1")
    # a run.log: log lines, then the traceback (chained), then lines printed at exit
    log = "INFO step 4\n" + text("enospc_torch_save.txt") + "wandb: synced offline\n"
    assert log_tracebacks(log).startswith("Traceback") and log_tracebacks("INFO step 4\n") == ""
    assert classify(log_tracebacks(log), 1).kind == faults.STORAGE


def test_out_of_memory_restarts_and_interruptions_do_not_count_against_retries():
    history = [
        {"state": "interrupted"},
        {"state": "failed", "restarted": "out of memory beside other runs on gpu0"},
        {"state": "failed"},
    ]
    assert failures({"history": history}) == 1
    assert failures({"history": history[:2]}) == 0
