"""Model folders are one unit: complete and consistent or absent, normal permissions, nothing left over."""

from __future__ import annotations

import os
import stat

import pytest

from napari_scribbleseg.errors import CheckpointError
from napari_scribbleseg.io import checkpoint as ckpt

torch = pytest.importorskip("torch")


META = {
    "method": "pce",
    "class_names": ["background", "a"],
    "preprocess": {},
    "train_config": {},
    "segmentor": {"name": "linear", "kwargs": {}},
}


def _save(folder, net, step: int):
    state = {k: v + step for k, v in net.state_dict().items()}
    meta = {**META, "step": step}
    return ckpt.save_model_folder(folder, state, meta, {"segmentor": net}, {"step": torch.tensor(step)})


def _listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_model_folder_files_get_the_umask_mode(tmp_path):
    net = torch.nn.Linear(3, 2)
    saved = os.umask(0o022)
    try:
        _save(tmp_path / "model", net, 3)
    finally:
        os.umask(saved)
    files = _listing(tmp_path / "model")
    assert files == ["meta.json", "model.safetensors", "state/last.safetensors", "state/optim.pt"]
    for f in files:
        assert stat.S_IMODE((tmp_path / "model" / f).stat().st_mode) == 0o644, f
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or parked folder left

    meta = ckpt.load_meta(tmp_path / "model")
    assert meta["method"] == "pce" and meta["format"] == ckpt.FORMAT
    weights = ckpt.load_weights(tmp_path / "model" / "model.safetensors")
    torch.testing.assert_close(weights["weight"], net.weight.detach() + 3)
    modules, optim = ckpt.load_training_state(tmp_path / "model")
    torch.testing.assert_close(modules["segmentor"]["bias"], net.bias.detach())
    assert int(optim["step"]) == 3


@pytest.mark.parametrize("fail_at", ["model.safetensors", "last.safetensors", "optim.pt"])
def test_a_save_failing_midway_leaves_the_previous_model_whole(tmp_path, monkeypatch, fail_at):
    """Disk full at any file: the folder keeps the earlier weights, metadata and training state together."""
    net = torch.nn.Linear(3, 2)
    folder = _save(tmp_path / "model", net, 1)
    before = {f: (folder / f).read_bytes() for f in _listing(folder)}

    import safetensors.torch

    real_save_file, real_torch_save = safetensors.torch.save_file, torch.save

    def failing(real):
        def write(obj, filename, *args, **kwargs):
            if os.path.basename(str(filename)) == fail_at:
                with open(filename, "wb") as f:
                    f.write(b"partial")
                raise OSError(28, "No space left on device")
            return real(obj, filename, *args, **kwargs)

        return write

    monkeypatch.setattr(safetensors.torch, "save_file", failing(real_save_file))
    monkeypatch.setattr(torch, "save", failing(real_torch_save))
    with pytest.raises(CheckpointError, match=r"model: cannot save the model: OSError: .*No space left"):
        _save(folder, net, 58)
    assert {f: (folder / f).read_bytes() for f in _listing(folder)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert ckpt.load_meta(folder)["step"] == 1


def test_a_crash_between_the_renames_is_repaired_on_load(tmp_path):
    net = torch.nn.Linear(3, 2)
    folder = _save(tmp_path / "model", net, 1)
    staging, previous = tmp_path / ".model.saving", tmp_path / ".model.previous"
    # new model fully staged, old one parked, then the process died
    _save(tmp_path / "new", net, 2)
    os.replace(tmp_path / "new", staging)
    os.replace(folder, previous)
    assert ckpt.load_meta(folder)["step"] == 2 and not previous.exists()
    # staged folder incomplete (no meta.json, written last): the old model comes back
    _save(tmp_path / "other", net, 3)
    os.replace(folder, previous)
    (tmp_path / "other" / "meta.json").unlink()
    os.replace(tmp_path / "other", staging)
    assert ckpt.load_meta(folder)["step"] == 2


def test_a_destination_with_other_files_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    net = torch.nn.Linear(3, 2)
    with pytest.raises(CheckpointError, match=r"holds other files \(notes.txt\).*new or empty folder"):
        _save(tmp_path, net, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        ckpt.check_model_destination(tmp_path / "file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permission bits")
def test_an_unwritable_destination_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(CheckpointError, match="cannot write the model there"):
        ckpt.check_model_destination(locked / "model")


def test_not_a_model_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not a napari-scribbleseg model"):
        ckpt.load_meta(tmp_path)
