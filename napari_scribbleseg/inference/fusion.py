"""Predicting a volume the user scribbled: the network's answer combined with the scribbles themselves.

When the volume being predicted carries the user's scribbles (the one-volume case: scribble, train, predict
the same volume), two sources of evidence exist: the network's class probabilities, learnt from every
scribble of the run, and the scribbles of this volume spread over it by the 3D random walker
(:func:`~napari_scribbleseg.scribbles.propagate.propagate_scribbles`, what *Propagate* does), which follows
this image's own edges. They err in different places, so the prediction averages them, and every
scribbled voxel keeps the class the user painted (a user's stroke is never contradicted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.slices import choose_slice_axis
from ..errors import DataError
from ..labels import IGNORE, scribbles_to_target
from ..scribbles.propagate import merge_annotators, propagate_scribbles

__all__ = ["NETWORK_WEIGHT", "fuse_with_scribbles"]

#: Weight of the network's probabilities (the propagation gets ``1 - NETWORK_WEIGHT``).
NETWORK_WEIGHT = 0.5


def fuse_with_scribbles(
    probs: np.ndarray,
    image: np.ndarray,
    scribbles: np.ndarray | Sequence[np.ndarray],
    spacing: Sequence[float],
    *,
    slice_axis: int | None = None,
    network_weight: float = NETWORK_WEIGHT,
) -> tuple[np.ndarray, str]:
    """The network's probabilities of a scribbled volume, combined with its scribbles.

    Parameters
    ----------
    probs
        (C, *image.shape) class probabilities of the network.
    image
        The 3D image the scribbles were drawn on.
    scribbles
        Scribble array(s) (scribble encoding) on the image's grid; several: one per annotator.
    spacing
        Voxel sizes (mm).
    slice_axis
        The axis scribbled slice by slice (default: the largest spacing, as training).
    network_weight
        Weight of ``probs`` in the average with the propagated scribbles (0..1).

    Returns
    -------
    tuple
        ``(probabilities, note)``: float32 (C, *image.shape) probabilities that sum to one, one-hot on
        scribbled voxels; the note says what was combined (for the user and the output's sidecar).

    Raises
    ------
    DataError
        Scribbles of another shape than the image, or a scribble value outside the classes.
    """
    n = probs.shape[0]
    merged = merge_annotators([scribbles] if isinstance(scribbles, np.ndarray) else list(scribbles))
    if merged.shape != image.shape:
        raise DataError(f"the scribbles have shape {merged.shape}, the image {image.shape}")
    target = scribbles_to_target(merged)
    scribbled = target != IGNORE
    if not scribbled.any():
        return probs, "no scribbles on this volume: network only"
    if int(target[scribbled].max()) >= n:
        raise DataError(f"scribble value {int(target[scribbled].max()) + 1} is outside the {n} classes")
    w = float(np.clip(network_weight, 0.0, 1.0))
    note = f"network ({w:g}) + this volume's propagated scribbles ({1 - w:g}); scribbled voxels kept"
    try:
        walked = propagate_scribbles(
            image, merged, n, slice_axis=choose_slice_axis(spacing, slice_axis), spacing=spacing
        )
        out = w * probs.astype(np.float32) + (1.0 - w) * walked
    except DataError as exc:  # e.g. only one class scribbled: nothing to propagate, keep the strokes
        out = probs.astype(np.float32, copy=True)
        note = f"network; scribbled voxels kept (no propagation: {exc})"
    labels = target[scribbled].astype(np.intp)
    out[:, scribbled] = 0.0
    out[(labels, *np.nonzero(scribbled))] = 1.0
    return out, note
