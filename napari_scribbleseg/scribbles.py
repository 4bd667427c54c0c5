"""Scribbles made from dense masks, and their statistics.

The generators follow Valvano et al. (001) Sec. IV-A ("Scribble Generation"):

* **skeleton** -- "standard skeletonisation by iterative identification and removal of border pixels,
  until connectivity is lost" (used there for CHAOS and PPSS). Deterministic, along the object's midline.
* **random-walk** -- used there for LVSC, "since MYO is thin, a skeleton is already too good of an
  approximation of the full mask": start at a random pixel P inside the object and iterate 2500 times
  i) assign P to the scribble, ii) move P by +-1, iii) keep the move only if the new point lies inside
  the mask.
* **paper** -- the mix used for the sample data: skeletons for large structures and random walks for
  thin ones (such as the myocardium ring), see :func:`thin_structures`.

Background is scribbled "approximately around the heart", like the ACDC experts of 001 Sec. IV-A
(whose background scribbles covered 10.4 (8.4) % of the image): a thin, possibly broken band a few
pixels outside the union of the structures, plus a few random-walk strokes further out
(:func:`background_scribble`). It never touches a structure.

All outputs use the scribble encoding of :mod:`napari_scribbleseg.labels`: ``0`` not annotated, ``1``
background, ``k + 1`` structure ``k``. Masks use ``0`` background, ``k`` structure ``k``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from .errors import ConfigError, DataError
from .labels import SCRIBBLE_BACKGROUND, check_label_values, default_class_names
from .registry import Registry

__all__ = [
    "SCRIBBLE_STYLES",
    "RANDOM_WALK_STEPS",
    "background_scribble",
    "paper_scribbles",
    "random_walk_scribbles",
    "scribble_stats",
    "scribbles_from_mask",
    "skeleton_scribbles",
    "thin_structures",
]

RngLike = np.random.Generator | int | None
#: A 2D generator: ``(mask2d, n_classes, rng) -> scribbles2d`` (structures only, no background).
ScribbleFn = Callable[..., np.ndarray]

#: Number of random-walk iterations per object (001 Sec. IV-A).
RANDOM_WALK_STEPS = 2500
#: Defaults of :func:`thin_structures`: mean width (pixels) below which, and elongation from which, the
#: "paper" style treats a structure as thin.
THIN_WIDTH = 8.0
THIN_ELONGATION = 3.0

# The 8 neighbours a walker may step to: each coordinate changes by -1, 0 or +1, not both by 0.
_MOVES = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)], np.int64)

SCRIBBLE_STYLES: Registry[ScribbleFn] = Registry("scribble style")


# ----------------------------------------------------------------------------------------------------
# helpers


def _rng(rng: RngLike) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _scribble_dtype(n_classes: int) -> type[np.unsignedinteger]:
    return np.uint8 if n_classes < 255 else np.uint16


def _check_mask(mask: np.ndarray, n_classes: int, ndim: int, what: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != ndim:
        raise DataError(f"{what}: expected a {ndim}D mask, got shape {arr.shape}")
    if n_classes < 2:
        raise ConfigError(f"n_classes must be >= 2 (background and one structure), got {n_classes}")
    check_label_values(arr, n_classes, kind="mask", source=what)
    return arr.astype(np.int64, copy=False)


def _walk_region(binary: np.ndarray) -> np.ndarray:
    """Where a structure's random walk may go: its middle, away from the border.

    001 Sec. IV-A notes that experts draw scribbles "away from border regions"; a walk over the whole mask
    of a 2-5 pixel ring touches its border everywhere. We keep the walk on the pixels at least 2 pixels
    inside -- our addition to the paper's procedure. On a thin ring those pixels break into specks (a walk
    started on one stays a single pixel), so the margin shrinks (2, sqrt(2), 1, then none) until one
    8-connected piece spans at least half the structure's skeleton; the walk keeps to that piece.
    """
    depth = ndi.distance_transform_edt(binary)
    length = max(int(skeletonize(binary).sum()), 1)
    largest = binary
    for margin in (2.0, np.sqrt(2.0), 1.0, 0.0):
        pieces, n = ndi.label(depth > margin - 1e-6 if margin else binary, structure=np.ones((3, 3), bool))
        if n == 0:
            continue
        largest = pieces == 1 + int(np.argmax(np.bincount(pieces.ravel())[1:]))
        if largest.sum() >= 0.5 * length:
            break
    return largest


def _walk(
    allowed: np.ndarray,
    which: np.ndarray,
    starts: np.ndarray,
    steps: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run many constrained random walks at once (001 Sec. IV-A), one Python loop over the steps.

    Parameters
    ----------
    allowed
        ``(m, H, W)`` bool: the regions walkers may stand on.
    which
        ``(n,)`` index into ``allowed`` of each walker's region.
    starts
        ``(n, 2)`` start pixel (row, column) of each walker; must be allowed.
    steps
        ``(n,)`` number of iterations of each walker.
    rng
        Random generator.

    Returns
    -------
    walker, rows, cols
        Walker index and pixel of every visited point (with repeats).
    """
    n = len(which)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    _, h, w = allowed.shape
    flat = allowed.reshape(-1)
    base = which.astype(np.int64) * (h * w)
    n_steps = int(steps.max())
    moves = _MOVES[rng.integers(0, len(_MOVES), size=(n_steps, n))]  # (T, n, 2)
    rows = np.empty((n_steps, n), np.int64)
    cols = np.empty((n_steps, n), np.int64)
    r = starts[:, 0].astype(np.int64)
    c = starts[:, 1].astype(np.int64)
    for t in range(n_steps):
        rows[t] = r  # i) assign P to the scribble
        cols[t] = c
        nr = r + moves[t, :, 0]  # ii) move by +-1
        nc = c + moves[t, :, 1]
        inside = (nr >= 0) & (nr < h) & (nc >= 0) & (nc < w)
        np.clip(nr, 0, h - 1, out=nr)
        np.clip(nc, 0, w - 1, out=nc)
        ok = inside & flat[base + nr * w + nc]  # iii) keep it only inside the mask
        r = np.where(ok, nr, r)
        c = np.where(ok, nc, c)
    valid = np.arange(n_steps)[:, None] < steps[None, :]
    walker = np.broadcast_to(np.arange(n), (n_steps, n))
    return walker[valid], rows[valid], cols[valid]


