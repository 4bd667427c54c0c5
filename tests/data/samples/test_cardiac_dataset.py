"""The cardiac sample dataset on disk (splits, scribbles, classes) and as one volume for napari."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg.data.samples import (
    CARDIAC_CLASSES,
    load_sample_volume,
    make_cardiac_subject,
    write_sample,
)
from napari_scribbleseg.labels import check_label_values

RV, MYO, LV = 1, 2, 3


def load(path):
    img = nib.load(path)
    return np.asarray(img.dataobj), img


def test_write_cardiac_layout(tmp_path):
    out = write_sample("cardiac", tmp_path / "cardiac", seed=0, n_subjects=3)
    assert out == tmp_path / "cardiac"
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "README.txt",
        "classes.json",
        "test/images/case03.nii.gz",
        "test/masks/case03.nii.gz",
        "train/images/case01.nii.gz",
        "train/masks/case01.nii.gz",
        "train/scribbles/case01.nii.gz",
        "unlabeled/images/case02.nii.gz",
        "unpaired_masks/case02.nii.gz",
    ]
    meta = json.loads((out / "classes.json").read_text())
    assert meta["classes"] == list(CARDIAC_CLASSES)
    assert "scribbles" in meta["encoding"] and "masks" in meta["encoding"]

    image, img_nii = load(out / "train/images/case01.nii.gz")
    mask, mask_nii = load(out / "train/masks/case01.nii.gz")
    scribbles, scr_nii = load(out / "train/scribbles/case01.nii.gz")
    subj = make_cardiac_subject(0, seed=0)
    assert image.dtype == np.float32 and mask.dtype == np.uint8 and scribbles.dtype == np.uint8
    np.testing.assert_array_equal(mask, subj.mask)
    np.testing.assert_allclose(image, subj.image)
    for nii in (img_nii, mask_nii, scr_nii):
        np.testing.assert_allclose(nii.affine, subj.affine, atol=1e-4)
        assert int(nii.header["qform_code"]) == 1 and int(nii.header["sform_code"]) == 1
        np.testing.assert_allclose(nii.header.get_zooms(), subj.spacing, rtol=1e-5)

    # paper-style scribbles on every slice: inside their structure, background off the heart
    check_label_values(scribbles, 4, kind="scribbles", source="case01")
    for k in (RV, MYO, LV):
        assert np.all(mask[scribbles == k + 1] == k)
    assert np.all(mask[scribbles == 1] == 0)
    for z in range(mask.shape[2]):
        assert (scribbles[:, :, z] == 1).any()
        for k in np.unique(mask[:, :, z]):
            if k:
                assert (scribbles[:, :, z] == k + 1).any()

    unpaired, _ = load(out / "unpaired_masks/case02.nii.gz")
    unlabeled, _ = load(out / "unlabeled/images/case02.nii.gz")
    assert unpaired.shape == unlabeled.shape
    test_img, _ = load(out / "test/images/case03.nii.gz")
    test_mask, _ = load(out / "test/masks/case03.nii.gz")
    assert test_img.shape == test_mask.shape
    assert "train/scribbles" in (out / "README.txt").read_text()


@pytest.mark.slow  # writes the whole sample twice
def test_write_is_deterministic(tmp_path):
    a = write_sample("cardiac", tmp_path / "a", seed=1, n_subjects=3)
    b = write_sample("cardiac", tmp_path / "b", seed=1, n_subjects=3)
    for rel in ("train/scribbles/case01.nii.gz", "test/images/case03.nii.gz"):
        np.testing.assert_array_equal(load(a / rel)[0], load(b / rel)[0])


def test_load_cardiac_volume():
    v = load_sample_volume("cardiac")
    assert v.class_names == CARDIAC_CLASSES
    assert v.image.shape == v.mask.shape == v.scribbles.shape
    assert v.affine.shape == (4, 4) and len(v.spacing) == 3
    check_label_values(v.scribbles, 4, kind="scribbles", source="sample")
    three = load_sample_volume("cardiac", slices=3)
    assert sum(three.scribbles[:, :, z].any() for z in range(three.scribbles.shape[2])) == 3
