"""Any model without a YAML: `model=hf:ORG/NAME[@REVISION]` or `model=path:/models/x`.

run: mixft config show model=path:$HOME/models/qwen2.5-0.5b    |    mixft plan smoke model=hf:Qwen/Qwen2.5-0.5B-Instruct

The model's own files say what a model YAML would: the parameter count (summed from the safetensors
headers, without loading a weight), the context length (config.json's max_position_embeddings) and
whether its tokenizer has a chat template. A `path:` folder is a local Hugging Face folder (clusters
without hub access); an `hf:` model is read from the hub, or offline from the Hugging Face cache.
Remote code stays off unless `model.trust_remote_code=true` is set.
"""

from __future__ import annotations

import json
import os
import struct
from functools import cache
from pathlib import Path
from typing import Any

from mixft.runner.errors import ConfigError

PREFIXES = ("hf:", "path:")
DEFAULT_CONTEXT = 4096  # tokens, when config.json names no max_position_embeddings
DTYPES = ("bfloat16", "float16", "float32")


def is_model_ref(value: Any) -> bool:
    """True for `hf:...` and `path:...` model choices."""
    return isinstance(value, str) and value.startswith(PREFIXES)


def _safetensors_parameters(files: list[Path]) -> int:
    """Parameters in safetensors files, from their JSON headers (8-byte length, then the header)."""
    total = 0
    for path in files:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for size in tensor["shape"]:
                    count *= size
                total += count
    return total


def _estimated_parameters(config: dict[str, Any]) -> int:
    """A decoder's parameters from its shape: 12 x layers x hidden^2 plus the embeddings."""
    hidden, layers = int(config.get("hidden_size", 0)), int(config.get("num_hidden_layers", 0))
    return 12 * layers * hidden * hidden + int(config.get("vocab_size", 0)) * hidden


def _has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.jinja").exists() or (folder / "chat_template.json").exists():
        return True
    tokenizer = folder / "tokenizer_config.json"
    return tokenizer.exists() and bool(json.loads(tokenizer.read_text(encoding="utf-8")).get("chat_template"))


@cache
def chat_template_known(model: str, revision: str = "main") -> bool | None:
    """Whether a model's tokenizer carries a chat template: a local folder's files, or a hub model's
    in the Hugging Face cache (never downloaded here); None when the cache does not say."""
    if Path(model).is_dir():
        return _has_chat_template(Path(model))
    from huggingface_hub import try_to_load_from_cache

    if model.count("/") != 1:
        return None
    if isinstance(try_to_load_from_cache(model, "chat_template.jinja", revision=revision), str):
        return True
    tokenizer = try_to_load_from_cache(model, "tokenizer_config.json", revision=revision)
    if not isinstance(tokenizer, str):
        return None
    return bool(json.loads(Path(tokenizer).read_text(encoding="utf-8")).get("chat_template"))


def _dtype(config: dict[str, Any]) -> str:
    """The weights' dtype config.json names (`torch_dtype`, or `dtype` in newer files), else auto."""
    named = str(config.get("dtype") or config.get("torch_dtype") or "auto")
    return named if named in DTYPES else "auto"


def _hub_file(repo: str, revision: str, name: str) -> Path | None:
    """A file of a hub model: from the cache offline, else downloaded; None when it has none."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError

    cached = try_to_load_from_cache(repo, name, revision=revision)
    if isinstance(cached, str):
        return Path(cached)
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return None
    try:
        return Path(hf_hub_download(repo, name, revision=revision, token=os.environ.get("HF_TOKEN")))
    except EntryNotFoundError:
        return None


def _shape(config: dict[str, Any]) -> dict[str, int]:
    """The layer sizes the memory estimate reads, as config.json names them (Phi-3-small: ff_*)."""
    keys = {
        "hidden_size": ("hidden_size", "n_embd", "d_model"),
        "num_hidden_layers": ("num_hidden_layers", "n_layer"),
        "intermediate_size": ("intermediate_size", "ff_intermediate_size", "n_inner"),
        "vocab_size": ("vocab_size",),
        "num_attention_heads": ("num_attention_heads", "n_head"),
        "num_key_value_heads": ("num_key_value_heads",),
    }
    found = {
        key: next((config[n] for n in names if isinstance(config.get(n), int)), None)
        for key, names in keys.items()
    }
    return {key: value for key, value in found.items() if value is not None}


def _from_folder(ref: str, folder: Path) -> dict[str, Any]:
    if not (folder / "config.json").is_file():
        raise ConfigError(f"model {ref}: {folder} is not a Hugging Face model folder (no config.json)")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    weights = sorted(folder.glob("*.safetensors"))
    return {
        "name": folder.name,
        "hf_id": str(folder),
        "num_parameters": _safetensors_parameters(weights) if weights else _estimated_parameters(config),
        "context_length": int(config.get("max_position_embeddings") or DEFAULT_CONTEXT),
        "dtype": _dtype(config),
        "shape": _shape(config),
    }


def _from_hub(ref: str, repo: str, revision: str) -> dict[str, Any]:
    config_path = _hub_file(repo, revision, "config.json")
    if config_path is None:
        raise ConfigError(
            f"model {ref}: cannot read its config.json (offline, and not in the Hugging Face cache); "
            f"run once with network, or download the model and use model=path:DIR"
        )
    config = json.loads(config_path.read_text(encoding="utf-8"))
    for name in ("tokenizer_config.json", "chat_template.jinja"):  # into the cache: validation reads them
        _hub_file(repo, revision, name)
    return {
        "name": repo.rsplit("/", 1)[-1],
        "hf_id": repo,
        "revision": revision,
        "num_parameters": _estimated_parameters(config),
        "context_length": int(config.get("max_position_embeddings") or DEFAULT_CONTEXT),
        "dtype": _dtype(config),
        "shape": _shape(config),
    }


@cache
def model_fields(ref: str) -> dict[str, Any]:
    """The model section a `hf:` or `path:` reference stands for (name, hf_id, revision, sizes).

    Raises:
        ConfigError: a folder that is not a model, or a hub model whose config cannot be read.
    """
    if ref.startswith("path:"):
        return _from_folder(ref, Path(ref[len("path:") :]).expanduser().resolve())
    repo, _, revision = ref[len("hf:") :].partition("@")
    if repo.count("/") != 1:
        raise ConfigError(f"model {ref}: name a hub model as hf:ORG/NAME[@REVISION]")
    return _from_hub(ref, repo, revision or "main")
