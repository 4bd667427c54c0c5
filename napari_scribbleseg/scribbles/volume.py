"""Scribbles for a whole volume from its dense mask, slice by slice (Valvano et al. (001) Sec. IV-A).

Every walker of the volume (random-walk structures and background strokes of all chosen slices) runs in
one batched :func:`~.strokes.walk`, so a volume costs one Python loop over the walk's steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..labels import SCRIBBLE_BACKGROUND
from .background import BACKGROUND_DEFAULTS, plan_background
from .generate import SCRIBBLE_STYLES, thin_structures
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

__all__ = ["scribbles_from_mask"]


def _select_slices(stack: np.ndarray, slices: str | int | Sequence[int]) -> list[int]:
    n = len(stack)
    bearing = [i for i in range(n) if stack[i].any()]
    if isinstance(slices, str):
        if slices != "all":
            raise ConfigError(f"slices must be 'all', a number or a list of slice indices, got {slices!r}")
        return list(range(n))
    if isinstance(slices, (int, np.integer)):
        if slices < 1:
            raise ConfigError(f"the number of scribbled slices must be >= 1, got {slices}")
        if slices >= len(bearing):
            return bearing
        # spread over the structure-bearing slices, away from the extreme ones
        pos = (np.arange(slices) + 0.5) * len(bearing) / slices
        return sorted({bearing[int(p)] for p in pos})
    chosen = sorted({int(i) for i in slices})
    bad = [i for i in chosen if not -n <= i < n]
    if bad:
        raise ConfigError(f"slice indices {bad} out of range for {n} slices")
    return sorted({i % n for i in chosen})


def scribbles_from_mask(
    mask3d: np.ndarray,
    n_classes: int,
    *,
    slice_axis: int,
    style: str = "paper",
    rng: RngLike = None,
    slices: str | int | Sequence[int] = "all",
    background: bool = True,
    thin_classes: Sequence[int] | None = None,
    steps: int = RANDOM_WALK_STEPS,
) -> np.ndarray:
    """Scribble a volume slice by slice from its dense mask (Valvano et al. (001) Sec. IV-A).

    Parameters
    ----------
    mask3d
        3D mask, ``0`` background, ``k`` structure ``k``.
    n_classes
        Number of classes including background.
    slice_axis
        Axis of the 2D slices (the methods are 2D, DESIGN.md Sec. 2).
    style
        ``"skeleton"``, ``"random-walk"`` or ``"paper"`` (:data:`SCRIBBLE_STYLES`). ``"paper"`` gives
        random walks to thin structures and skeletons to the others.
    rng
        Random generator or seed.
    slices
        ``"all"``: every slice (slices without structures get a background scribble only); an ``int``
        ``n``: ``n`` slices spread over the structure-bearing ones (the others stay unannotated); a
        sequence of indices: those slices.
    background
        Add a background scribble (:func:`background_scribble`) to the scribbled slices.
    thin_classes
        For ``"paper"``: structures that get random walks; default :func:`thin_structures` over the
        scribbled slices of the volume (so one structure gets one kind of scribble in every slice).
    steps
        Random-walk iterations per structure and slice (2500 in the paper).

    Returns
    -------
    numpy.ndarray
        Scribbles with the shape of ``mask3d`` (uint8), ``0`` not annotated, ``1`` background,
        ``k + 1`` structure ``k``.

    Raises
    ------
    ConfigError
        Unknown style (with a "did you mean"), bad ``slices``, ``slice_axis`` or ``steps``.
    DataError
        A mask that is not 3D or breaks the label encoding.
    """
    SCRIBBLE_STYLES.get(style)  # fails with the valid names
    mask = np.asarray(mask3d)
    if mask.ndim != 3:
        raise DataError(f"scribbles_from_mask: expected a 3D mask, got shape {mask.shape}")
    if not -3 <= slice_axis < 3:
        raise ConfigError(f"slice_axis must be 0, 1 or 2 for a 3D mask, got {slice_axis}")
    if steps < 1:
        raise ConfigError(f"steps must be >= 1, got {steps}")
    stack = check_mask(np.moveaxis(mask, slice_axis, 0), n_classes, 3, "scribbles_from_mask")
    gen = as_rng(rng)
    chosen = _select_slices(stack, slices)

    if style == "skeleton":
        walk_classes: set[int] = set()
    elif style == "random-walk":
        walk_classes = set(range(1, n_classes))
    elif thin_classes is not None:
        walk_classes = {int(k) for k in thin_classes}
    else:
        walk_classes = set(thin_structures(stack[chosen], n_classes, slice_axis=0)) if chosen else set()

    out = np.zeros(stack.shape, scribble_dtype(n_classes))
    # Every walker of the volume (structures and background strokes) runs in one batch.
    regions: list[np.ndarray] = []
    which: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    n_steps: list[np.ndarray] = []
    owner: list[tuple[int, int]] = []  # (slice, scribble value) per region
    for i in chosen:
        sl = stack[i]
        for k in range(1, n_classes):
            binary = sl == k
            if not binary.any():
                continue
            if k in walk_classes:
                binary = walk_region(binary)
                which.append(np.array([len(regions)]))
                regions.append(binary)
                owner.append((i, k + 1))
                starts.append(np.array([random_pixel(binary, gen)]))
                n_steps.append(np.array([steps]))
            else:
                out[i][skeleton(binary)] = k + 1
        if background:
            band, allowed, bg_starts, bg_steps = plan_background(sl, gen, **BACKGROUND_DEFAULTS)
            out[i][band] = SCRIBBLE_BACKGROUND
            which.append(np.full(len(bg_starts), len(regions)))
            regions.append(allowed)
            owner.append((i, SCRIBBLE_BACKGROUND))
            starts.append(bg_starts)
            n_steps.append(bg_steps)
    if regions:
        walker_region = np.concatenate(which).astype(np.int64)
        walker, rows, cols = walk(
            np.stack(regions),
            walker_region,
            np.concatenate(starts).reshape(-1, 2),
            np.concatenate(n_steps).astype(np.int64),
            gen,
        )
        region = walker_region[walker]
        slice_of = np.array([o[0] for o in owner], np.int64)[region]
        value = np.array([o[1] for o in owner], np.int64)[region]
        out[slice_of, rows, cols] = value
    return np.moveaxis(out, 0, slice_axis)
