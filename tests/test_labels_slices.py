"""The label encoding and the volume <-> slice geometry."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.config import PreprocessConfig
from napari_scribbleseg.data.dataset import Case, prepare_case
from napari_scribbleseg.data.slices import SliceGeometry, choose_slice_axis, from_slices, to_slices
from napari_scribbleseg.errors import DataError, LabelError
from napari_scribbleseg.labels import (
    IGNORE,
    check_label_values,
    mask_to_scribbles,
    parse_class_names,
    scribbles_to_target,
    target_to_scribbles,
)


def test_scribble_encoding_round_trip():
    s = np.array([0, 1, 2, 3], np.uint8)
    t = scribbles_to_target(s)
    assert list(t) == [IGNORE, 0, 1, 2]
    assert list(target_to_scribbles(t)) == [0, 1, 2, 3]
    assert list(mask_to_scribbles(np.array([0, 1, 2]))) == [1, 2, 3]


def test_check_label_values_errors_name_the_source():
    with pytest.raises(LabelError, match=r"case7.*\[5\].*0\.\.3"):
        check_label_values(np.array([0, 1, 5]), 3, kind="scribbles", source="case7")
    with pytest.raises(LabelError, match="no annotated voxel"):
        check_label_values(np.zeros(4, int), 3, kind="scribbles", source="x")
    with pytest.raises(LabelError, match=r"\[3\]"):
        check_label_values(np.array([0, 3]), 3, kind="mask", source="m")
    check_label_values(np.array([0, 2]), 3, kind="mask", source="m")


def test_class_names():
    assert parse_class_names("background, RV,MYO ,LV") == ("background", "RV", "MYO", "LV")
    with pytest.raises(LabelError):
        parse_class_names("background")
    with pytest.raises(LabelError, match="repeat"):
        parse_class_names("a,b,a")


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


def test_prepare_case_targets_and_errors():
    img = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    s = np.zeros(img.shape, np.uint8)
    s[5, 5, 1] = 2
    pc = prepare_case(Case(img, (1, 1, 5), [s]), PreprocessConfig(), 1.0)
    assert pc.targets.shape == (1, 3, 20, 20) and pc.targets[0, 1, 5, 5] == 1
    assert (pc.targets != IGNORE).sum() == 1
    bad = Case(img, (1, 1, 5), [s[:-1]], name="bad")
    with pytest.raises(DataError, match="bad.*shape"):
        bad.validate(3)
    with pytest.raises(DataError, match="NaN"):
        Case(np.full((4, 4, 2), np.nan), (1, 1, 1), [s], name="n").validate(3)
