"""Scribbles for a whole volume: every slice valid, deterministic, slice selection, one batched walk."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.errors import ConfigError, DataError
from napari_scribbleseg.labels import check_label_values
from napari_scribbleseg.scribbles import scribbles_from_mask, thin_structures
from napari_scribbleseg.scribbles import volume as scribble_volume

N_CLASSES = 4  # background, RV, MYO, LV


@pytest.mark.parametrize("style", ["skeleton", "random-walk", "paper"])
def test_volume_scribbles_valid(style, heart_volume, touching):
    vol = heart_volume()
    s = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style=style, rng=0)
    assert s.shape == vol.shape and s.dtype == np.uint8
    check_label_values(s, N_CLASSES, kind="scribbles", source="test")
    for k in (1, 2, 3):
        inside = s == k + 1
        assert np.all(vol[inside] == k)
    for z in range(vol.shape[2]):
        m, sc = vol[:, :, z], s[:, :, z]
        for k in np.unique(m[m > 0]):
            assert (sc == k + 1).any(), f"slice {z}: structure {k} not scribbled"
        bg = sc == 1
        assert bg.any(), f"slice {z}: no background scribble"
        assert not (bg & touching(m > 0)).any()
    # the empty last slice gets background only
    assert set(np.unique(s[:, :, -1])) == {0, 1}


def test_volume_deterministic_and_axis(heart_volume):
    vol = heart_volume()
    a = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=3)
    b = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=3)
    np.testing.assert_array_equal(a, b)
    c = scribbles_from_mask(np.moveaxis(vol, 2, 0), N_CLASSES, slice_axis=0, style="skeleton", rng=3)
    d = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=3)
    # structure skeletons do not depend on the axis layout
    np.testing.assert_array_equal(np.moveaxis(c, 0, 2) > 1, d > 1)


def test_volume_paper_style_thin_decision(heart_volume):
    vol = heart_volume()
    assert thin_structures(vol, N_CLASSES, slice_axis=2) == (2,)
    s = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=0, background=False)
    sk = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=0, background=False)
    np.testing.assert_array_equal(s == 4, sk == 4)
    np.testing.assert_array_equal(s == 2, sk == 2)
    assert not np.array_equal(s == 3, sk == 3)  # the ring gets a walk, not its skeleton
    from scipy import ndimage

    for z in range(vol.shape[2]):  # the walk keeps away from the ring's border (001 Sec. IV-A)
        depth = ndimage.distance_transform_edt(vol[..., z] == 2)
        if (s[..., z] == 3).any():
            assert depth[s[..., z] == 3].min() >= min(2.0, depth.max())
    assert not (s == 1).any()


def test_volume_slices_selection(heart_volume):
    vol = heart_volume(n=10)
    s = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=0, slices=3)
    annotated = [z for z in range(vol.shape[2]) if s[:, :, z].any()]
    assert len(annotated) == 3
    assert all(vol[:, :, z].any() for z in annotated)
    assert annotated[0] > 0 and annotated[-1] < 8  # spread, not the extremes
    s2 = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=0, slices=[1, -1])
    assert [z for z in range(vol.shape[2]) if s2[:, :, z].any()] == [1, 9]
    s3 = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=0, slices=100)
    assert sum(s3[:, :, z].any() for z in range(10)) == 9  # all structure-bearing slices


def test_volume_errors(heart_volume):
    vol = heart_volume()
    with pytest.raises(ConfigError, match="Did you mean"):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeletons")
    with pytest.raises(ConfigError):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, slices=0)
    with pytest.raises(ConfigError):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, slices=[50])
    with pytest.raises(ConfigError):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, slices="some")
    with pytest.raises(DataError):
        scribbles_from_mask(vol[..., 0], N_CLASSES, slice_axis=0)
    with pytest.raises(DataError):
        scribbles_from_mask(vol, 3, slice_axis=2)  # value 3 outside a 3-class mask


def test_volume_walks_in_one_batch(monkeypatch, heart_slice):
    """Every walker of a volume (structures and background strokes) runs in one batched walk."""
    calls = []
    real_walk = scribble_volume.walk

    def counting_walk(allowed, which, starts, steps, rng):
        calls.append(len(which))
        return real_walk(allowed, which, starts, steps, rng)

    monkeypatch.setattr(scribble_volume, "walk", counting_walk)
    vol = np.stack([heart_slice() for _ in range(4)], axis=-1)
    out = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="random-walk", rng=0)
    assert len(calls) == 1
    assert calls[0] >= 4 * 3  # at least one walker per structure and slice
    for k in (1, 2, 3):
        assert np.all(vol[out == k + 1] == k)
