"""Model folders are written through the atomic writer: normal permissions, no temporary files left."""

from __future__ import annotations

import os
import stat

import pytest

from napari_scribbleseg.errors import CheckpointError
from napari_scribbleseg.io import checkpoint as ckpt

torch = pytest.importorskip("torch")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_model_folder_files_get_the_umask_mode(tmp_path):
    net = torch.nn.Linear(3, 2)
    saved = os.umask(0o022)
    try:
        ckpt.save_model(tmp_path / "model", dict(net.state_dict()), {"method": "pce"})
        ckpt.save_training_state(tmp_path / "model", {"segmentor": net}, {"step": torch.tensor(3)})
    finally:
        os.umask(saved)
    files = sorted(
        p.relative_to(tmp_path / "model").as_posix() for p in (tmp_path / "model").rglob("*") if p.is_file()
    )
    assert files == ["meta.json", "model.safetensors", "state/last.safetensors", "state/optim.pt"]
    for f in files:
        assert stat.S_IMODE((tmp_path / "model" / f).stat().st_mode) == 0o644, f

    meta = ckpt.load_meta(tmp_path / "model")
    assert meta["method"] == "pce" and meta["format"] == ckpt.FORMAT
    weights = ckpt.load_weights(tmp_path / "model" / "model.safetensors")
    torch.testing.assert_close(weights["weight"], net.weight.detach())
    modules, optim = ckpt.load_training_state(tmp_path / "model")
    torch.testing.assert_close(modules["segmentor"]["bias"], net.bias.detach())
    assert int(optim["step"]) == 3


def test_failed_save_keeps_the_previous_model(tmp_path, monkeypatch):
    net = torch.nn.Linear(3, 2)
    ckpt.save_model(tmp_path, dict(net.state_dict()), {"method": "pce"})
    before = (tmp_path / "model.safetensors").read_bytes()

    import safetensors.torch

    def boom(tensors, filename):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_model(tmp_path, {k: v + 1 for k, v in net.state_dict().items()}, {"method": "pce"})
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "model.safetensors"]


def test_not_a_model_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not a napari-scribbleseg model"):
        ckpt.load_meta(tmp_path)
