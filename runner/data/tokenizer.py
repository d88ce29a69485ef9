"""Tokenizers: from the hub by id, or the tiny one mixft trains itself on the offline sample suite.

run: mixft data show fpb --model tiny    (builds the tiny tokenizer into the store on first use)

The tiny model's byte-level BPE tokenizer is trained on the offline sample suite, once per store
and build config, so smoke runs need no download. A tokenizer's fingerprint is part of every token
cache key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import LocalModelConfig, ModelConfig
from mixft.runner.errors import ConfigError
from mixft.runner.jsonutil import canonical_json
from mixft.runner.paths import models_root
from mixft.runner.store.atomic import building_dir, exclusive

# Special tokens of the tiny model's chat format.
SPECIAL = {"pad": "<|pad|>", "bos": "<|bos|>", "eos": "<|end|>", "unk": "<|unk|>"}
CHAT_ROLES = ("system", "user", "assistant")
# Jinja, rendered by the tokenizer; {% generation %} marks the tokens that carry the training loss.
TINY_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}"
    "{%- else %}{{ message['content'] + '<|end|>' }}{%- endif %}"
    "{{ '\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{%- endif %}"
)
TINY_VERSION = 1  # bump when the recipe below changes: it is part of the build's folder name


def tiny_dir(build: LocalModelConfig) -> Path:
    """Folder of a locally built model in the store, named by a hash of its recipe."""
    key = canonical_json({"version": TINY_VERSION, "build": dataclasses.asdict(build)})
    return models_root() / f"tiny-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _training_text() -> list[str]:
    """Every task's sample rows as text: what the tiny tokenizer learns its merges from."""
    from mixft.runner.data.samples import SAMPLE_TASKS, sample_rows

    texts = []
    for task in SAMPLE_TASKS:
        for split in ("train", "eval"):
            for row in sample_rows(task, split, 256):
                texts.append(" ".join(str(v) for v in row.values()))
    return texts


def _build_tiny_tokenizer(build: LocalModelConfig, folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL["unk"]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = [*SPECIAL.values(), *(f"<|{role}|>" for role in CHAT_ROLES)]
    trainer = trainers.BpeTrainer(
        vocab_size=build.vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_training_text(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=SPECIAL["bos"],
        eos_token=SPECIAL["eos"],
        pad_token=SPECIAL["pad"],
        unk_token=SPECIAL["unk"],
        model_max_length=build.max_position_embeddings,
    )
    fast.chat_template = TINY_CHAT_TEMPLATE
    fast.save_pretrained(folder)


def ensure_tiny_tokenizer(build: LocalModelConfig) -> Path:
    """Build the tiny tokenizer into the store unless it is there; return its folder."""
    folder = tiny_dir(build) / "tokenizer"
    with exclusive(folder):
        if not folder.exists():
            with building_dir(folder) as tmp:
                _build_tiny_tokenizer(build, tmp)
    return folder


def load_tokenizer(model: ModelConfig) -> Any:
    """The model's tokenizer, with its own chat template unless the config gives one.

    Raises:
        ConfigError: when the tokenizer cannot be loaded (offline without a local copy, gated model).
    """
    from transformers import AutoTokenizer

    if model.build is not None:
        source, kwargs = str(ensure_tiny_tokenizer(model.build)), {}
    else:
        source = model.hf_id or ""
        kwargs = {
            "revision": model.revision,
            "trust_remote_code": model.trust_remote_code,
            "token": os.environ.get("HF_TOKEN"),
        }
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"model '{model.name}': cannot load the tokenizer of {source} ({reason}); "
            "download it first, or use model=tiny offline"
        ) from None
    if model.chat_template is not None:
        tokenizer.chat_template = model.chat_template
    if tokenizer.chat_template is None:
        raise ConfigError(
            f"model '{model.name}': its tokenizer has no chat template; set model.chat_template"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """SHA-256 of what decides token ids: vocabulary, merges, specials and chat template."""
    known = getattr(tokenizer, "_mixft_fingerprint", None)
    if known is not None and known[0] == tokenizer.chat_template:
        return known[1]
    parts = {
        "backend": tokenizer.backend_tokenizer.to_str() if hasattr(tokenizer, "backend_tokenizer") else "",
        "vocab": "" if hasattr(tokenizer, "backend_tokenizer") else canonical_json(tokenizer.get_vocab()),
        "specials": {k: str(v) for k, v in tokenizer.special_tokens_map.items()},
        "chat_template": tokenizer.chat_template,
    }
    digest = hashlib.sha256(canonical_json(parts).encode()).hexdigest()
    # serialising a large vocabulary costs ~50 ms: remember it (the template may still change)
    tokenizer._mixft_fingerprint = (tokenizer.chat_template, digest)
    return digest
