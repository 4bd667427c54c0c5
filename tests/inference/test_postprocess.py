"""The one probabilities -> mask function."""

from __future__ import annotations

import numpy as np

from napari_scribbleseg.inference import entropy, keep_largest_component, probabilities_to_mask
from napari_scribbleseg.inference.postprocess import KeepLargest


def _one_hot(mask: np.ndarray, n: int) -> np.ndarray:
    return np.stack([(mask == k).astype(np.float32) for k in range(n)])


def test_argmax_without_keep_largest():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(5, 6, 7)).transpose(3, 0, 1, 2).astype(np.float32)
    mask = probabilities_to_mask(probs, keep_largest=False)
    assert mask.dtype == np.uint8 and mask.shape == (5, 6, 7)
    np.testing.assert_array_equal(mask, probs.argmax(0))


def test_keep_largest_drops_far_blobs_and_keeps_structures_inside():
    mask = np.zeros((3, 12, 12), np.uint8)
    mask[:, 1:6, 1:6] = 1
    mask[:, 2:4, 2:4] = 2  # a second structure inside the big component: kept
    mask[1, 9:11, 9:11] = 2  # a far blob: dropped
    out = probabilities_to_mask(_one_hot(mask, 3), keep_largest=True)
    expected = mask.copy()
    expected[1, 9:11, 9:11] = 0
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out, keep_largest_component(mask))


def test_keep_largest_uses_full_connectivity():
    mask = np.zeros((3, 6, 6), np.uint8)
    mask[0, 0, 0] = 1
    mask[1, 1, 1] = 1  # touches the first voxel by a corner only: one component with 26-connectivity
    mask[0, 5, 5] = 1
    out = keep_largest_component(mask)
    assert out[0, 0, 0] == 1 and out[1, 1, 1] == 1 and out[0, 5, 5] == 0


def test_keep_largest_on_empty_and_single_component_masks():
    empty = np.zeros((2, 4, 4), np.uint8)
    assert not probabilities_to_mask(_one_hot(empty, 2), keep_largest=True).any()
    one = empty.copy()
    one[0, 1:3, 1:3] = 1
    np.testing.assert_array_equal(probabilities_to_mask(_one_hot(one, 2), keep_largest=True), one)


def test_entropy_is_zero_for_certain_and_log_c_for_uniform():
    certain = _one_hot(np.array([[0, 1]]), 2)
    uniform = np.full((4, 1, 2), 0.25, np.float32)
    np.testing.assert_allclose(entropy(certain), 0.0, atol=1e-6)
    np.testing.assert_allclose(entropy(uniform), np.log(4), rtol=1e-6)
    assert entropy(uniform).dtype == np.float32


def test_keep_largest_per_structure_keeps_the_other_structures_whole():
    mask = np.zeros((4, 20, 20), np.uint8)
    mask[:, 1:6, 1:6] = 1  # two separate blobs of structure 1 (two kidneys)
    mask[:, 12:18, 12:18] = 1
    mask[:, 1:4, 12:15] = 2  # two blobs of structure 2, the small one far away
    mask[:, 16:18, 1:3] = 2
    only2 = KeepLargest(classes=(2,)).apply(mask)
    assert (only2 == 1).sum() == (mask == 1).sum()  # both kidneys stay
    assert (only2[:, 16:18, 1:3] == 0).all() and (only2[:, 1:4, 12:15] == 2).all()
    together = KeepLargest(foreground=True).apply(mask)
    assert (together[:, 1:6, 1:6] == 0).all()  # the union rule drops the smaller kidney
    assert np.array_equal(probabilities_to_mask(_one_hot(mask, 3), KeepLargest()), mask)
    rule = KeepLargest(True, (1, 2))
    assert KeepLargest.from_meta(rule.to_meta(), 3) == rule
    assert KeepLargest.from_meta({"classes": [1, 7, "x"]}, 3) == KeepLargest(False, (1,))
