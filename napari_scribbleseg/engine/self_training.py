"""One self-training round: the pseudo-labels made again from the network and the propagated scribbles.

Pseudo-labels start as the training volumes' scribbles propagated by the random walker
(:func:`.run_data.pseudo_labels`). The walker follows each image's edges but not the organ's shape; the
network, once it has trained for part of the run, knows the shape (e.g. the myocardium's ring) but not
this image's edges as well. Their average, with every scribbled voxel kept as drawn, is better than
either (on single real MRI volumes: network 0.764, walk 0.784, average 0.802 mean Dice;
``bench/results/real.md``), so at ``PreprocessConfig.pseudo_refresh`` of the run the pseudo-labels
are replaced by it once and training goes on with them. The same combination makes the masks of
``scribbleseg predict --scribbles`` (:func:`~napari_scribbleseg.inference.fusion.fuse_with_scribbles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.dataset import PreparedCase
from ..inference.fusion import NETWORK_WEIGHT
from ..inference.slicewise import predict_stack
from ..labels import IGNORE

__all__ = ["quantize", "refresh_pseudo_labels"]


def quantize(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] as uint8 (x 255, rounded): a quarter of the memory, 0.002 resolution."""
    return np.rint(np.clip(probs, 0.0, 1.0) * 255.0).astype(np.uint8)


def refresh_pseudo_labels(
    segmentor: Any,
    cases: Sequence[PreparedCase],
    device: Any,
    amp: Any,
    *,
    network_weight: float = NETWORK_WEIGHT,
    confidence: float = 0.0,
) -> int:
    """Replace the pseudo-label row of every case that kept its walk (``PreparedCase.walk``), in place.

    The new row is the arg-max of ``network_weight`` x the segmentor's probabilities + the rest x the
    walk's; voxels the user annotated (scribbles, with the enclosed background) keep their class, and
    voxels whose combined probability stays under ``confidence`` become ``IGNORE``.

    Parameters
    ----------
    segmentor
        The (unwrapped) segmentor; put in eval mode while predicting, then back in its former mode.
    cases
        Training volumes; those without a walk or a pseudo-label row are left alone.
    device, amp
        Where and in which precision the segmentor runs (:func:`~..inference.slicewise.predict_stack`).
    network_weight
        Weight of the network in the average (0..1).
    confidence
        ``PreprocessConfig.pseudo_confidence``.

    Returns
    -------
    int
        How many volumes got new pseudo-labels.
    """
    w = float(np.clip(network_weight, 0.0, 1.0))
    was_training = segmentor.training
    segmentor.eval()
    done = 0
    try:
        for pc in cases:
            rows = [a for a in range(pc.targets.shape[0]) if pc.is_pseudo(a)]
            if pc.walk is None or not rows:
                continue
            probs = predict_stack(segmentor, pc.image, device, amp)  # (C, S, h, w)
            probs *= w
            probs += (1.0 - w) / 255.0 * pc.walk
            labels = probs.argmax(0).astype(np.int8)
            if confidence > 0:
                labels[probs.max(0) < confidence] = IGNORE
            for a in range(pc.targets.shape[0]):
                if not pc.is_pseudo(a):  # the user's strokes stay as drawn
                    drawn = pc.targets[a] != IGNORE
                    labels[drawn] = pc.targets[a][drawn]
            pc.targets[rows[-1]] = labels
            done += 1
    finally:
        segmentor.train(was_training)
    return done
