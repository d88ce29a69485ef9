"""Why a run ended: the one place that tells a fault of the machine from an error of the run.

run: mixft status smoke    (each failed or interrupted run with its cause, one line)

A run that dies of the machine (a full disk or quota, host memory exhausted or the kernel's OOM
kill, an I/O error or stale handle of a network store, a lost node) is `interrupted`: nothing in its
config, data or code is wrong, and the next `mixft sweep` resumes it from its last checkpoint. Any
other error (mixft's ConfigError, a data error, an exception in mixft's or a library's code) is
deterministic: the run is `failed`, and `--retries` decides whether it runs again. CUDA out of memory
is a kind of its own: beside other runs on one GPU the executor starts it again (packing.py), alone
on its GPU its recipe does not fit, and it has failed.

Everything is read from text, the traceback a run recorded or the tail of its run.log, so the run
process, its executor and `mixft status` all reach the same verdict from what each can read.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from mixft.runner.paths import store_root

# kinds of cause
DISK = "disk"  # ENOSPC, EDQUOT
STORAGE = "storage"  # a write cut short (torch.save), EIO, ESTALE
MEMORY = "memory"  # host memory: MemoryError, ENOMEM, std::bad_alloc
KILLED = "killed"  # SIGKILL: the kernel's OOM killer, or a kill from outside
NODE = "node"  # the node the run was on was lost
GPU_MEMORY = "gpu-memory"  # CUDA (or vLLM's KV cache) out of memory
ERROR = "error"  # deterministic: config, data, code
MACHINE = frozenset({DISK, STORAGE, MEMORY, KILLED, NODE})
EXIT_FAULT = 75  # a run process's exit code for a fault of the machine (sysexits' EX_TEMPFAIL)

# errors that are the run's own whatever else the traceback holds (runner/errors.py)
DETERMINISTIC = re.compile(r"^(?:[\w.]+\.)?ConfigError\b")
_DISK = re.compile(
    r"No space left on device|\bErrno 28\b|os error 28\b|ENOSPC|Disk quota exceeded|\bErrno 122\b|os error 122\b|EDQUOT"
)
# torch.save reports a write the disk refused without its errno (measured with torch 2.13 on a full tmpfs)
_TORCH_WRITE = re.compile(
    r"basic_ios::clear: iostream error|PytorchStreamWriter failed writing|inline_container\.cc.*unexpected pos"
)
_STORAGE = re.compile(
    r"Input/output error|\bErrno 5\b|os error 5\)|Stale file handle|\bErrno 116\b|os error 116\b"
)
_MEMORY = re.compile(
    r"^(?:[\w.]+\.)?MemoryError\b|std::bad_alloc|DefaultCPUAllocator: can't allocate memory|Cannot allocate memory|\bErrno 12\b"
)
_NODE = re.compile(
    r"NodeDiedError|WorkerCrashedError|LocalRayletDiedError|\bNODE_FAIL\b|node .{0,40}\bwas lost\b"
)
# CUDA's caching allocator, the CUDA runtime (its message runs on over lines: the TORCH_USE_CUDA_DSA
# hint comes last), cuBLAS, and vLLM's engine when the GPU has too little left for its KV cache
_GPU_MEMORY = re.compile(
    r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory|CUBLAS_STATUS_ALLOC_FAILED"
    r"|No available memory for the cache blocks|larger than the available KV cache memory"
    r"|less than desired GPU memory utilization|insufficient (?:GPU |device )?memory",
    re.IGNORECASE,
)
_RANK = re.compile(r"^\[(?:rank|default)\d+\]:\s?")  # torchrun's prefix on each line of a rank
_ERRNO_PATH = re.compile(r"\[Errno \d+\] ([^:]+): '([^']+)'")
_ENFORCE = re.compile(r"^\[enforce fail at [^\]]*\][^.]*\.\s*")
HEADER = "Traceback (most recent call last):"


@dataclass(frozen=True)
class Cause:
    """Why a run ended: its kind (module constants) and one line a person can act on."""

    kind: str
    line: str

    @property
    def resumable(self) -> bool:
        """True for a fault of the machine: the run is interrupted and the next sweep resumes it."""
        return self.kind in MACHINE


def exception_lines(text: str) -> list[str]:
    """The exception line (`Type: message`) of each traceback in `text`, in order (a chained
    exception's last); for text with no traceback, its last non-empty line (an error recorded as
    one line: "timed out after 5 min")."""
    lines = [_RANK.sub("", line) for line in text.splitlines()]
    found, in_frames = [], False
    for line in lines:
        if line.startswith(HEADER):
            in_frames = True
        elif in_frames and line.strip() and not line[0].isspace():
            found.append(line.strip())
            in_frames = False
    if found:
        return found
    rest = [line.strip() for line in lines if line.strip()]
    return rest[-1:]


def error_line(text: str | None) -> str | None:
    """The line that says what went wrong: the last exception's `Type: message` line (not the
    lines after it, such as CUDA's TORCH_USE_CUDA_DSA hint), or the last line of other text."""
    found = exception_lines(text or "")
    return found[-1] if found else None


