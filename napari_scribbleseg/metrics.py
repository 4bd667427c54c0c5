"""Segmentation quality: Dice and HD95 per class, per case and on average (DESIGN.md Sec. 5).

All functions take masks in the mask encoding (``0`` = background, ``k`` = structure ``k``, see
:mod:`napari_scribbleseg.labels`) and report the structures ``1..K`` only, as in the papers (e.g. Valvano et
al., Sec. IV-C report Dice and HD on RV, MYO and LV).

Conventions for a structure that is missing:

============================  ======  =======
structure present in          Dice    HD95
============================  ======  =======
both prediction and truth     value   value
neither                       1.0     0.0
only one of them              0.0     NaN
============================  ======  =======

Averages of HD95 ignore NaN (``nanmean``); the Dice of 0.0 already penalises a missed structure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from . import io
from .errors import DataError, LabelError

__all__ = [
    "confusion_matrix",
    "dice_per_class",
    "evaluate_pairs",
    "format_table",
    "hd95_per_class",
    "result_to_json",
    "surface_distances",
]

_SURFACE_STRUCTURE_CACHE: dict[int, np.ndarray] = {}


def _check_pair(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred)
    truth = np.asarray(truth)
    if pred.shape != truth.shape:
        raise DataError(f"prediction shape {pred.shape} differs from ground-truth shape {truth.shape}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2 (background and one structure), got {n_classes}")
    for name, arr in (("prediction", pred), ("ground truth", truth)):
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= n_classes):
            raise LabelError(
                f"{name} values span {int(arr.min())}..{int(arr.max())}, outside the mask encoding "
                f"0..{n_classes - 1} for {n_classes} classes"
            )
    return pred, truth


def confusion_matrix(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> np.ndarray:
    """Voxel counts (n_classes, n_classes), int64: row = true class, column = predicted class.

    Raises
    ------
    DataError
        If the shapes differ.
    LabelError
        If a value is outside ``0..n_classes - 1``.
    """
    pred, truth = _check_pair(pred, truth, n_classes)
    # one pass over the voxels, from joint indices
    joint = truth.astype(np.int64).ravel() * n_classes + pred.astype(np.int64).ravel()
    return np.bincount(joint, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def dice_per_class(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> np.ndarray:
    """Dice coefficient of each structure.

    Parameters
    ----------
    pred, truth
        Integer masks of the same shape (``0`` = background, ``k`` = structure ``k``).
    n_classes
        Number of classes including background (K + 1).

    Returns
    -------
    numpy.ndarray
        Shape ``(n_classes - 1,)``, float64: Dice of structures ``1..K``; 1.0 when a structure is absent
        from both masks, 0.0 when it is absent from one only.

    Raises
    ------
    DataError
        If the shapes differ.
    LabelError
        If a value is outside ``0..n_classes - 1``.
    """
    confusion = confusion_matrix(pred, truth, n_classes)
    inter = np.diag(confusion).astype(np.float64)
    sizes = confusion.sum(axis=1) + confusion.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(sizes > 0, 2.0 * inter / np.maximum(sizes, 1), 1.0)
    return dice[1:]


def _surface_structure(ndim: int) -> np.ndarray:
    if ndim not in _SURFACE_STRUCTURE_CACHE:
        _SURFACE_STRUCTURE_CACHE[ndim] = ndimage.generate_binary_structure(ndim, 1)
    return _SURFACE_STRUCTURE_CACHE[ndim]


def _surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of ``mask`` with a face-neighbour outside it (the array border counts as outside)."""
    return mask & ~ndimage.binary_erosion(mask, structure=_surface_structure(mask.ndim), border_value=0)


