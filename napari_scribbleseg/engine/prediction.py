"""What Predict runs in the viewer's worker: masks, uncertainty, attention and the slices to scribble next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SUGGESTIONS", "PredictItem", "PredictResult", "predict_items"]

#: How many slices a prediction suggests scribbling next.
SUGGESTIONS = 5


@dataclass
class PredictItem:
    """One volume to predict: its name, a file-order float32 copy, the spacing and its scribbles.

    ``scribbles`` (file order, scribble encoding, optional): combined with the network's answer
    (:func:`~napari_scribbleseg.inference.fusion.fuse_with_scribbles`).
    """

    name: str
    image: np.ndarray
    spacing: tuple[float, float, float]
    scribbles: np.ndarray | None = None


@dataclass
class PredictResult:
    """Prediction of one volume, file order: the post-processed mask and optional extras."""

    name: str
    mask: np.ndarray
    uncertainty: np.ndarray | None
    attention: dict[str, np.ndarray]
    class_names: tuple[str, ...]
    #: slices worth scribbling next, best first: (file index along the slice axis, score 0..1)
    suggestions: list[tuple[int, float]] = field(default_factory=list)


def predict_items(
    predictor: Any,
    items: Sequence[PredictItem],
    uncertainty: bool,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[PredictResult]:
    """Predict whole volumes with ``predictor``; ``progress(name, done, total)`` may be called.

    Masks come from :meth:`~napari_scribbleseg.inference.Predictor.segment_with_attention`: the forward
    pass and post-processing of ``scribbleseg predict``, so the GUI and the CLI give the same mask for the
    same model and volume. Each result also ranks the volume's slices to scribble next
    (:func:`~napari_scribbleseg.inference.suggest.rank_slices`) along the viewer's slider axis.
    """
    from ..data.slices import choose_slice_axis
    from ..inference import entropy
    from ..inference.suggest import rank_slices

    results = []
    for item in items:
        cb = (lambda done, total, _n=item.name: progress(_n, done, total)) if progress else None
        mask, probs, att = predictor.segment_with_attention(
            item.image, item.spacing, progress=cb, source=item.name, scribbles=item.scribbles
        )
        unc = entropy(probs) if uncertainty else None
        axis = choose_slice_axis(item.spacing)  # the viewer's slider axis (see _napari.geometry)
        ranked = rank_slices(probs, axis, scribbles=item.scribbles, top=SUGGESTIONS)
        suggestions = [(r.slice_index, r.score) for r in ranked]
        names = tuple(predictor.class_names)
        results.append(PredictResult(item.name, mask, unc, att, names, suggestions))
    return results
