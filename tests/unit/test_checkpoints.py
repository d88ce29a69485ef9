"""Which checkpoints a resume trusts: only whole ones, however the save or a bucket copy was cut off."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save_file

from mixft.runner.train.checkpoints import complete, last_checkpoint


def checkpoint(folder, step: int):
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    save_file({"w": np.ones((64, 64), dtype=np.float32)}, str(path / "model.safetensors"))
    with zipfile.ZipFile(path / "optimizer.pt", "w") as archive:  # torch.save writes a zip archive
        archive.writestr("data.pkl", b"x" * 4096)
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def cut(file, keep: float = 0.5) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])


def test_a_whole_checkpoint_is_complete(tmp_path):
    assert complete(checkpoint(tmp_path, 4))


@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.pt", "trainer_state.json"])
def test_a_file_cut_short_makes_it_incomplete_and_resume_uses_the_one_before(tmp_path, name):
    checkpoint(tmp_path, 2)
    newest = checkpoint(tmp_path, 4)
    cut(newest / name)
    assert not complete(newest)
    assert last_checkpoint(tmp_path) == (str(tmp_path / "checkpoint-2"), 2)
    assert not newest.exists()  # removed, so the trainer's rotation never keeps it


def test_a_garbled_safetensors_header_is_incomplete(tmp_path):
    path = checkpoint(tmp_path, 4)
    (path / "model.safetensors").write_bytes((12).to_bytes(8, "little") + b'{"w": [1, 2]}' + b"\0" * 40)
    assert not complete(path)