def _random_pixel(region: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    idx = np.flatnonzero(region)
    flat = int(idx[rng.integers(len(idx))])
    return divmod(flat, region.shape[1])


def _skeleton(binary: np.ndarray) -> np.ndarray:
    """Skeleton of every connected component of ``binary``; no component is left without a pixel.

    A compact, near-convex component (e.g. the LV blood pool) thins to a point or a stub, far less than
    what a person draws on it: the ACDC experts' LV scribbles cover ~0.1 % of the image (001 Sec. IV-A).
    Where the skeleton is shorter than half the component's diameter we add its midline along the
    principal axis, kept a quarter of the inscribed radius away from the border (experts draw "away from
    border regions"). This is our addition to the thinning procedure.
    """
    skel = skeletonize(binary)
    labels, n = ndi.label(binary, structure=np.ones((3, 3), bool))
    if not n:
        return skel
    dist = ndi.distance_transform_edt(binary)
    for lab in range(1, n + 1):
        comp = labels == lab
        length = int((skel & comp).sum())
        ys, xs = np.nonzero(comp)
        diameter = 2.0 * np.sqrt(len(ys) / np.pi)
        if length >= 0.5 * diameter:
            continue
        if len(ys) >= 3:
            cy, cx = ys.mean(), xs.mean()
            cov = np.cov(np.stack([ys - cy, xs - cx]))
            vy, vx = np.linalg.eigh(cov)[1][:, -1]
            # distance of each pixel to the principal axis through the centroid
            off = np.abs((ys - cy) * vx - (xs - cx) * vy)
            deep = dist[ys, xs] >= 0.25 * dist[ys, xs].max()
            line = (off <= 0.75) & deep
            skel[ys[line], xs[line]] = True
        if not (skel & comp).any():  # keep the deepest pixel of a component the thinning removed
            pos = ndi.maximum_position(dist, labels, index=lab)
            skel[pos] = True
    return skel


# ----------------------------------------------------------------------------------------------------
# 2D generators


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
    mask = _check_mask(mask2d, n_classes, 2, "skeleton_scribbles")
    out = np.zeros(mask.shape, _scribble_dtype(n_classes))
    for k in range(1, n_classes):
        binary = mask == k
        if binary.any():
            out[_skeleton(binary)] = k + 1
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
    mask = _check_mask(mask2d, n_classes, 2, "random_walk_scribbles")
    if steps < 1:
        raise ConfigError(f"steps must be >= 1, got {steps}")
    gen = _rng(rng)
    present = [k for k in range(1, n_classes) if (mask == k).any()]
    out = np.zeros(mask.shape, _scribble_dtype(n_classes))
    if not present:
        return out
    allowed = np.stack([_walk_region(mask == k) for k in present])
    starts = np.array([_random_pixel(a, gen) for a in allowed])
    walker, rows, cols = _walk(allowed, np.arange(len(present)), starts, np.full(len(present), steps), gen)
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
                skel_len = int(_skeleton(binary).sum())
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
    stack = _check_mask(stack, n_classes, 3, "thin_structures")
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
    mask = _check_mask(mask2d, n_classes, 2, "paper_scribbles")
    thin = set(thin_structures(mask, n_classes) if thin_classes is None else thin_classes)
    walk = random_walk_scribbles(np.where(np.isin(mask, list(thin)), mask, 0), n_classes, rng, steps)
    skel = skeleton_scribbles(np.where(np.isin(mask, list(thin)), 0, mask), n_classes)
    return np.maximum(walk, skel)


SCRIBBLE_STYLES.register("skeleton")(skeleton_scribbles)
SCRIBBLE_STYLES.register("random-walk")(random_walk_scribbles)
SCRIBBLE_STYLES.register("paper")(paper_scribbles)


# ----------------------------------------------------------------------------------------------------
# background


def _plan_background(
    mask2d: np.ndarray,
    rng: np.random.Generator,
    *,
    band_distance: tuple[float, float],
    band_width: tuple[float, float],
    n_gaps: tuple[int, int],
    n_strokes: tuple[int, int],
    stroke_steps: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The band of a background scribble, and where its random-walk strokes start and may go."""
    structures = mask2d > 0
    h, w = mask2d.shape
    if structures.any():
        dist = ndi.distance_transform_edt(~structures)
        allowed = dist >= 2.0  # never on, nor 8-adjacent to, a structure
        rows, cols = np.nonzero(structures)
        theta = np.arctan2(np.arange(h)[:, None] - rows.mean(), np.arange(w)[None, :] - cols.mean())
        r0 = rng.uniform(*band_distance)
        wobble = np.zeros((h, w))
        for k in (1, 2, 3):  # a hand-drawn, not quite parallel, contour
            wobble += rng.uniform(0.0, 0.2 * r0) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
        inner = np.maximum(r0 + wobble, 2.0)
        width = rng.uniform(*band_width)
        band = (dist >= inner) & (dist < inner + width)
        for _ in range(int(rng.integers(n_gaps[0], n_gaps[1] + 1))):  # the pen lifted here and there
            centre, half = rng.uniform(-np.pi, np.pi), np.deg2rad(rng.uniform(8.0, 30.0))
            band &= np.abs(np.angle(np.exp(1j * (theta - centre)))) > half
        outer = r0 + width
        # strokes start anywhere beyond the band: experts also mark far background (001 Sec. IV-A reports
        # 10.4 (8.4) % background coverage on ACDC, far more than a thin ring around the heart)
        start_zone = allowed & (dist >= outer + 3.0)
        if not start_zone.any():
            start_zone = allowed
    else:
        allowed = np.ones((h, w), bool)
        band = np.zeros((h, w), bool)
        start_zone = allowed
    n = int(rng.integers(n_strokes[0], n_strokes[1] + 1)) if start_zone.any() else 0
    starts = np.array([_random_pixel(start_zone, rng) for _ in range(n)], np.int64).reshape(n, 2)
    steps = rng.integers(stroke_steps[0], stroke_steps[1] + 1, size=n)
    return band & allowed, allowed, starts, steps


# Keep in step with the defaults of background_scribble (scribbles_from_mask plans background in batches).
_BACKGROUND_DEFAULTS: dict[str, Any] = {
    "band_distance": (3.0, 10.0),
    "band_width": (1.0, 2.5),
    "n_gaps": (0, 2),
    "n_strokes": (3, 6),
    "stroke_steps": (600, 2000),
}


def background_scribble(
    mask2d: np.ndarray,
    rng: RngLike = None,
    *,
    band_distance: tuple[float, float] = (3.0, 10.0),
    band_width: tuple[float, float] = (1.0, 2.5),
    n_gaps: tuple[int, int] = (0, 2),
    n_strokes: tuple[int, int] = (3, 6),
    stroke_steps: tuple[int, int] = (600, 2000),
) -> np.ndarray:
    """A background scribble drawn "approximately around the heart" (Valvano et al. (001) Sec. IV-A).

    The ACDC experts of 001 drew one scribble around the heart for the background (covering 10.4 (8.4) %
    of the image). This imitates it with a thin band at a random distance outside the union of the
    structures -- its distance wobbles with the angle and the band may be broken by a few gaps -- plus a
    few random-walk strokes that start further out. No pixel of it is on, or 8-adjacent to, a structure.
    A slice without any structure gets strokes only.

    Parameters
    ----------
    mask2d
        ``(H, W)`` mask, ``0`` background, ``k > 0`` structures.
    rng
        Random generator or seed.
    band_distance
        Range of the band's distance from the structures (pixels).
    band_width
        Range of the band's width (pixels).
    n_gaps
        Range of the number of gaps in the band.
    n_strokes
        Range of the number of extra random-walk strokes.
    stroke_steps
        Range of the random-walk iterations of a stroke.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool, True on the background scribble.
    """
    mask = np.asarray(mask2d)
    if mask.ndim != 2:
        raise DataError(f"background_scribble: expected a 2D mask, got shape {mask.shape}")
    gen = _rng(rng)
    band, allowed, starts, steps = _plan_background(
        mask,
        gen,
        band_distance=band_distance,
        band_width=band_width,
        n_gaps=n_gaps,
        n_strokes=n_strokes,
        stroke_steps=stroke_steps,
    )
    _, rows, cols = _walk(allowed[None], np.zeros(len(starts), np.int64), starts, steps, gen)
    band[rows, cols] = True
    return band


# ----------------------------------------------------------------------------------------------------
# volumes


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
    stack = _check_mask(np.moveaxis(mask, slice_axis, 0), n_classes, 3, "scribbles_from_mask")
    gen = _rng(rng)
    chosen = _select_slices(stack, slices)

    if style == "skeleton":
        walk_classes: set[int] = set()
    elif style == "random-walk":
        walk_classes = set(range(1, n_classes))
    elif thin_classes is not None:
        walk_classes = {int(k) for k in thin_classes}
    else:
        walk_classes = set(thin_structures(stack[chosen], n_classes, slice_axis=0)) if chosen else set()

    out = np.zeros(stack.shape, _scribble_dtype(n_classes))
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
                binary = _walk_region(binary)
                which.append(np.array([len(regions)]))
                regions.append(binary)
                owner.append((i, k + 1))
                starts.append(np.array([_random_pixel(binary, gen)]))
                n_steps.append(np.array([steps]))
            else:
                out[i][_skeleton(binary)] = k + 1
        if background:
            band, allowed, bg_starts, bg_steps = _plan_background(sl, gen, **_BACKGROUND_DEFAULTS)
            out[i][band] = SCRIBBLE_BACKGROUND
            which.append(np.full(len(bg_starts), len(regions)))
            regions.append(allowed)
            owner.append((i, SCRIBBLE_BACKGROUND))
            starts.append(bg_starts)
            n_steps.append(bg_steps)
    if regions:
        walker_region = np.concatenate(which).astype(np.int64)
        walker, rows, cols = _walk(
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


def scribble_stats(
    scribbles: np.ndarray,
    n_classes: int,
    *,
    class_names: Sequence[str] | None = None,
    slice_axis: int | None = None,
) -> dict[str, Any]:
    """Coverage of scribbles per class, as reported in Valvano et al. (001) Sec. IV-A.

    Parameters
    ----------
    scribbles
        Scribbles (any shape), ``0`` not annotated, ``1`` background, ``k + 1`` structure ``k``.
    n_classes
        Number of classes including background.
    class_names
        Keys of the per-class entries; default ``("background", "structure1", ...)``.
    slice_axis
        For a volume: also report the mean and standard deviation of the per-slice coverage over the
        annotated slices (the paper's "average (standard deviation) image coverage").

    Returns
    -------
    dict
        ``"coverage_percent"``: {class name: % of all pixels}; ``"pixels"``: {class name: count};
        ``"annotated_percent"``: % of annotated pixels; ``"annotated_slices"`` and
        ``"slice_coverage_percent"``: {class name: [mean, std]} when ``slice_axis`` is given.
    """
    arr = np.asarray(scribbles)
    check_label_values(arr, n_classes, kind="scribbles", source="scribble_stats", require_annotation=False)
    names = tuple(class_names) if class_names is not None else default_class_names(n_classes)
    if len(names) != n_classes:
        raise ConfigError(f"got {len(names)} class names for {n_classes} classes: {names!r}")
    counts = np.bincount(arr.reshape(-1).astype(np.int64), minlength=n_classes + 1)
    total = max(arr.size, 1)
    stats: dict[str, Any] = {
        "pixels": {names[k]: int(counts[k + 1]) for k in range(n_classes)},
        "coverage_percent": {names[k]: 100.0 * counts[k + 1] / total for k in range(n_classes)},
        "annotated_percent": 100.0 * (total - counts[0]) / total,
    }
    if slice_axis is not None:
        stack = np.moveaxis(arr, slice_axis, 0).reshape(arr.shape[slice_axis], -1)
        annotated = stack[(stack > 0).any(axis=1)]
        stats["annotated_slices"] = len(annotated)
        per_slice: dict[str, list[float]] = {}
        for k in range(n_classes):
            cov = 100.0 * (annotated == k + 1).mean(axis=1) if len(annotated) else np.zeros(1)
            per_slice[names[k]] = [float(cov.mean()), float(cov.std())]
        stats["slice_coverage_percent"] = per_slice
    return stats
