"""Scribbles spread over the whole volume by a 3D random walker: a dense segmentation in seconds.

A random walker (Grady, IEEE TPAMI 2006) gives each unlabeled voxel the probability that a walk started
there first reaches a scribble of each class, where steps across strong intensity edges are unlikely.
In 3D the walks cross slices, so scribbles on a few slices reach the slices between and beyond them.
It needs no training, runs on the CPU in seconds and is the "grow from seeds" step clinicians know from
3D Slicer. Its masks are used directly (``scribbleseg propagate``) and as dense pseudo-labels.

Two choices make it work on the scribbles people draw (a few thin strokes per structure and a background
stroke around the organ, 001 Sec. IV-A):

- the background stroke drawn around the structures also marks everything outside it as background
  (:func:`~napari_scribbleseg.scribbles.enclosed.enclosed_background`, per scribbled slice);
- the walk runs in the region of interest only: the in-plane bounding box of all scribbles plus a
  margin, on every slice; its border is background. This keeps the linear system small (a cine-MRI
  volume: ~0.2 M voxels instead of 0.6 M) and stops structures from leaking into far tissue.

On real cine MRI (acdc-dev, expert scribbles on 3 slices of one volume; ``bench/real.py --protocol
interactive --methods propagate``) the edge sensitivity ``beta = 2000`` scored higher than 150 or 500
(0.80 / 0.76 / 0.79 mean Dice over 10 volumes of the tuning patients).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from ..labels import IGNORE, scribbles_to_target
from .enclosed import enclosed_background

__all__ = ["DEFAULT_BETA", "MAX_ROI_VOXELS", "merge_annotators", "propagate_scribbles"]

#: Edge sensitivity of the walk (skimage's ``beta``, relative to the image's standard deviation).
DEFAULT_BETA = 2000.0

#: Largest region of interest solved at full resolution; bigger ones are solved on a coarser grid.
MAX_ROI_VOXELS = 4_000_000


def merge_annotators(scribbles: Sequence[np.ndarray]) -> np.ndarray:
    """One scribble array from several annotators: voxels two annotators label differently are dropped.

    Parameters
    ----------
    scribbles
        Arrays in the scribble encoding (``0`` not annotated, ``1`` background, ``k + 1`` structure ``k``),
        all of one shape.
    """
    if not scribbles:
        raise DataError("no scribbles to propagate")
    merged = np.asarray(scribbles[0]).copy()
    for s in scribbles[1:]:
        s = np.asarray(s)
        if s.shape != merged.shape:
            raise DataError(f"scribble arrays differ in shape: {merged.shape} and {s.shape}")
        conflict = (merged > 0) & (s > 0) & (merged != s)
        merged = np.where(merged > 0, merged, s)
        merged[conflict] = 0
    return merged


def _normalise(image: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(image, [1.0, 99.0])
    if hi <= lo:
        return np.zeros(image.shape, np.float32)
    return np.clip((image.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)


def propagate_scribbles(
    image: np.ndarray,
    scribbles: np.ndarray | Sequence[np.ndarray],
    n_classes: int,
    *,
    slice_axis: int = 2,
    spacing: Sequence[float] | None = None,
    beta: float = DEFAULT_BETA,
    margin_mm: float = 18.0,
    enclosed: bool = True,
    tol: float = 1e-2,
    max_voxels: int | None = None,
) -> np.ndarray:
    """Class probabilities of every voxel, spread from the scribbles by a 3D random walker.

    Parameters
    ----------
    image
        3D intensities.
    scribbles
        Scribble array(s) in the scribble encoding, shaped like ``image`` (several: one per annotator).
    n_classes
        Number of classes, background included.
    slice_axis
        The axis the user scribbles slices along (the enclosed-background rule works per slice).
    spacing
        Voxel sizes (mm); used for the margin of the region of interest (default 1 mm).
    beta
        Edge sensitivity (:data:`DEFAULT_BETA`).
    margin_mm
        Margin around the scribbles' bounding box, in mm.
    enclosed
        Apply the enclosed-background rule on each scribbled slice.
    tol
        Tolerance of the conjugate-gradient solver.
    max_voxels
        Largest region solved at full resolution (default :data:`MAX_ROI_VOXELS`); a larger one is solved
        on an in-plane grid coarse enough to fit and the probabilities are interpolated back.

    Returns
    -------
    numpy.ndarray
        (n_classes, *image.shape) float32 probabilities; outside the region of interest the background
        has probability 1.

    Raises
    ------
    DataError
        Shapes differ, nothing is scribbled, or fewer than two classes are scribbled (a walk needs the
        background and at least one structure).
    """
    from skimage.segmentation import random_walker

    image = np.asarray(image)
    if image.ndim != 3:
        raise DataError(f"propagation needs a 3D image, got shape {image.shape}")
    merged = merge_annotators([scribbles] if isinstance(scribbles, np.ndarray) else list(scribbles))
    if merged.shape != image.shape:
        raise DataError(f"scribbles have shape {merged.shape}, the image {image.shape}")
    # class indices (IGNORE = not annotated), slice axis last for the per-slice rule
    slice_axis = slice_axis % 3
    target = np.moveaxis(scribbles_to_target(merged).astype(np.int8), slice_axis, -1)
    img = np.moveaxis(_normalise(image), slice_axis, -1)
    if enclosed:
        for z in range(target.shape[-1]):
            if (target[..., z] != IGNORE).any():
                target[..., z] = enclosed_background(target[..., z])
    present = np.unique(target[target != IGNORE])
    if len(present) and present.max() >= n_classes:
        raise DataError(
            f"scribble value {int(present.max()) + 1} is outside the {n_classes} classes "
            f"(values 1..{n_classes}: background and the structures)"
        )
    if len(present) < 2 or 0 not in present:
        raise DataError(
            "propagation needs background scribbles and at least one structure scribble "
            f"(scribbled classes: {', '.join(map(str, present.tolist())) or 'none'})"
        )
    sp = list(spacing) if spacing is not None else [1.0, 1.0, 1.0]
    sp = [float(v) for i, v in enumerate(sp[:3]) if i != slice_axis]  # in-plane spacings
    annotated = (target != IGNORE).any(axis=-1)
    ys, xs = np.nonzero(annotated)
    my, mx = (int(np.ceil(margin_mm / max(s, 1e-6))) for s in sp[:2])
    y0, y1 = max(ys.min() - my, 0), min(ys.max() + my + 1, target.shape[0])
    x0, x1 = max(xs.min() - mx, 0), min(xs.max() + mx + 1, target.shape[1])
    roi_t = target[y0:y1, x0:x1].copy()
    roi_i = img[y0:y1, x0:x1]
    # a coarser in-plane grid for very large regions (memory and time of the solver grow with voxels)
    limit = MAX_ROI_VOXELS if max_voxels is None else max(int(max_voxels), 1)
    step = int(np.ceil(np.sqrt(roi_t.size / limit))) if roi_t.size > limit else 1
    if step > 1:
        roi_t, roi_i = _coarse_seeds(roi_t, step), roi_i[::step, ::step]
    seeds = np.where(roi_t == IGNORE, 0, roi_t.astype(np.int32) + 1)
    # the region's border is background (outside the scribbles' box is far from every structure)
    for sl in ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1)):
        edge = seeds[sl]
        edge[edge == 0] = 1
    with warnings.catch_warnings():
        # the solver's tolerance lets probabilities stray slightly outside [0, 1]: clipped below
        warnings.filterwarnings("ignore", message="The probability range is outside", category=UserWarning)
        probs_roi = random_walker(
            roi_i, seeds, beta=beta, mode="cg_j", tol=tol, return_full_prob=True, channel_axis=None
        ).astype(np.float32)
    probs_roi = np.clip(probs_roi, 0.0, 1.0)
    probs_roi /= np.maximum(probs_roi.sum(axis=0, keepdims=True), 1e-6)
    # random_walker returns one map per seed label present, in label order
    labels_present = np.unique(seeds[seeds > 0]) - 1
    out = np.zeros((n_classes, *target.shape), np.float32)
    out[0] = 1.0
    full = np.zeros((n_classes, *roi_i.shape), np.float32)
    for k, c in enumerate(labels_present):
        full[int(c)] = probs_roi[k]
    if step > 1:
        full = _upsample_linear(_upsample_linear(full, step, 1), step, 2)[:, : y1 - y0, : x1 - x0]
    out[:, y0:y1, x0:x1] = full
    return np.moveaxis(out, -1, slice_axis % 3 + 1)


def _upsample_linear(a: np.ndarray, step: int, axis: int) -> np.ndarray:
    """``a`` linearly interpolated to ``step`` times more samples along ``axis`` (pixel centres aligned).

    Probabilities of a coarse solve repeated back as blocks put the boundary of a thin structure (the
    myocardium: 5-8 pixels) on a staircase; interpolated, the pseudo-labels of the acdc-dev training
    patients (40 volumes) score 0.810 mean Dice instead of 0.800 (MYO 0.771 vs 0.762, RV 0.798 vs 0.784),
    above the full-resolution solve (0.807) at a sixth of its time.
    """
    n = a.shape[axis]
    pos = np.clip((np.arange(n * step) + 0.5) / step - 0.5, 0.0, n - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1] * a.ndim
    shape[axis] = -1
    w = (pos - i0).astype(a.dtype).reshape(shape)
    return a.take(i0, axis=axis) * (1 - w) + a.take(i1, axis=axis) * w


def _coarse_seeds(target: np.ndarray, step: int) -> np.ndarray:
    """Seeds on a grid ``step`` times coarser in-plane: a coarse pixel keeps any scribble inside it."""
    h, w = target.shape[:2]
    hp, wp = -(-h // step) * step, -(-w // step) * step
    pad = np.full((hp, wp, target.shape[2]), IGNORE, target.dtype)
    pad[:h, :w] = target
    blocks = pad.reshape(hp // step, step, wp // step, step, -1).transpose(0, 2, 4, 1, 3)
    blocks = blocks.reshape(*blocks.shape[:3], -1)
    out = np.full(blocks.shape[:3], IGNORE, target.dtype)
    # structures win over background inside a coarse pixel: thin strokes must survive
    for c in sorted({int(v) for v in np.unique(blocks) if v != IGNORE}):
        out[(blocks == c).any(axis=-1)] = c
    return out
