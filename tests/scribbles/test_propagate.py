import numpy as np
import pytest

from napari_scribbleseg.errors import DataError
from napari_scribbleseg.scribbles import propagate as prop
from napari_scribbleseg.scribbles.propagate import merge_annotators, propagate_scribbles


def _dice(a, b):
    return 2 * (a & b).sum() / max(a.sum() + b.sum(), 1)


@pytest.fixture
def volume(tiny_volume, scribbles_from):
    """A disk in a ring on 6 slices, scribbled on slices 1 and 4 only."""
    image, mask = tiny_volume(3, shape=(48, 48, 6))
    scribbles = scribbles_from(mask, 3)
    scribbles[..., [0, 2, 3, 5]] = 0
    return image, mask, scribbles


def test_scribbles_on_two_slices_reach_the_others(volume):
    image, mask, scribbles = volume
    probs = propagate_scribbles(image, scribbles, 3, slice_axis=2, spacing=(1.5, 1.5, 6.0))
    assert probs.shape == (3, *image.shape)
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-4)
    pred = probs.argmax(0)
    for z in (0, 2, 3, 5):  # slices nobody scribbled
        assert _dice(pred[..., z] == 2, mask[..., z] == 2) > 0.85
        assert _dice(pred[..., z] == 1, mask[..., z] == 1) > 0.6
    # scribbled pixels keep their class
    ann = scribbles > 0
    assert (pred[ann] == scribbles[ann] - 1).all()


def test_the_slice_axis_may_be_any_axis(volume):
    image, mask, scribbles = volume
    ref = propagate_scribbles(image, scribbles, 3, slice_axis=2)
    moved = propagate_scribbles(np.moveaxis(image, 2, 0), np.moveaxis(scribbles, 2, 0), 3, slice_axis=0)
    np.testing.assert_allclose(np.moveaxis(moved, 1, 3), ref, atol=1e-5)


def test_large_regions_are_solved_on_a_coarser_grid(volume, monkeypatch):
    image, mask, scribbles = volume
    monkeypatch.setattr(prop, "MAX_ROI_VOXELS", 3000)
    pred = propagate_scribbles(image, scribbles, 3).argmax(0)
    assert pred.shape == mask.shape
    assert _dice(pred == 2, mask == 2) > 0.75


def test_background_and_a_structure_must_be_scribbled(volume):
    image, mask, scribbles = volume
    with pytest.raises(DataError, match="background scribbles"):
        propagate_scribbles(image, np.where(scribbles == 1, 0, scribbles), 3)
    with pytest.raises(DataError, match="outside the 2 classes"):
        propagate_scribbles(image, scribbles, 2)
    with pytest.raises(DataError, match="shape"):
        propagate_scribbles(image, scribbles[:-1], 3)


def test_annotators_merge_and_conflicts_are_dropped():
    a = np.array([0, 1, 2, 3, 0], np.uint8)
    b = np.array([2, 1, 3, 0, 0], np.uint8)
    assert merge_annotators([a, b]).tolist() == [2, 1, 0, 3, 0]


def test_a_coarse_solve_is_interpolated_back_not_repeated_in_blocks(volume):
    image, mask, scribbles = volume
    full = propagate_scribbles(image, scribbles, 3, slice_axis=2)
    coarse = propagate_scribbles(image, scribbles, 3, slice_axis=2, max_voxels=3000)
    np.testing.assert_allclose(coarse.sum(0), 1.0, atol=1e-4)
    inside = coarse[0] < 1.0  # the region the walk solved
    rows_differ = ~np.isclose(coarse[:, 0:-1:2], coarse[:, 1::2]) & inside[None, 0:-1:2]
    assert rows_differ.mean() > 0.05  # blocks of 2 would repeat every row pair exactly
    ring_full, ring_coarse = full.argmax(0) == 1, coarse.argmax(0) == 1
    assert _dice(ring_coarse, ring_full) > 0.7  # the thin ring: 0.72 interpolated, 0.67 as 2x2 blocks


def test_linear_upsampling_aligns_pixel_centres():
    ramp = np.arange(4, dtype=np.float32)[None, :, None]  # values at coarse pixel centres 0..3
    up = prop._upsample_linear(ramp, 2, 1)[0, :, 0]
    np.testing.assert_allclose(up, [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0])
    const = np.full((2, 3, 5), 0.3, np.float32)
    np.testing.assert_allclose(prop._upsample_linear(const, 3, 2), 0.3, rtol=1e-6)
