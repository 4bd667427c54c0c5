"""Reading images and label files: geometry, scaling, and every way a file can be wrong."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError, LabelError


def test_read_image_geometry_and_scaling(tmp_path, make_image, oblique_affine, spacing):
    vol = make_image(tmp_path / "img.nii.gz", slope=(2.0, -5.0))
    assert vol.data.dtype == np.float32
    assert vol.shape == (12, 10, 5)
    np.testing.assert_allclose(vol.spacing, spacing, rtol=1e-6)
    np.testing.assert_allclose(vol.affine, oblique_affine(), atol=1e-4)
    assert vol.affine.dtype == np.float64
    raw = np.asarray(nib.load(str(tmp_path / "img.nii.gz")).dataobj.get_unscaled())
    np.testing.assert_allclose(vol.data, raw * 2.0 - 5.0)
    assert vol.path == tmp_path / "img.nii.gz"
    assert "shape=(12, 10, 5)" in repr(vol)


def test_read_image_squeezes_trailing_singleton(tmp_path, save_raw):
    p = save_raw(tmp_path / "t.nii.gz", np.ones((4, 5, 6, 1), np.float32))
    vol = io.read_image(p)
    assert vol.shape == (4, 5, 6)
    assert tuple(vol.header.get_data_shape()) == (4, 5, 6)


def test_read_image_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere.nii.gz: file not found"):
        io.read_image(tmp_path / "nothere.nii.gz")


def test_read_image_garbage_file(tmp_path):
    p = tmp_path / "garbage.nii.gz"
    p.write_bytes(b"this is not a nifti file at all" * 20)
    with pytest.raises(DataError, match=r"garbage.nii.gz: cannot be read as NIfTI"):
        io.read_image(p)
    q = tmp_path / "garbage.nii"
    q.write_bytes(bytes(range(256)) * 3)
    with pytest.raises(DataError, match=r"garbage.nii: cannot be read as NIfTI"):
        io.read_image(q)


def test_read_image_truncated_file(tmp_path, save_raw):
    p = save_raw(tmp_path / "trunc.nii", np.ones((20, 20, 20), np.float32))
    p.write_bytes(p.read_bytes()[:2000])
    with pytest.raises(DataError, match=r"trunc.nii: the image data cannot be read"):
        io.read_image(p)


def test_read_image_4d_needs_a_frame(tmp_path, save_raw):
    data = np.arange(4 * 5 * 6 * 3, dtype=np.float32).reshape(4, 5, 6, 3)
    p = save_raw(tmp_path / "cine.nii.gz", data)
    with pytest.raises(DataError, match=r"cine.nii.gz: is 4D with 3 frames .*0 to 2: `--frame N`"):
        io.read_image(p)
    with pytest.raises(DataError, match=r"cine.nii.gz: frame 3 does not exist; the file has 3 frames"):
        io.read_image(p, frame=3)
    vol = io.read_image(p, frame=2)
    assert vol.shape == (4, 5, 6) and np.array_equal(vol.data, data[..., 2])
    assert vol.source.frame == 2 and vol.source.n_frames == 3
    assert io.count_frames(p) == 3
    frames = io.read_image_frames(p)
    assert len(frames) == 3 and all(np.array_equal(f.data, data[..., t]) for t, f in enumerate(frames))
    labels = save_raw(tmp_path / "cine_seg.nii.gz", (data % 3).astype(np.uint8))
    lab = io.read_labels(labels, kind="mask", frame=1)
    assert lab.data.dtype == np.uint8 and np.array_equal(lab.data, (data % 3).astype(np.uint8)[..., 1])


def test_read_image_2d(tmp_path, save_raw):
    p = save_raw(tmp_path / "flat.nii.gz", np.zeros((8, 9), np.float32))
    with pytest.raises(DataError, match=r"flat.nii.gz: is 2D \(shape \(8, 9\)\); a 3D volume is needed"):
        io.read_image(p)


def test_read_image_nan_inf(tmp_path, save_raw):
    data = np.ones((4, 5, 6), np.float32)
    data[0, 0, :3] = np.nan
    data[1, 1, 1] = np.inf
    p = save_raw(tmp_path / "nan.nii.gz", data)
    with pytest.raises(DataError, match=r"nan.nii.gz: 4 of 120 voxels have non-finite .*3 NaN, 1 Inf"):
        io.read_image(p)


def test_read_image_empty(tmp_path, save_raw):
    p = save_raw(tmp_path / "empty.nii", np.zeros((4, 0, 6), np.float32))
    with pytest.raises(DataError, match=r"empty.nii: the volume is empty"):
        io.read_image(p)


def test_read_image_folder(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        io.read_image(tmp_path)


def test_read_labels_checks_against_reference(tmp_path, make_image):
    img = make_image(tmp_path / "img.nii.gz")
    scr = np.zeros(img.shape, np.uint8)
    scr[2:4, 2:4, 1] = 1
    scr[6, 6, 2] = 3
    io.write_labels(tmp_path / "s" / "img.nii.gz", scr, img)
    vol = io.read_labels(tmp_path / "s" / "img.nii.gz", kind="scribbles", n_classes=3, reference=img)
    np.testing.assert_array_equal(vol.data, scr)
    assert np.issubdtype(vol.data.dtype, np.integer)


def test_read_labels_shape_mismatch(tmp_path, make_image, save_raw, oblique_affine):
    img = make_image(tmp_path / "img.nii.gz")
    p = save_raw(tmp_path / "scr.nii.gz", np.ones((12, 10, 4), np.uint8), oblique_affine())
    with pytest.raises(
        DataError,
        match=r"scribbles .*scr.nii.gz has shape \(12, 10, 4\) but the image .*img.nii.gz "
        r"has shape \(12, 10, 5\)",
    ):
        io.read_labels(p, kind="scribbles", reference=img)


def test_read_labels_affine_mismatch(tmp_path, make_image, save_raw, oblique_affine):
    img = make_image(tmp_path / "img.nii.gz")
    shifted = oblique_affine(offset=(-91.5, 12.25, 42.0))
    p = save_raw(tmp_path / "scr.nii.gz", np.ones(img.shape, np.uint8), shifted)
    with pytest.raises(
        DataError, match=r"(?s)scr.nii.gz and the image .*img.nii.gz have different affines.*42\."
    ):
        io.read_labels(p, kind="scribbles", reference=img)
    # a difference below the tolerance passes
    close = oblique_affine(offset=(-91.5, 12.25, 40.0002))
    q = save_raw(tmp_path / "ok.nii.gz", np.ones(img.shape, np.uint8), close)
    io.read_labels(q, kind="scribbles", reference=img)


def test_read_labels_no_annotation(tmp_path, save_raw):
    p = save_raw(tmp_path / "blank.nii.gz", np.zeros((4, 5, 6), np.uint8))
    with pytest.raises(LabelError, match=r"blank.nii.gz: the scribbles contain no annotated voxel"):
        io.read_labels(p, kind="scribbles", n_classes=4)
    with pytest.raises(DataError, match=r"blank.nii.gz: the scribbles contain no annotated voxel"):
        io.read_labels(p, kind="scribbles")
    # the same all-zero file is a valid mask (all background)
    assert io.read_labels(p, kind="mask", n_classes=4).data.max() == 0


def test_read_labels_value_outside_classes(tmp_path, save_raw):
    data = np.zeros((4, 5, 6), np.uint8)
    data[0, 0, 0] = 1
    data[1, 1, 1] = 5
    p = save_raw(tmp_path / "s.nii.gz", data)
    with pytest.raises(DataError, match=r"s.nii.gz: scribbles value\(s\) \[5\] outside the class list of 4"):
        io.read_labels(p, kind="scribbles", n_classes=4)
    data[1, 1, 1] = 4  # valid scribble (structure 3) but invalid mask value
    p = save_raw(tmp_path / "m.nii.gz", data)
    io.read_labels(p, kind="scribbles", n_classes=4)
    with pytest.raises(DataError, match=r"m.nii.gz: mask value\(s\) \[4\] outside the class list of 4"):
        io.read_labels(p, kind="mask", n_classes=4)


def test_read_labels_negative(tmp_path, save_raw):
    p = save_raw(tmp_path / "neg.nii.gz", np.full((4, 5, 6), -1, np.int16))
    with pytest.raises(DataError, match="neg.nii.gz: mask hold negative values"):
        io.read_labels(p, kind="mask")


def test_read_labels_raw_values_not_rescaled(tmp_path):
    # A label file saved with nibabel's automatic scaling of float data: raw ints + slope.
    data = np.zeros((4, 5, 6), np.int16)
    data[0, 0, 0] = 3
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_slope_inter(1.0, 0.0)
    nib.save(img, str(tmp_path / "plain.nii.gz"))
    vol = io.read_labels(tmp_path / "plain.nii.gz", kind="mask", n_classes=4)
    assert vol.data.dtype == np.int16 and vol.data[0, 0, 0] == 3
    # a whole-number scaling is applied...
    img.header.set_slope_inter(2.0, 1.0)
    nib.save(img, str(tmp_path / "scaled.nii.gz"))
    vol = io.read_labels(tmp_path / "scaled.nii.gz", kind="mask", n_classes=8)
    assert np.issubdtype(vol.data.dtype, np.integer)
    assert vol.data[0, 0, 0] == 7 and vol.data[1, 1, 1] == 1
    # ...a fractional one is refused
    img.header.set_slope_inter(0.5, 0.0)
    nib.save(img, str(tmp_path / "frac.nii.gz"))
    with pytest.raises(
        DataError, match=r"frac.nii.gz: label values must be whole numbers after applying scl_slope=0.5"
    ):
        io.read_labels(tmp_path / "frac.nii.gz", kind="mask")


def test_read_labels_float_stored(tmp_path, save_raw):
    data = np.zeros((4, 5, 6), np.float32)
    data[1, 2, 3] = 2.0
    p = save_raw(tmp_path / "f.nii.gz", data)
    vol = io.read_labels(p, kind="mask", n_classes=3)
    assert vol.data.dtype == np.uint8 and vol.data[1, 2, 3] == 2
    data[0, 0, 0] = 0.5
    p = save_raw(tmp_path / "g.nii.gz", data)
    with pytest.raises(DataError, match=r"g.nii.gz: label values must be whole numbers"):
        io.read_labels(p, kind="mask")
