"""Models for training and evaluation: from the hub by id (safetensors only, remote code only when
a model config turns it on), or the tiny one mixft builds itself.

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb]    (builds the tiny model on first use)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import LocalModelConfig, ModelConfig
from mixft.runner.data.tokenizer import ensure_tiny_tokenizer, tiny_dir
from mixft.runner.errors import ConfigError
from mixft.runner.store.atomic import building_dir, exclusive

log = logging.getLogger(__name__)


def _build_tiny_model(build: LocalModelConfig, tokenizer_dir: Path, folder: Path) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=build.hidden_size,
        intermediate_size=build.intermediate_size,
        num_hidden_layers=build.num_hidden_layers,
        num_attention_heads=build.num_attention_heads,
        num_key_value_heads=build.num_key_value_heads,
        max_position_embeddings=build.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)  # the same initial weights in every store
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def ensure_tiny_model(build: LocalModelConfig) -> Path:
    """Build the tiny model (weights as safetensors, with its tokenizer) unless it is in the store."""
    tokenizer_dir = ensure_tiny_tokenizer(build)
    folder = tiny_dir(build) / "model"
    with exclusive(folder):
        if not folder.exists():
            with building_dir(folder) as tmp:
                _build_tiny_model(build, tokenizer_dir, tmp)
    return folder


def flash_attention_problem(attn_implementation: str, cuda: bool) -> str | None:
    """Why the model's attention kernel cannot run where a run executes, or None: flash_attention_2
    needs CUDA and the flash-attn package. Such a run uses sdpa instead (the same attention, another
    kernel): a run asks this on its device, the pre-flight of a local sweep says it once."""
    import importlib.util

    if attn_implementation == "flash_attention_2" and not (cuda and importlib.util.find_spec("flash_attn")):
        return "flash_attention_2 needs CUDA and flash-attn here"
    return None


def _attention(model: ModelConfig) -> str:
    """The configured attention kernel, or sdpa where flash-attention cannot run (no CUDA, not installed)."""
    import torch

    problem = flash_attention_problem(model.attn_implementation, torch.cuda.is_available())
    if problem is not None:
        log.warning("model %s: %s; using sdpa", model.name, problem)
        return "sdpa"
    return model.attn_implementation


def model_source(model: ModelConfig) -> tuple[str, str | None]:
    """(where the model's weights are, revision): a hub id or a local folder (the tiny model built)."""
    if model.build is not None:
        return str(ensure_tiny_model(model.build)), None
    return model.hf_id or "", model.revision


def load_model(model: ModelConfig, quantization: Any = None) -> Any:
    """The causal LM of a model config: weights as safetensors, remote code only when the config allows.

    Args:
        model: The model config (hub id and revision, or a local build).
        quantization: A transformers quantization config (QLoRA), or None.

    Raises:
        ConfigError: when the weights cannot be loaded.
    """
    import torch
    from transformers import AutoModelForCausalLM

    dtype = "auto" if model.dtype == "auto" else getattr(torch, model.dtype)
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "attn_implementation": _attention(model),
        "use_safetensors": True,
    }
    source, revision = model_source(model)
    if model.build is None:
        kwargs |= {
            "revision": revision,
            "trust_remote_code": model.trust_remote_code,
            "token": os.environ.get("HF_TOKEN"),
        }
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    try:
        return AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ConfigError(f"model '{model.name}': cannot load {source} ({reason})") from None


def load_kept(model: ModelConfig, folder: Path, adapter: bool, quantization: Any = None) -> Any:
    """The weights a training kept: its final model, or its adapter on the base model.

    Args:
        model: The base model's config (dtype, attention kernel; the base for an adapter).
        folder: The training's model/ folder.
        adapter: True when the folder holds a LoRA adapter.
        quantization: The QLoRA quantization config of the base, or None.

    Raises:
        ConfigError: when the weights cannot be loaded.
    """
    if adapter:
        from peft import PeftModel

        return PeftModel.from_pretrained(load_model(model, quantization), str(folder))
    import torch
    from transformers import AutoModelForCausalLM

    dtype = "auto" if model.dtype == "auto" else getattr(torch, model.dtype)
    try:
        return AutoModelForCausalLM.from_pretrained(
            str(folder), dtype=dtype, attn_implementation=_attention(model), use_safetensors=True
        )
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"model '{model.name}': cannot load the kept weights in {folder} ({reason})"
        ) from None
