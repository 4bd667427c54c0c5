"""Scribbles of one 2D mask slice, by style (Valvano et al. (001) Sec. IV-A "Scribble Generation").

* **skeleton** -- "standard skeletonisation by iterative identification and removal of border pixels,
  until connectivity is lost" (used there for CHAOS and PPSS). Deterministic, along the object's midline.
* **random-walk** -- used there for LVSC, "since MYO is thin, a skeleton is already too good of an
  approximation of the full mask": start at a random pixel P inside the object and iterate 2500 times
  i) assign P to the scribble, ii) move P by +-1, iii) keep the move only if the new point lies inside
  the mask.
* **paper** -- the mix used for the sample data: skeletons for large structures and random walks for
  thin ones (such as the myocardium ring), see :func:`thin_structures`.

The styles are registered in :data:`SCRIBBLE_STYLES`. Background is scribbled separately
(:mod:`.background`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import Registry
from .strokes import (
    RANDOM_WALK_STEPS,
    RngLike,
    as_rng,
    check_mask,
    random_pixel,
    scribble_dtype,
    skeleton,
    walk,
    walk_region,
)

__all__ = [
    "SCRIBBLE_STYLES",
    "THIN_ELONGATION",
    "THIN_WIDTH",
    "paper_scribbles",
    "random_walk_scribbles",
    "skeleton_scribbles",
    "thin_structures",
]

#: A 2D generator: ``(mask2d, n_classes, rng) -> scribbles2d`` (structures only, no background).
ScribbleFn = Callable[..., np.ndarray]

#: Defaults of :func:`thin_structures`: mean width (pixels) below which, and elongation from which, the
#: "paper" style treats a structure as thin.
THIN_WIDTH = 8.0
THIN_ELONGATION = 3.0

SCRIBBLE_STYLES: Registry[ScribbleFn] = Registry("scribble style")


def skeleton_scribbles(mask2d: np.ndarray, n_classes: int, rng: RngLike = None) -> np.ndarray:
    """Scribbles along the skeleton of every structure (Valvano et al. (001) Sec. IV-A).

    Each structure's connected components are thinned by iterative removal of border pixels until
    connectivity would be lost (:func:`skimage.morphology.skeletonize`); the scribbles fall along the
    objects' midlines. Background is not scribbled (see :func:`background_scribble`).

    Parameters
    ----------
    mask2d
        ``(H, W)`` mask, ``0`` background, ``k`` structure ``k``.
    n_classes
        Number of classes including background.
    rng
        Unused (the procedure is deterministic); accepted so that every style has the same signature.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` scribbles (``k + 1`` on the skeleton of structure ``k``, ``0`` elsewhere).
    """
    mask = check_mask(mask2d, n_classes, 2, "skeleton_scribbles")
    out = np.zeros(mask.shape, scribble_dtype(n_classes))
    for k in range(1, n_classes):
        binary = mask == k
        if binary.any():
            out[skeleton(binary)] = k + 1
    return out


def random_walk_scribbles(
    mask2d: np.ndarray, n_classes: int, rng: RngLike = None, steps: int = RANDOM_WALK_STEPS
) -> np.ndarray:
    """Random-walk scribbles inside every structure (Valvano et al. (001) Sec. IV-A).

    For each structure: start at a pixel drawn uniformly inside it, then ``steps`` times i) add the
    point to the scribble, ii) move to one of the 8 neighbours (each coordinate changes by -1, 0 or +1),
    iii) keep the move only if the new point belongs to the structure. All visited points are
    scribbled, so the scribble never leaves the structure (nor the component it started in).

    Parameters
    ----------
    mask2d
        ``(H, W)`` mask, ``0`` background, ``k`` structure ``k``.
    n_classes
        Number of classes including background.
    rng
        Random generator or seed.
    steps
        Iterations per structure (2500 in the paper).

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` scribbles (``k + 1`` where the walk of structure ``k`` went, ``0`` elsewhere).
    """
    mask = check_mask(mask2d, n_classes, 2, "random_walk_scribbles")
    if steps < 1:
        raise ConfigError(f"steps must be >= 1, got {steps}")
    gen = as_rng(rng)
    present = [k for k in range(1, n_classes) if (mask == k).any()]
    out = np.zeros(mask.shape, scribble_dtype(n_classes))
    if not present:
        return out
    allowed = np.stack([walk_region(mask == k) for k in present])
    starts = np.array([random_pixel(a, gen) for a in allowed])
    walker, rows, cols = walk(allowed, np.arange(len(present)), starts, np.full(len(present), steps), gen)
    out[rows, cols] = (np.asarray(present) + 1)[walker]
    return out


def _structure_shape(mask: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean width and elongation per class over the slices of ``(n, H, W)`` (0 for absent classes).

    Width = area / skeleton length (summed over slices); elongation = skeleton length / sqrt(area) per
    slice, averaged with the areas as weights.
    """
    area = np.zeros(n_classes)
    length = np.zeros(n_classes)
    elong = np.zeros(n_classes)
    for sl in mask:
        for k in range(1, n_classes):
            binary = sl == k
            a = int(binary.sum())
            if a:
                skel_len = int(skeleton(binary).sum())
                area[k] += a
                length[k] += skel_len
                elong[k] += a * skel_len / np.sqrt(a)
    present = area > 0
    width = np.where(present, area / np.maximum(length, 1), 0.0)
    elongation = np.where(present, elong / np.maximum(area, 1), 0.0)
    return width, elongation


