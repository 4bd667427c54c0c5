"""What the widget's Propagate does: each annotated volume's scribbles spread by the 3D random walker."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..data.dataset import Case
from ..data.slices import choose_slice_axis
from ..errors import DataError
from ..inference.postprocess import probabilities_to_mask
from ..scribbles.propagate import DEFAULT_BETA, merge_annotators, propagate_scribbles
from .prediction import PredictResult


def propagated_mask(
    image: np.ndarray,
    scribbles: Sequence[np.ndarray],
    n_classes: int,
    spacing: Sequence[float],
    *,
    slice_axis: int | None = None,
    keep_largest: bool = True,
    convex: Sequence[int] = (),
    beta: float = DEFAULT_BETA,
) -> np.ndarray:
    """One volume's mask from its scribbles alone (one array per annotator), post-processed as predictions.

    The ``convex`` structures are filled to their convex hull per slice, the scribbled voxels excepted.
    Shared by ``scribbleseg propagate`` and the widget's Propagate.

    Raises
    ------
    DataError
        See :func:`~napari_scribbleseg.scribbles.propagate.propagate_scribbles`.
    """
    axis = choose_slice_axis(spacing, slice_axis)
    probs = propagate_scribbles(image, scribbles, n_classes, slice_axis=axis, spacing=spacing, beta=beta)
    return probabilities_to_mask(probs, keep_largest, convex, axis, merge_annotators(scribbles) > 0)


def propagate_cases(
    cases: Sequence[Case],
    class_names: Sequence[str],
    *,
    slice_axis: int | None = None,
    keep_largest: bool = True,
    convex: Sequence[int] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> list[PredictResult]:
    """Masks of ``cases`` from their scribbles alone, with the post-processing of predictions.

    Runs in a worker thread (no Qt); ``progress(name, done, total)`` is called after each volume. The
    ``convex`` structures are filled to their convex hull per slice, the scribbled voxels excepted.

    Raises
    ------
    DataError
        A case without scribbles, or without background and structure scribbles (names the case).
    """
    results = []
    for i, case in enumerate(cases):
        if not case.scribbles:
            raise DataError(f"{case.name}: no scribbles to propagate")
        post = {"slice_axis": slice_axis, "keep_largest": keep_largest, "convex": convex}
        try:
            mask = propagated_mask(case.image, case.scribbles, len(class_names), case.spacing, **post)
        except DataError as exc:
            raise DataError(f"{case.name}: {exc}") from None
        results.append(PredictResult(case.name, mask, None, {}, tuple(class_names)))
        if progress is not None:
            progress(case.name, i + 1, len(cases))
    return results
