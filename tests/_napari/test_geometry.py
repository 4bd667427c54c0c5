"""Layer geometry: the slice axis on the slider, radiological display (no canvas needed)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari.geometry import LayerGeometry  # noqa: E402


@pytest.mark.qt
@pytest.mark.parametrize(
    ("affine", "expected_names", "slice_axis"),
    [
        (np.diag([1.0, 1.0, 3.0, 1.0]), ("S", "P", "L"), 2),  # axial stack
        (np.diag([1.0, 4.0, 1.0, 1.0]), ("A", "I", "L"), 1),  # coronal stack
        (np.diag([5.0, 1.0, 1.0, 1.0]), ("R", "I", "P"), 0),  # sagittal stack
        ("oblique", ("S", "P", "L"), 2),  # oblique_affine(): rotated about all three axes
    ],
)
def test_geometry_puts_the_slice_axis_on_the_slider(affine, expected_names, slice_axis, oblique_affine):
    if isinstance(affine, str):
        affine = oblique_affine()
    shape = (7, 9, 11)
    g = LayerGeometry.from_affine(affine, shape)
    assert g.slice_axis == slice_axis
    assert g.world_axis_names == expected_names
    data = np.arange(np.prod(shape)).reshape(shape)
    view = g.to_napari(data)
    assert view.shape == g.napari_shape
    assert np.shares_memory(view, data)
    np.testing.assert_array_equal(g.from_napari(view), data)
    sp = np.linalg.norm(affine[:3, :3], axis=0)
    np.testing.assert_allclose(g.scale, [sp[a] for a in g.axes])
    # the slider index maps to the file's slice index
    for j in (0, 3):
        k = g.file_slice_index(j)
        np.testing.assert_array_equal(np.take(data, k, axis=g.slice_axis).size, view[j].size)
        assert set(np.take(data, k, axis=g.slice_axis).ravel()) == set(view[j].ravel())


@pytest.mark.qt
def test_geometry_axial_display_is_radiological():
    # RAS+ identity: anterior at the top, the patient's left on the screen's right
    g = LayerGeometry.from_affine(np.eye(4), (4, 5, 6))
    vox = np.zeros((4, 5, 6), np.uint8)
    vox[0, 4, 2] = 1  # x = 0: the patient's far left (RAS: +x = right); y = 4: most anterior; z = 2
    view = g.to_napari(vox)
    z, row, col = np.argwhere(view)[0]
    assert (z, row, col) == (2, 0, view.shape[2] - 1)
