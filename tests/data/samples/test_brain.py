"""The brain sample (MNI152 template with GM/WM masks) shipped with the package."""

from __future__ import annotations

import json

import numpy as np

from napari_scribbleseg.data.samples import BRAIN_CLASSES, load_sample_volume, sample_data_dir, write_sample
from napari_scribbleseg.labels import check_label_values


def test_sample_data_dir_has_brain():
    folder = sample_data_dir() / "brain"
    assert (folder / "COPYING").is_file() and (folder / "README.md").is_file()
    assert sum(p.stat().st_size for p in folder.iterdir()) < 10e6


def test_load_brain_volume():
    v = load_sample_volume("brain")
    assert v.class_names == BRAIN_CLASSES
    assert v.image.shape == (197, 233, 189) == v.mask.shape == v.scribbles.shape
    assert v.spacing == (1.0, 1.0, 1.0)
    counts = np.bincount(v.mask.ravel(), minlength=3)
    assert counts[1] > 1e5 and counts[2] > 1e5  # GM and WM present
    check_label_values(v.scribbles, 3, kind="scribbles", source="brain")
    scribbled = [z for z in range(v.mask.shape[2]) if v.scribbles[:, :, z].any()]
    assert len(scribbled) == 5
    for k in (1, 2):
        assert (v.scribbles == k + 1).any()
        assert np.all(v.mask[v.scribbles == k + 1] == k)
    # grey matter is darker than white matter on T1
    assert np.median(v.image[v.mask == 1]) < np.median(v.image[v.mask == 2])


def test_write_brain(tmp_path):
    out = write_sample("brain", tmp_path / "brain")
    for rel in (
        "train/images/mni152.nii.gz",
        "train/scribbles/mni152.nii.gz",
        "train/masks/mni152.nii.gz",
        "test/images/mni152.nii.gz",
        "test/masks/mni152.nii.gz",
    ):
        assert (out / rel).is_file()
    assert json.loads((out / "classes.json").read_text())["classes"] == ["background", "GM", "WM"]
    assert "SAME volume" in (out / "README.txt").read_text()