def is_out_of_memory(text: str) -> bool:
    """Whether an error (a traceback, or its line) is the GPU running out of memory."""
    return any(_GPU_MEMORY.search(line) for line in exception_lines(text))


def classify(text: str | None, code: int | None = None) -> Cause:
    """The cause of a run's end from its recorded error or its run.log's tail, and its exit code.

    Args:
        text: A traceback (or any error text); None or "" when nothing was recorded.
        code: The run process's exit code when known (-N: killed by signal N; 128+N from a shell).
    """
    if code in (-signal.SIGKILL, 128 + signal.SIGKILL):  # whatever its ranks printed as they went
        return Cause(KILLED, "killed by SIGKILL (the kernel's out-of-memory killer, or a kill from outside)")
    found = exception_lines(text or "")
    last = found[-1] if found else ""
    if any(_GPU_MEMORY.search(line) for line in found):
        return Cause(GPU_MEMORY, last)
    if last and DETERMINISTIC.search(last):
        return Cause(ERROR, last)
    for kind, pattern in ((DISK, _DISK), (MEMORY, _MEMORY), (STORAGE, _STORAGE), (NODE, _NODE)):
        hit = next((line for line in reversed(found) if pattern.search(line)), None)
        if hit is not None:
            return Cause(kind, describe(kind, hit))
    hit = next((line for line in reversed(found) if _TORCH_WRITE.search(line)), None)
    if hit is not None:
        return Cause(STORAGE, f"a write to the store failed ({_message(hit)})")
    if code == EXIT_FAULT and not found:
        return Cause(STORAGE, f"a fault of the machine it could not record (exit code {code})")
    if last:
        return Cause(ERROR, last)
    return Cause(
        ERROR, f"the run process exited with code {code}" if code is not None else "no error recorded"
    )


def describe(kind: str, line: str) -> str:
    """One line for a fault: "No space left on device writing runs/<id>/metrics.json"."""
    if kind == MEMORY:
        message = _message(line)
        return (
            "out of host memory (MemoryError)"
            if message == line.strip()
            else f"out of host memory ({message})"
        )
    match = _ERRNO_PATH.search(line)
    if match:
        return f"{match.group(1)} writing {store_relative(match.group(2))}"
    if kind == DISK:
        return "Disk quota exceeded" if "quota" in line.lower() else "No space left on device"
    return _message(line)


def _message(line: str) -> str:
    """An exception line without its type: "RuntimeError: x" -> "x"."""
    head, sep, rest = line.partition(": ")
    message = rest.strip() if sep and re.fullmatch(r"[\w.]+", head) else line.strip()
    return _ENFORCE.sub("", message)  # torch's "[enforce fail at file.cc:12] condition. "


def store_relative(path: str) -> str:
    """A path in the store as `runs/...` (relative to $MIXFT_HOME); any other path as it is."""
    root = str(store_root())
    return path[len(root) :].lstrip("/") if path.startswith(root + "/") else path


def log_tracebacks(log: str, window: int = 8000) -> str:
    """The tracebacks at the end of a run.log's text: from the first one that starts in its last
    `window` characters (so a chained exception keeps the error it was raised from); "" if none."""
    at = log.find(HEADER, max(0, len(log) - window))
    return log[at:] if at >= 0 else ""
