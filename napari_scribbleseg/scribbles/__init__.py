"""Scribbles made from dense masks, and their statistics.

The generators follow Valvano et al. (001) Sec. IV-A ("Scribble Generation"): skeletons, constrained
random walks, or the "paper" mix of both (:mod:`.generate`), a background scribble around the structures
(:mod:`.background`), whole volumes slice by slice (:mod:`.volume`), and coverage statistics
(:mod:`.stats`). The strokes themselves are drawn by :mod:`.strokes`.

All outputs use the scribble encoding of :mod:`napari_scribbleseg.labels`: ``0`` not annotated, ``1``
background, ``k + 1`` structure ``k``. Masks use ``0`` background, ``k`` structure ``k``.
"""

from .background import background_scribble
from .generate import (
    SCRIBBLE_STYLES,
    THIN_ELONGATION,
    THIN_WIDTH,
    paper_scribbles,
    random_walk_scribbles,
    skeleton_scribbles,
    thin_structures,
)
from .stats import scribble_stats
from .strokes import RANDOM_WALK_STEPS
from .volume import scribbles_from_mask

__all__ = [
    "RANDOM_WALK_STEPS",
    "SCRIBBLE_STYLES",
    "THIN_ELONGATION",
    "THIN_WIDTH",
    "background_scribble",
    "paper_scribbles",
    "random_walk_scribbles",
    "scribble_stats",
    "scribbles_from_mask",
    "skeleton_scribbles",
    "thin_structures",
]
