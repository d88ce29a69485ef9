"""`model=path:DIR` and `model=hf:ORG/NAME[@REV]`: a model without a YAML, its sizes from its own files.

run: .venv/bin/python -m pytest tests/unit/test_model_refs.py -q
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.model_refs import model_fields
from mixft.runner.errors import ConfigError

TEMPLATE = "{% for m in messages %}{{ m.content }}{% endfor %}"


def model_folder(folder: Path, shapes: dict[str, list[int]], template: bool = True) -> Path:
    """A Hugging Face folder: config.json, tokenizer_config.json, one safetensors file (header + zeros)."""
    folder.mkdir(parents=True)
    config = {"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 32}
    (folder / "config.json").write_text(json.dumps(config | {"max_position_embeddings": 2048}))
    tokenizer = {"chat_template": TEMPLATE} if template else {}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + bytes(offset))
    return folder


def test_a_local_folder_gives_its_exact_parameter_count_and_context(tmp_path):
    folder = model_folder(tmp_path / "my-llama", {"embed.weight": [32, 16], "layer.weight": [16, 16]})
    cfg = load_config([f"model=path:{folder}"])
    assert cfg.model.name == "my-llama" and cfg.model.hf_id == str(folder)
    assert cfg.model.num_parameters == 32 * 16 + 16 * 16  # summed from the header, no weight loaded
    assert cfg.model.context_length == 2048 and cfg.model.build is None
    assert cfg.model.trust_remote_code is False


def test_overrides_after_the_reference_still_apply(tmp_path):
    folder = model_folder(tmp_path / "m", {"w": [4, 4]})
    cfg = load_config([f"model=path:{folder}", "model.dtype=bfloat16", "model.context_length=512"])
    assert cfg.model.dtype == "bfloat16" and cfg.model.context_length == 512


def test_a_folder_without_a_chat_template_is_one_clear_error_unless_one_is_given(tmp_path):
    folder = model_folder(tmp_path / "base-model", {"w": [4, 4]}, template=False)
    with pytest.raises(ConfigError, match="has no chat template; set model.chat_template"):
        load_config([f"model=path:{folder}"])
    cfg = load_config([f"model=path:{folder}", f"model.chat_template='{TEMPLATE}'"])
    assert cfg.model.chat_template == TEMPLATE


def test_bad_references_are_one_line_each(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(ConfigError, match="is not a Hugging Face model folder"):
        load_config([f"model=path:{tmp_path}"])
    with pytest.raises(ConfigError, match=r"offline, and not in the Hugging Face cache.*model=path:DIR"):
        model_fields("hf:someorg/never-downloaded@v1")
    with pytest.raises(ConfigError, match=r"hf:ORG/NAME\[@REVISION\]"):
        load_config(["model=hf:no-org"])


def test_a_reference_keeps_the_run_id_of_its_folder(tmp_path):
    from mixft.runner.config.run import resolve
    from mixft.runner.plan.ids import ids_of

    folder = model_folder(tmp_path / "m", {"w": [4, 4]})
    first = ids_of(resolve(load_config([f"model=path:{folder}", "mixture.tasks=[fpb]"]))).run
    again = ids_of(resolve(load_config([f"model=path:{folder}", "mixture.tasks=[fpb]"]))).run
    other = model_folder(tmp_path / "n", {"w": [4, 4]})
    assert first == again != ids_of(resolve(load_config([f"model=path:{other}", "mixture.tasks=[fpb]"]))).run


def hub_cache(root: Path, repo: str, files: dict[str, str]) -> None:
    """A Hugging Face hub cache holding `files` of `repo` at revision main (its on-disk layout)."""
    cached = root / f"models--{repo.replace('/', '--')}"
    (cached / "refs").mkdir(parents=True)
    (cached / "refs" / "main").write_text("0" * 40)
    snapshot = cached / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name, text in files.items():
        (snapshot / name).write_text(text)


def test_a_hub_model_from_the_cache_gives_its_dtype_and_its_chat_template_is_checked(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    config = {"hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 32, "torch_dtype": "bfloat16"}
    hub_cache(
        tmp_path,
        "someorg/chat",
        {"config.json": json.dumps(config), "tokenizer_config.json": json.dumps({"chat_template": TEMPLATE})},
    )
    hub_cache(tmp_path, "someorg/base", {"config.json": json.dumps(config), "tokenizer_config.json": "{}"})
    cfg = load_config(["model=hf:someorg/chat"])
    assert cfg.model.hf_id == "someorg/chat" and cfg.model.dtype == "bfloat16"
    assert cfg.model.num_parameters == 12 * 2 * 16 * 16 + 32 * 16  # from its shape: no weights read
    with pytest.raises(ConfigError, match="tokenizer of someorg/base has no chat template"):
        load_config(["model=hf:someorg/base"])
    assert load_config(["model=hf:someorg/base", f"model.chat_template='{TEMPLATE}'"]).model.chat_template


def test_a_local_folder_gives_the_dtype_its_config_names(tmp_path):
    folder = model_folder(tmp_path / "m", {"w": [4, 4]})
    assert load_config([f"model=path:{folder}"]).model.dtype == "auto"  # config.json names none
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"dtype": "float16"}))
    other = tmp_path / "n"
    folder.rename(other)  # a new path: model references are read once per process
    assert load_config([f"model=path:{other}"]).model.dtype == "float16"
