"""The volume <-> slice-stack geometry: slice axis choice, resampling round trips and size limits."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.config import PreprocessConfig
from napari_scribbleseg.data.dataset import Case, prepare_case
from napari_scribbleseg.data.slices import SliceGeometry, choose_slice_axis, from_slices, to_slices
from napari_scribbleseg.errors import DataError


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


@pytest.mark.parametrize(
    ("spacing", "target", "size"),
    [((1.5, 1.5, 5.0), 1e-4, "960000 x 960000"), ((1000.0, 1000.0, 5000.0), 1.5, "42667 x 42667")],
)
def test_resampling_past_the_voxel_limit_is_refused(monkeypatch, spacing, target, size):
    monkeypatch.delenv("SCRIBBLESEG_MAX_VOXELS", raising=False)
    # refused from the sizes alone: nothing of 3.7e12 voxels is ever allocated
    with pytest.raises(DataError) as err:
        SliceGeometry.create((64, 64, 4), spacing, target, None, source="case07.nii.gz")
    msg = str(err.value)
    assert msg.startswith("case07.nii.gz: resampling from spacing (")
    assert f"to the target spacing {target:g} mm would make 4 x {size} = " in msg
    assert "over the limit of 536,870,912" in msg and "SCRIBBLESEG_MAX_VOXELS" in msg


def test_resampling_limit_follows_the_environment(monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_MAX_VOXELS", "1000")
    assert SliceGeometry.create((10, 10, 2), (1.0, 1.0, 5.0), 0.5, None).resampled_shape == (20, 20)
    with pytest.raises(
        DataError, match=r"the volume: resampling .* 2 x 40 x 40 = 3,200 voxels.*limit of 1,000"
    ):
        SliceGeometry.create((10, 10, 2), (1.0, 1.0, 5.0), 0.25, None)
    # a volume already over the limit may still be used on its own grid or shrunk
    assert SliceGeometry.create((40, 40, 2), (1.0, 1.0, 5.0), None, None).resampled_shape == (40, 40)
    assert SliceGeometry.create((40, 40, 2), (1.0, 1.0, 5.0), 2.0, None).resampled_shape == (20, 20)


def test_training_case_too_large_once_resampled_is_named(monkeypatch):
    monkeypatch.delenv("SCRIBBLESEG_MAX_VOXELS", raising=False)
    case = Case(np.zeros((16, 16, 2), np.float32), (1.0, 1.0, 4.0), [], None, "case09")
    with pytest.raises(
        DataError, match=r"^case09: resampling from spacing \(1, 1\) mm in-plane to the target"
    ):
        prepare_case(case, PreprocessConfig(), 1e-5)


@pytest.mark.parametrize(
    ("spacing", "target", "message"),
    [
        ((1.0, np.nan, 3.0), 1.0, r"voxel spacing \(1.0, nan, 3.0\) must be three positive finite numbers"),
        ((1.0, 1.0, 0.0), 1.0, r"voxel spacing \(1.0, 1.0, 0.0\) must be three positive finite numbers"),
        ((1.0, 1.0, 2.0), np.nan, r"cannot resample to an in-plane spacing of nan mm"),
    ],
)
def test_bad_spacing_is_a_data_error(spacing, target, message):
    with pytest.raises(DataError, match=f"^vol: {message}"):
        SliceGeometry.create((8, 8, 8), spacing, target, None, source="vol")
