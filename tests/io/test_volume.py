"""NiftiVolume (in-memory volumes, geometry kept) and affine comparison."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError
from napari_scribbleseg.io import NiftiVolume


def test_like_keeps_geometry(tmp_path, make_image):
    vol = make_image(tmp_path / "img.nii.gz")
    other = vol.like(np.zeros(vol.shape, np.uint8))
    assert other.shape == vol.shape and other.path == vol.path
    np.testing.assert_array_equal(other.affine, vol.affine)
    with pytest.raises(DataError, match="does not fit"):
        vol.like(np.zeros((2, 2, 2)))


def test_affines_match_rotation_tolerance(oblique_affine, spacing):
    a = oblique_affine()
    b = a.copy()
    b[:3, :3] = oblique_affine(spacing=spacing)[:3, :3] @ np.array(
        [[1, 0, 0], [0, np.cos(1e-3), -np.sin(1e-3)], [0, np.sin(1e-3), np.cos(1e-3)]]
    )
    c = a.copy()
    c[:3] += 1e-5
    assert io.affines_match(a, c)
    assert not io.affines_match(a, b)


def test_from_array_in_memory_volume(tmp_path, oblique_affine, raw_header, spacing):
    aff = oblique_affine(spacing=(1, 1, 1))
    vol = NiftiVolume.from_array(np.zeros((6, 7, 3), bool), aff, spacing=spacing)
    assert vol.path is None
    np.testing.assert_allclose(vol.spacing, spacing, rtol=1e-6)
    np.testing.assert_allclose(vol.affine, oblique_affine(), atol=1e-12)
    labels = np.zeros(vol.shape, np.uint8)
    labels[1, 1, 1] = 2
    out = io.write_labels(tmp_path / "m.nii.gz", labels, vol, class_names=("bg", "a", "b"))
    back = io.read_labels(out, kind="mask", n_classes=3)
    np.testing.assert_allclose(back.affine, oblique_affine(), atol=1e-4)
    hdr = raw_header(out)
    assert (int(hdr["qform_code"]), int(hdr["sform_code"])) == (1, 1)
    with pytest.raises(DataError, match="spacing must be three positive numbers"):
        NiftiVolume.from_array(np.zeros((2, 2, 2)), spacing=(1.0, 0.0, 1.0))
    with pytest.raises(DataError, match="must be 3D"):
        NiftiVolume.from_array(np.zeros((2, 2)))
