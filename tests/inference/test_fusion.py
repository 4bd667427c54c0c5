"""Predicting a scribbled volume: the network combined with the volume's own scribbles."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.errors import DataError
from napari_scribbleseg.inference import Predictor
from napari_scribbleseg.inference.fusion import fuse_with_scribbles
from napari_scribbleseg.metrics import dice_per_class

SPACING = (1.0, 1.0, 4.0)


def _uniform(n, shape):
    return np.full((n, *shape), 1.0 / n, np.float32)


def test_scribbled_voxels_keep_their_class_and_probabilities_stay_normalised(tiny_volume, scribbles_from):
    image, mask = tiny_volume(0)
    scr = scribbles_from(mask)
    fused, note = fuse_with_scribbles(_uniform(3, image.shape), image, scr, SPACING)
    assert fused.shape == (3, *image.shape) and fused.dtype == np.float32
    np.testing.assert_allclose(fused.sum(axis=0), 1.0, atol=1e-5)
    on = scr > 0
    np.testing.assert_array_equal(fused.argmax(axis=0)[on], scr[on] - 1)
    assert fused[:, on].max(axis=0).min() == 1.0 and "propagated scribbles" in note
    # a network knowing nothing (uniform) gains the propagated scribbles' answer
    dice = dice_per_class(fused.argmax(axis=0), mask, 3)
    assert min(dice[1:]) > 0.8, dice


def test_the_network_weight_sets_the_mix(tiny_volume, scribbles_from):
    image, mask = tiny_volume(1)
    scr = scribbles_from(mask)
    net = np.zeros((3, *image.shape), np.float32)
    net[0] = 1.0  # a network that calls everything background
    only_net, _ = fuse_with_scribbles(net, image, scr, SPACING, network_weight=1.0)
    off = scr == 0
    assert (only_net.argmax(axis=0)[off] == 0).all()
    half, _ = fuse_with_scribbles(net, image, scr, SPACING, network_weight=0.5)
    assert (half.argmax(axis=0)[off] == 0).all()  # ties go to background: 0.5 + 0.5 * p_bg
    walked, _ = fuse_with_scribbles(net, image, scr, SPACING, network_weight=0.0)
    assert (walked.argmax(axis=0) == 2).sum() > 0.5 * (mask == 2).sum()


def test_one_scribbled_class_keeps_the_strokes_without_propagation(tiny_volume, scribbles_from):
    image, mask = tiny_volume(2)
    scr = np.where(scribbles_from(mask) == 3, 3, 0).astype(np.uint8)  # only the disk
    probs = _uniform(3, image.shape)
    fused, note = fuse_with_scribbles(probs, image, scr, SPACING)
    assert "no propagation" in note
    assert (fused.argmax(axis=0)[scr > 0] == 2).all()
    np.testing.assert_array_equal(fused[:, scr == 0], probs[:, scr == 0])


def test_bad_scribbles_are_refused_and_none_change_nothing(tiny_volume):
    image, _ = tiny_volume(0)
    probs = _uniform(3, image.shape)
    with pytest.raises(DataError, match="shape"):
        fuse_with_scribbles(probs, image, np.zeros((4, 4, 4), np.uint8), SPACING)
    bad = np.zeros(image.shape, np.uint8)
    bad[0, 0, 0] = 7
    with pytest.raises(DataError, match="value 7 is outside the 3 classes"):
        fuse_with_scribbles(probs, image, bad, SPACING)
    same, note = fuse_with_scribbles(probs, image, np.zeros(image.shape, np.uint8), SPACING)
    assert same is probs and "network only" in note


def test_the_predictor_uses_the_scribbles_of_the_volume(untrained_model, tiny_volume, scribbles_from):
    image, mask = tiny_volume(3)
    scr = scribbles_from(mask)
    pred = Predictor.load(untrained_model, device="cpu")
    plain, _ = pred.segment(image, SPACING)
    fused, _ = pred.segment(image, SPACING, scribbles=scr)
    assert (fused[scr > 0] == scr[scr > 0] - 1).all()
    assert np.mean(dice_per_class(fused, mask, 3)[1:]) > np.mean(dice_per_class(plain, mask, 3)[1:]) + 0.2
    with pytest.raises(DataError, match="case03: "):
        pred.segment(image, SPACING, scribbles=scr[:-1], source="case03")
