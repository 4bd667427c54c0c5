"""Where to scribble next: the slices of a prediction where a correction is likely to help most.

A slice's score is the mean entropy of the class probabilities over the structures the network predicts
there and a border around them (where the boundary is decided), together with any clearly uncertain
voxel elsewhere (a structure it half sees). Entropy is divided by ``log(C)``, so scores lie in 0..1.
Slices the user already scribbled are skipped, and the neighbours of a chosen slice are passed over, so
that a short list covers different parts of the volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .postprocess import entropy

__all__ = ["SliceSuggestion", "rank_slices", "uncertain_region"]

#: Pixels around the predicted structures that count as their border.
BORDER_PX = 3
#: Normalised entropy above which a voxel counts as uncertain wherever it is.
UNCERTAIN = 0.5
#: Slices scoring less are certain enough not to be suggested.
MIN_SCORE = 0.01


@dataclass(frozen=True)
class SliceSuggestion:
    """One slice to scribble next: its index along the slice axis and its score (0..1, higher first)."""

    slice_index: int
    score: float
    uncertain_voxels: int


def uncertain_region(probs2d: np.ndarray, norm_entropy: np.ndarray | None = None) -> np.ndarray:
    """The region of one slice that the score averages over (bool, the slice's shape).

    ``probs2d`` is (C, H, W); ``norm_entropy`` its entropy divided by ``log(C)`` (computed if omitted).
    """
    n = probs2d.shape[0]
    h = entropy(probs2d) / np.log(n) if norm_entropy is None else norm_entropy
    fg = probs2d.argmax(axis=0) > 0
    region = ndimage.binary_dilation(fg, iterations=BORDER_PX) if fg.any() else fg
    return region | (h > UNCERTAIN)


def rank_slices(
    probs: np.ndarray,
    slice_axis: int,
    *,
    scribbles: np.ndarray | None = None,
    top: int = 5,
    gap: int = 1,
) -> list[SliceSuggestion]:
    """The ``top`` slices most worth scribbling, best first.

    Parameters
    ----------
    probs
        (C, *volume) class probabilities of a prediction.
    slice_axis
        The axis the user scribbles along (0, 1 or 2 of the volume).
    scribbles
        The volume's scribbles (scribble encoding); scribbled slices are not suggested.
    top
        How many slices to return at most.
    gap
        Slices within ``gap`` of a chosen one are passed over.

    Returns
    -------
    list of SliceSuggestion
        Only slices scoring at least :data:`MIN_SCORE` (empty when the prediction is certain everywhere).
    """
    n = probs.shape[0]
    stack = np.moveaxis(probs, slice_axis + 1, 1)  # (C, S, H, W)
    h_all = entropy(stack) / np.log(n)
    done = np.zeros(stack.shape[1], bool)
    if scribbles is not None:
        other = tuple(a for a in range(3) if a != slice_axis % 3)
        done = np.asarray(scribbles).any(axis=other)
    scored = []
    for z in range(stack.shape[1]):
        if done[z]:
            continue
        region = uncertain_region(stack[:, z], h_all[z])
        score = float(h_all[z][region].mean()) if region.any() else 0.0
        if score >= MIN_SCORE:
            scored.append(SliceSuggestion(z, score, int(region.sum())))
    scored.sort(key=lambda s: -s.score)
    chosen: list[SliceSuggestion] = []
    for s in scored:
        if len(chosen) == top:
            break
        if all(abs(s.slice_index - c.slice_index) > gap for c in chosen):
            chosen.append(s)
    return chosen
