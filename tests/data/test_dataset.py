"""Cases, training targets (enclosed background) and the patch sampler."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.config import PreprocessConfig
from napari_scribbleseg.data.dataset import (
    Case,
    MaskSampler,
    PatchSampler,
    PreparedCase,
    enclosed_background,
    prepare_case,
)
from napari_scribbleseg.errors import DataError
from napari_scribbleseg.labels import IGNORE


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


def test_unpaired_mask_patches_are_centred_like_the_supervised_ones():
    """Context patches away from the structures exist for real masks too (else their absence marks fakes)."""
    mask = np.zeros((160, 160, 2), np.uint8)
    mask[70:90, 70:90] = 1  # a small structure in a large slice
    img = np.zeros(mask.shape, np.float32)
    pc = prepare_case(Case(img, (1, 1, 5), [], mask), PreprocessConfig(patch_size=32), 1.0)

    def empty_share(context: float) -> float:
        pre = PreprocessConfig(patch_size=32, context_patches=context, rotation_degrees=0, scale_range=0)
        crops = MaskSampler([pc], pre).sample(200, np.random.default_rng(0), "cpu")
        return float((crops.flatten(1).amax(1) == 0).float().mean())

    assert empty_share(0.0) == 0.0  # centred at the structure: always in view
    assert 0.15 < empty_share(0.3) < 0.45  # the context share lands mostly beside it
    assert empty_share(1.0) > 0.5


def test_patch_area_scale_predicts_sizes_in_zoomed_patches():
    h = w = 96
    yy, xx = np.mgrid[:h, :w]
    disk = (np.hypot(yy - 48, xx - 48) < 12).astype(np.int8)  # 452 px, inside every patch
    target = np.where(disk > 0, 1, 0).astype(np.int8)[None, None]
    pc = PreparedCase("c", None, np.zeros((1, h, w), np.float32), target, np.array([True]))
    pre = PreprocessConfig(patch_size=48, scale_range=0.3, rotation_degrees=30.0, context_patches=0.0)
    sampler = PatchSampler([pc], pre, annotated_only=True)
    sampler.index = [(0, 0, (46, 50, 46, 50))]  # patches centred on the disk
    batch = sampler.sample(16, np.random.default_rng(0), "cpu")
    seen = (batch.targets[0] == 1).sum(dim=(1, 2)).float()
    assert batch.area_scale.min() < 0.85 and batch.area_scale.max() > 1.2  # the zoom varies
    np.testing.assert_allclose(seen.numpy(), disk.sum() * batch.area_scale.numpy(), rtol=0.08)
    assert batch.source.tolist() == [[0, 0]] * 16
