from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg.data.sample import (
    BRAIN_CLASSES,
    CARDIAC_CLASSES,
    SAMPLES,
    load_sample_volume,
    make_cardiac_subject,
    sample_data_dir,
    write_sample,
)
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.labels import check_label_values

RV, MYO, LV = 1, 2, 3


@pytest.fixture(scope="module")
def subjects():
    return [make_cardiac_subject(i, seed=0) for i in range(3)]


def test_registry():
    assert SAMPLES.names() == ["cardiac", "brain"]
    with pytest.raises(ConfigError, match="cardiac"):
        SAMPLES.get("cardio")
    assert SAMPLES.get("cardiac").class_names == ("background", "RV", "MYO", "LV")


def test_cardiac_subject_geometry(subjects):
    for s in subjects:
        x, y, z = s.image.shape
        assert 160 <= x <= 192 and x == y and 8 <= z <= 12
        assert s.mask.shape == s.image.shape
        assert s.image.dtype == np.float32 and s.mask.dtype == np.uint8
        assert np.isfinite(s.image).all() and s.image.min() >= 0
        sx, sy, sz = s.spacing
        assert 1.3 <= sx <= 1.7 and sx == sy and sz == 8.0
        # affine = rotation @ diag(spacing): its columns have the voxel sizes as norms
        np.testing.assert_allclose(np.linalg.norm(s.affine[:3, :3], axis=0), s.spacing, rtol=1e-6)
        check_label_values(s.mask, 4, kind="mask", source="test")
    assert len({s.spacing[0] for s in subjects}) == 3  # spacing varies per subject


def test_cardiac_structures(subjects):
    for s in subjects:
        nz = s.mask.shape[2]
        mid = s.mask[:, :, nz // 2]
        for k in (RV, MYO, LV):
            assert (mid == k).sum() > 20, f"structure {k} missing in the mid slice"
        area = [(s.mask[:, :, k] > 0).sum() for k in range(nz)]
        assert area[-1] < area[nz // 2] and area[-1] < area[0]  # the apex is smaller
        # MYO is thin: area / outline length of a ring ~ its thickness (2-5 px wanted)
        myo = mid == MYO
        outer = (mid > 0) & (mid != RV)
        lv = mid == LV
        ring_len = 0.5 * (perimeter(outer) + perimeter(lv))
        assert 1.5 < myo.sum() / ring_len < 6.5


def perimeter(b: np.ndarray) -> int:
    from scipy import ndimage as ndi

    return int((b & ~ndi.binary_erosion(b)).sum())


def test_cardiac_intensities_overlap(subjects):
    # honest difficulty: structures are not separable by intensity alone
    for s in subjects:
        img, m = s.image, s.mask
        lv = img[m == LV]
        bg = img[m == 0]
        assert (bg > np.percentile(lv, 25)).sum() > 200  # bright background (vessels, fat...)
        assert np.percentile(img[m == MYO], 50) < np.percentile(lv, 50)


def test_cardiac_deterministic():
    a = make_cardiac_subject(1, seed=5)
    b = make_cardiac_subject(1, seed=5)
    c = make_cardiac_subject(1, seed=6)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.image.shape != c.image.shape or not np.array_equal(a.image, c.image)


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


def test_write_is_deterministic(tmp_path):
    a = write_sample("cardiac", tmp_path / "a", seed=1, n_subjects=3)
    b = write_sample("cardiac", tmp_path / "b", seed=1, n_subjects=3)
    for rel in ("train/scribbles/case01.nii.gz", "test/images/case03.nii.gz"):
        np.testing.assert_array_equal(load(a / rel)[0], load(b / rel)[0])


def test_write_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="at least 3"):
        write_sample("cardiac", tmp_path, n_subjects=2)
    with pytest.raises(ConfigError, match="Did you mean"):
        write_sample("brian", tmp_path)
    with pytest.raises(ConfigError, match="single subject"):
        write_sample("brain", tmp_path, n_subjects=4)


def test_load_cardiac_volume():
    v = load_sample_volume("cardiac")
    assert v.class_names == CARDIAC_CLASSES
    assert v.image.shape == v.mask.shape == v.scribbles.shape
    assert v.affine.shape == (4, 4) and len(v.spacing) == 3
    check_label_values(v.scribbles, 4, kind="scribbles", source="sample")
    three = load_sample_volume("cardiac", slices=3)
    assert sum(three.scribbles[:, :, z].any() for z in range(three.scribbles.shape[2])) == 3


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