def surface_distances(
    a: np.ndarray, b: np.ndarray, spacing: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Distances from each surface voxel of ``a`` to the surface of ``b``, and back (units of ``spacing``).

    Surface voxels are the voxels with a face-neighbour outside the object (6-connectivity in 3D). Only the
    bounding box of ``a | b`` (plus a one-voxel margin) is processed, which gives the same distances as the
    whole array and is much faster for small structures.

    Parameters
    ----------
    a, b
        Non-empty boolean arrays of the same shape.
    spacing
        Voxel size along each axis.

    Returns
    -------
    tuple of numpy.ndarray
        ``(d_ab, d_ba)``: one distance per surface voxel of ``a`` (resp. ``b``).
    """
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise DataError(f"shapes differ: {a.shape} vs {b.shape}")
    if len(spacing) != a.ndim:
        raise ValueError(f"spacing {tuple(spacing)} does not match a {a.ndim}D array")
    if not a.any() or not b.any():
        raise ValueError("surface distances need two non-empty masks")
    union = a | b
    box = []
    for axis in range(a.ndim):
        other = tuple(i for i in range(a.ndim) if i != axis)
        hit = np.flatnonzero(union.any(axis=other))
        box.append(slice(max(int(hit[0]) - 1, 0), min(int(hit[-1]) + 2, a.shape[axis])))
    crop = tuple(box)
    sa = _surface(a[crop])
    sb = _surface(b[crop])
    sampling = [float(s) for s in spacing]
    to_b = ndimage.distance_transform_edt(~sb, sampling=sampling)
    to_a = ndimage.distance_transform_edt(~sa, sampling=sampling)
    return to_b[sa], to_a[sb]


def hd95_per_class(
    pred: np.ndarray, truth: np.ndarray, n_classes: int, spacing: Sequence[float]
) -> np.ndarray:
    """95th percentile of the symmetric surface distance of each structure, in mm.

    The distances from the prediction's surface to the truth's and from the truth's surface to the
    prediction's are pooled, and their 95th percentile is taken (the definition of MedPy's ``hd95``; MONAI's
    ``compute_hausdorff_distance(percentile=95)`` takes the larger of the two directed percentiles
    instead, which can be slightly larger).

    Parameters
    ----------
    pred, truth
        Integer masks of the same shape (``0`` = background, ``k`` = structure ``k``).
    n_classes
        Number of classes including background (K + 1).
    spacing
        Voxel size along each array axis (mm), e.g. :attr:`napari_scribbleseg.io.NiftiVolume.spacing`.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_classes - 1,)``, float64: HD95 of structures ``1..K``; 0.0 when a structure is absent from
        both masks, NaN when it is absent from exactly one.

    Raises
    ------
    DataError
        If the shapes differ.
    LabelError
        If a value is outside ``0..n_classes - 1``.
    """
    pred, truth = _check_pair(pred, truth, n_classes)
    if len(spacing) != pred.ndim:
        raise ValueError(f"spacing {tuple(spacing)} does not match {pred.ndim}D masks")
    out = np.zeros(n_classes - 1, dtype=np.float64)
    for k in range(1, n_classes):
        a = pred == k
        b = truth == k
        has_a, has_b = bool(a.any()), bool(b.any())
        if not has_a and not has_b:
            out[k - 1] = 0.0
        elif has_a != has_b:
            out[k - 1] = np.nan
        else:
            d_ab, d_ba = surface_distances(a, b, spacing)
            out[k - 1] = float(np.percentile(np.concatenate([d_ab, d_ba]), 95))
    return out


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    finite = arr[~np.isnan(arr)]
    return float(finite.mean()) if finite.size else math.nan


def evaluate_pairs(pairs: Sequence[tuple[Path, Path]], class_names: Sequence[str]) -> dict[str, Any]:
    """Dice and HD95 of predicted masks against ground-truth masks, per case and on average.

    Parameters
    ----------
    pairs
        ``(prediction file, ground-truth file)`` pairs, both in the mask encoding. The prediction must be on
        the truth's grid (same shape and affine); HD95 uses the truth's voxel spacing.
    class_names
        Class names, background first (``len(class_names)`` = number of classes).

    Returns
    -------
    dict
        ``{"classes": [structure names], "n_cases": int,
        "cases": {case: {"dice": {cls: v}, "hd95": {cls: v}}},
        "mean": {"dice": {cls: mean}, "hd95": {cls: nanmean}, "dice_mean": float, "hd95_mean": float}}``
        where the case is the truth file's case name. Values are Python floats; HD95 may be NaN (see the
        module docstring). Use :func:`result_to_json` to write it as strict JSON (NaN -> null).

    Raises
    ------
    DataError
        Unreadable files, mismatched grids, duplicate case names, or no pairs.
    LabelError
        Values outside the class list.
    """
    names = [str(n) for n in class_names]
    if len(names) < 2:
        raise DataError(f"need at least two classes (background and one structure), got {names}")
    if len(pairs) == 0:
        raise DataError("no (prediction, ground truth) pairs to evaluate")
    structures = names[1:]
    n_classes = len(names)
    cases: dict[str, dict[str, dict[str, float]]] = {}
    for pred_path, truth_path in pairs:
        truth = io.read_labels(truth_path, kind="mask", n_classes=n_classes)
        pred = io.read_labels(pred_path, kind="mask", n_classes=n_classes, reference=truth)
        case = io.case_name(truth_path)
        if case in cases:
            raise DataError(f"case {case!r} appears twice in the evaluation ({truth_path})")
        dice = dice_per_class(pred.data, truth.data, n_classes)
        hd95 = hd95_per_class(pred.data, truth.data, n_classes, truth.spacing)
        cases[case] = {
            "dice": {c: float(v) for c, v in zip(structures, dice)},
            "hd95": {c: float(v) for c, v in zip(structures, hd95)},
        }
    mean_dice = {c: float(np.mean([cases[k]["dice"][c] for k in cases])) for c in structures}
    mean_hd = {c: _nanmean([cases[k]["hd95"][c] for k in cases]) for c in structures}
    return {
        "classes": structures,
        "n_cases": len(cases),
        "cases": cases,
        "mean": {
            "dice": mean_dice,
            "hd95": mean_hd,
            "dice_mean": float(np.mean(list(mean_dice.values()))),
            "hd95_mean": _nanmean(list(mean_hd.values())),
        },
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def result_to_json(result: dict[str, Any], *, indent: int = 2) -> str:
    """The result of :func:`evaluate_pairs` as strict JSON (NaN and infinities become ``null``)."""
    return json.dumps(_json_safe(result), indent=indent, allow_nan=False)


def _fmt(value: float, digits: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def format_table(result: dict[str, Any]) -> str:
    """A fixed-width text table of :func:`evaluate_pairs` results.

    One row per case and a final ``mean`` row; for each structure a Dice column (3 decimals) and an HD95
    column (mm, 2 decimals), plus the mean over structures. Missing HD95 values show as ``n/a``.
    """
    structures = list(result["classes"])
    headers = ["case"] + [f"Dice {c}" for c in structures] + ["Dice mean"]
    headers += [f"HD95 {c}" for c in structures] + ["HD95 mean"]

    def row(
        label: str, dice: dict[str, float], hd: dict[str, float], dmean: float, hmean: float
    ) -> list[str]:
        cells = [label] + [_fmt(dice[c], 3) for c in structures] + [_fmt(dmean, 3)]
        return cells + [_fmt(hd[c], 2) for c in structures] + [_fmt(hmean, 2)]

    rows = []
    for case, values in result["cases"].items():
        d, h = values["dice"], values["hd95"]
        rows.append(
            row(case, d, h, float(np.mean([d[c] for c in structures])), _nanmean([h[c] for c in structures]))
        )
    mean = result["mean"]
    rows.append(row("mean", mean["dice"], mean["hd95"], mean["dice_mean"], mean["hd95_mean"]))

    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) for i in range(len(headers))]
    n_dice = len(structures) + 1

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        dice = "  ".join(c.rjust(w) for c, w in zip(cells[1 : 1 + n_dice], widths[1 : 1 + n_dice]))
        hd = "  ".join(c.rjust(w) for c, w in zip(cells[1 + n_dice :], widths[1 + n_dice :]))
        return f"{first} | {dice} | {hd}"

    header = line(headers)
    rule = "-" * len(header)
    body = [line(r) for r in rows]
    return "\n".join([header, rule, *body[:-1], rule, body[-1]])