def thin_structures(
    mask: np.ndarray,
    n_classes: int,
    *,
    slice_axis: int | None = None,
    max_width: float = THIN_WIDTH,
    min_elongation: float = THIN_ELONGATION,
) -> tuple[int, ...]:
    """Structures thin enough that a skeleton would be "too good of an approximation" (001 Sec. IV-A).

    Two shape measures, from each slice's skeleton (:func:`skeleton_scribbles`):

    * mean width = area / skeleton length (summed over slices): a band of thickness ``t`` has width
      ``t``; a disc has a width of the order of its area;
    * elongation = skeleton length / sqrt(area) (area-weighted mean over slices): ``sqrt(2 pi R / t)``,
      about 4-6, for a myocardium ring of radius ``R`` and thickness ``t``; about 2-3 for an RV crescent;
      below 0.5 for a roughly elliptical LV cavity.

    A structure is thin when its width is below ``max_width`` pixels and its elongation at least
    ``min_elongation``: then its skeleton covers most of it, and the "paper" style gives it a random
    walk instead, as Valvano et al. did for the myocardium of LVSC.

    Parameters
    ----------
    mask
        ``(H, W)`` mask or a volume of masks.
    n_classes
        Number of classes including background.
    slice_axis
        For a volume: the axis of the 2D slices.
    max_width
        Width (pixels) below which a structure may count as thin.
    min_elongation
        Elongation from which a structure may count as thin.

    Returns
    -------
    tuple of int
        The thin structures (mask encoding), present ones only.
    """
    arr = np.asarray(mask)
    if arr.ndim == 2:
        stack = arr[None]
    elif arr.ndim == 3:
        if slice_axis is None:
            raise ConfigError("thin_structures: give slice_axis for a 3D mask")
        stack = np.moveaxis(arr, slice_axis, 0)
    else:
        raise DataError(f"thin_structures: expected a 2D or 3D mask, got shape {arr.shape}")
    stack = check_mask(stack, n_classes, 3, "thin_structures")
    width, elongation = _structure_shape(stack, n_classes)
    return tuple(
        k for k in range(1, n_classes) if 0 < width[k] < max_width and elongation[k] >= min_elongation
    )


def paper_scribbles(
    mask2d: np.ndarray,
    n_classes: int,
    rng: RngLike = None,
    *,
    thin_classes: Sequence[int] | None = None,
    steps: int = RANDOM_WALK_STEPS,
) -> np.ndarray:
    """Skeletons for large structures, random walks for thin ones (Valvano et al. (001) Sec. IV-A).

    Parameters
    ----------
    mask2d
        ``(H, W)`` mask, ``0`` background, ``k`` structure ``k``.
    n_classes
        Number of classes including background.
    rng
        Random generator or seed.
    thin_classes
        Structures (mask encoding) that get a random walk; default: :func:`thin_structures` of this
        slice.
    steps
        Random-walk iterations.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` scribbles without background.
    """
    mask = check_mask(mask2d, n_classes, 2, "paper_scribbles")
    thin = set(thin_structures(mask, n_classes) if thin_classes is None else thin_classes)
    walked = random_walk_scribbles(np.where(np.isin(mask, list(thin)), mask, 0), n_classes, rng, steps)
    skel = skeleton_scribbles(np.where(np.isin(mask, list(thin)), 0, mask), n_classes)
    return np.maximum(walked, skel)


SCRIBBLE_STYLES.register("skeleton")(skeleton_scribbles)
SCRIBBLE_STYLES.register("random-walk")(random_walk_scribbles)
SCRIBBLE_STYLES.register("paper")(paper_scribbles)
