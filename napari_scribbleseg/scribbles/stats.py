"""How much of an image scribbles cover, per class (as reported in Valvano et al. (001) Sec. IV-A)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..labels import check_label_values, default_class_names

__all__ = ["scribble_stats"]


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
