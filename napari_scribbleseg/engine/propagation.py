"""What the widget's Propagate does: each annotated volume's scribbles spread by the 3D random walker."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..data.dataset import Case
from ..data.slices import choose_slice_axis
from ..errors import DataError
from ..inference.postprocess import probabilities_to_mask
from ..scribbles.propagate import merge_annotators, propagate_scribbles
from .prediction import PredictResult


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
        axis = choose_slice_axis(case.spacing, slice_axis)
        try:
            probs = propagate_scribbles(
                case.image, case.scribbles, len(class_names), slice_axis=axis, spacing=case.spacing
            )
            locked = merge_annotators(case.scribbles) > 0
        except DataError as exc:
            raise DataError(f"{case.name}: {exc}") from None
        mask = probabilities_to_mask(probs, keep_largest, convex, axis, locked)
        results.append(PredictResult(case.name, mask, None, {}, tuple(class_names)))
        if progress is not None:
            progress(case.name, i + 1, len(cases))
    return results
