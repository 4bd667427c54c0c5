"""The label encoding and the volume <-> slice geometry."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.config import PreprocessConfig
from napari_scribbleseg.data.dataset import Case, PatchSampler, enclosed_background, prepare_case
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


def _ring_slice(gap_degrees: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A 64x64 target: structure scribbles near (32, 30), a background ring of radius 15 around them."""
    t = np.full((64, 64), IGNORE, np.int8)
    yy, xx = np.mgrid[:64, :64]
    r, a = np.hypot(yy - 32, xx - 30), np.arctan2(yy - 32, xx - 30)
    t[(r >= 15) & (r < 16.5) & (np.abs(a) > np.deg2rad(gap_degrees / 2))] = 0
    t[r < 3] = 1
    t[(np.abs(r - 8) < 0.7) & (a > 0)] = 2
    return t, r


@pytest.mark.parametrize("gap", [0.0, 60.0])
def test_enclosed_background_labels_the_outside_only(gap):
    t, r = _ring_slice(gap)
    out = enclosed_background(t)
    drawn = int((t != IGNORE).sum())
    added = (out != t).sum()
    assert 0.8 * drawn < added <= 1.2 * drawn  # as many dots as drawn pixels, so scribbles keep weight
    far = r > 17
    assert (out[far & (out != t)] == 0).all()
    quadrants = [far[:32, :32], far[:32, 32:], far[32:, :32], far[32:, 32:]]
    blocks = [out[:32, :32], out[:32, 32:], out[32:, :32], out[32:, 32:]]
    assert all(((b == 0) & q).sum() > 20 for b, q in zip(blocks, quadrants))  # spread all around, gap too
    assert (out[(r < 14) & (t == IGNORE)] == IGNORE).all()  # inside stays unlabeled
    assert (out[t != IGNORE] == t[t != IGNORE]).all()  # what was drawn is kept


def test_enclosed_background_bridges_a_gap_with_a_far_stroke_behind_it():
    t, r = _ring_slice(60.0)
    t[28:37, 61:63] = 0  # a stroke far out, seen through the gap (to the right)
    a = np.arctan2(*np.mgrid[:64, :64] - np.array([32, 30])[:, None, None])
    in_gap = (r > 18) & (r < 28) & (np.abs(a) < 0.3)
    assert (enclosed_background(t)[in_gap] == 0).sum() >= 3  # no unlabeled channel out to the stroke


def test_enclosed_background_needs_a_ring_around_every_structure():
    t, r = _ring_slice()
    side = np.full_like(t, IGNORE)
    side[:, 50:52] = 0  # a single stroke on one side encloses nothing
    side[r < 3] = 1
    assert (enclosed_background(side) == side).all()
    t[2, 2] = 2  # a structure scribbled outside the ring: the ring does not enclose it
    assert (enclosed_background(t) == t).all()


def test_patches_centre_on_what_was_drawn_not_the_implied_background():
    t, _ = _ring_slice()
    s = np.zeros((64, 64, 1), np.uint8)
    s[..., 0] = (t + 1).astype(np.uint8)  # back to the scribble encoding
    img = np.zeros((64, 64, 1), np.float32)
    pre = PreprocessConfig(patch_size=32)
    pc = prepare_case(Case(img, (1, 1, 5), [s]), pre, 1.0)
    assert (pc.targets[0, 0] == 0).sum() > 1.5 * (t == 0).sum()  # the outside became background
    box = PatchSampler([pc], pre, annotated_only=True).index[0][2]
    assert box == (16, 48, 14, 46)  # the ring's bounding box, not the whole slice
    off = prepare_case(Case(img, (1, 1, 5), [s]), PreprocessConfig(enclosed_background=False), 1.0)
    assert (off.targets[0, 0] == 0).sum() == (t == 0).sum()
