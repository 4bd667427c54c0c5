"""The volume <-> slice-stack geometry: slice axis choice and resampling round trips."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.data.slices import SliceGeometry, choose_slice_axis, from_slices, to_slices


@pytest.mark.parametrize(
    ("spacing", "axis"), [((1.5, 1.5, 8), 2), ((8, 1, 1), 0), ((1, 5, 1), 1), ((2, 2, 2), 2)]
)
def test_slice_axis_is_largest_spacing_ties_last(spacing, axis):
    assert choose_slice_axis(spacing) == axis
    assert choose_slice_axis(spacing, override=0) == 0


def test_slices_round_trip_with_resampling():
    rng = np.random.default_rng(0)
    vol = rng.random((30, 7, 40)).astype(np.float32)  # slice axis 1 (spacing 6)
    geom = SliceGeometry.create(vol.shape, (1.0, 6.0, 1.4), 1.2, None)
    assert geom.axis == 1 and geom.resampled_shape == (25, 47)
    stack = to_slices(vol, geom)
    assert stack.shape == (7, 25, 47)
    back = from_slices(stack[None], geom)[0]
    assert back.shape == vol.shape
    # labels survive the round trip (one-hot probabilities -> argmax)
    lab = np.zeros(vol.shape, np.int64)
    lab[5:25, :, 10:30] = 1
    onehot = np.stack([lab == 0, lab == 1]).astype(np.float32)
    st = np.stack([to_slices(c, geom) for c in onehot])
    rec = from_slices(st, geom).argmax(0)
    assert (rec == lab).mean() > 0.97
