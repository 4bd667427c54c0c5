"""The background scribble drawn around the structures: what lies outside it is background too."""

from __future__ import annotations

import numpy as np

from ..labels import IGNORE

__all__ = ["enclosed_background"]


def enclosed_background(target: np.ndarray, n_bins: int = 72, min_coverage: float = 0.6) -> np.ndarray:
    """Label as background what lies outside a background scribble drawn around the structures.

    Annotators scribble background "approximately around the heart, while leaving the rest of the
    pixels unlabeled" (001 Sec. IV-A): the rest is background they did not bother to mark, as outside
    a GrabCut lasso. With scribbles on a few slices only, a network that never sees that far tissue
    labelled happily calls it a structure. This deviates from the papers, which leave those pixels
    unlabeled; ``PreprocessConfig.enclosed_background`` turns it off.

    In polar coordinates around the centroid of the structure scribbles, each of ``n_bins`` angular
    sectors takes the nearest background-scribble radius beyond the structure scribbles of that sector
    (and its neighbours). Sectors without one (gaps in the ring), or whose nearest one lies far beyond
    the ring's median radius (a far stroke seen through a gap), are interpolated from their neighbours.
    Pixels beyond that radius become background -- a random subset of them, as many as the pixels drawn
    on the slice, so that they do not outweigh the user's scribbles. Nothing changes unless background
    lies beyond the structures in at least ``min_coverage`` of the directions, and nothing changes if a
    structure scribble lies outside the ring (then the background scribble does not enclose it).

    Parameters
    ----------
    target
        One slice of training targets: class indices, ``0`` background, ``IGNORE`` not annotated, at
        isotropic in-plane spacing.
    n_bins
        Number of angular sectors.
    min_coverage
        Fraction of sectors that must hold background beyond the structures.

    Returns
    -------
    numpy.ndarray
        ``target`` with (a subset of) the pixels outside set to ``0`` (a copy when anything changes).
    """
    fg = target > 0
    bg = target == 0
    if not fg.any() or not bg.any():
        return target
    h, w = target.shape
    ys, xs = np.nonzero(fg)
    cy, cx = ys.mean(), xs.mean()
    yy, xx = np.mgrid[0:h, 0:w]
    radius = np.hypot(yy - cy, xx - cx)
    angle = np.arctan2(yy - cy, xx - cx)
    sector = ((angle + np.pi) / (2 * np.pi) * n_bins).astype(np.int64) % n_bins
    r_fg = np.zeros(n_bins)
    np.maximum.at(r_fg, sector[fg], radius[fg])
    # a structure spans neighbouring sectors too: background inside that span is not "around" it
    r_fg = np.max([np.roll(r_fg, k) for k in (-2, -1, 0, 1, 2)], axis=0)
    beyond = bg & (radius > r_fg[sector])
    r_ring = np.full(n_bins, np.inf)
    np.minimum.at(r_ring, sector[beyond], radius[beyond])
    known = np.isfinite(r_ring)
    if known.mean() < min_coverage:
        return target
    # in a gap of the ring, the nearest background may be a far stroke: bridge the gap instead of
    # opening a channel out to that stroke
    known &= r_ring <= 1.5 * np.median(r_ring[known]) + 2.0
    centres = (np.arange(n_bins) + 0.5) / n_bins * 2 * np.pi - np.pi
    limit = np.interp(angle, centres[known], r_ring[known], period=2 * np.pi)
    outside = radius > limit + 1.0
    if (fg & outside).any():
        return target
    implied = outside & (target == IGNORE)
    n_drawn = int((target != IGNORE).sum())
    if implied.sum() > n_drawn:
        # sparse, spread-out dots: as many as were drawn, so the user's own scribbles keep their weight
        # in losses averaged over annotated pixels (all of it drowned the structure scribbles)
        rng = np.random.default_rng(n_drawn)
        implied &= rng.random(implied.shape) < n_drawn / implied.sum()
    out = target.copy()
    out[implied] = 0
    return out
