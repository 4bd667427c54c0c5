"""From class probabilities to the mask a user gets: the one post-processing step.

:func:`probabilities_to_mask` is used by the :class:`~.predictor.Predictor` (CLI ``predict`` and the napari
widget's Predict), the trainer's validation Dice and its previews, so all of them show the same mask for
the same probabilities.
"""

from __future__ import annotations

import numpy as np

__all__ = ["entropy", "keep_largest_component", "probabilities_to_mask"]


def probabilities_to_mask(probs: np.ndarray, keep_largest: bool) -> np.ndarray:
    """The mask (mask encoding, uint8) of class probabilities.

    Parameters
    ----------
    probs
        Class probabilities (C, ...), background first.
    keep_largest
        Keep only the structures' largest connected component (:func:`keep_largest_component`); the
        model's ``PreprocessConfig.keep_largest`` decides it.

    Returns
    -------
    numpy.ndarray
        ``probs.argmax(0)`` as uint8 (``0`` = background, ``k`` = structure ``k``), post-processed.
    """
    mask = np.asarray(probs).argmax(0).astype(np.uint8)
    if keep_largest:
        mask = keep_largest_component(mask)
    return mask


def keep_largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the structures' largest connected component (full connectivity); the rest becomes background.

    Organs are one connected object: blobs far from it are false positives (nnU-Net applies the same
    post-processing when it helps on validation). The component is taken over all structures together
    (26-connectivity in 3D), and structures stay as predicted inside it.
    """
    from scipy import ndimage

    fg = mask > 0
    if not fg.any():
        return mask
    lab, n = ndimage.label(fg, structure=np.ones((3,) * mask.ndim, bool))
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    out = mask.copy()
    out[lab != int(sizes.argmax())] = 0
    return out


def entropy(probs: np.ndarray) -> np.ndarray:
    """Per-voxel entropy (nats) of class probabilities (C, ...), an uncertainty map (float32)."""
    p = np.clip(probs, 1e-8, 1.0)
    return -(p * np.log(p)).sum(axis=0).astype(np.float32)
