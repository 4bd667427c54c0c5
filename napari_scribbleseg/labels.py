"""The label encoding, owned by this one module (DESIGN.md Sec. 2).

*Scribbles* (what a person paints, napari Labels layers and scribble NIfTI files)::

    0      not annotated (napari's eraser)
    1      background
    k + 1  structure k, k = 1..K

*Masks* (ground truth, predictions, exported files, unpaired masks)::

    0      background
    k      structure k

Training targets are class indices ``0..K`` (background = 0, as in masks) with :data:`IGNORE` where a
pixel is not annotated; every loss masks those pixels out.

The colour of each class lives here too (:func:`class_color`), so that the napari layers and every exported
file (ITK-SNAP label descriptions, 3D Slicer segments, DICOM-SEG segments) show a structure in one colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import LabelError

#: Target value of a pixel without annotation. Losses skip it.
IGNORE = -1
#: Scribble value of "not annotated".
UNANNOTATED = 0
#: Scribble value of the background class.
SCRIBBLE_BACKGROUND = 1

DEFAULT_CARDIAC_CLASSES = ("background", "RV", "MYO", "LV")

#: Background colour (cyan: visible on grey MRI, distinct from the structure colours); predicted background
#: is transparent in napari and is not a segment in exported files.
BACKGROUND_COLOR = "#42d4f4"
#: Structure colours, structure 1 first (a high-contrast palette without cyan).
STRUCTURE_COLORS = (
    "#e6194b",  # red
    "#3cb44b",  # green
    "#4363d8",  # blue
    "#ffe119",  # yellow
    "#f58231",  # orange
    "#911eb4",  # purple
    "#f032e6",  # magenta
    "#bfef45",  # lime
    "#fabed4",  # pink
    "#469990",  # teal
    "#9a6324",  # brown
    "#800000",  # maroon
    "#aaffc3",  # mint
    "#808000",  # olive
    "#000075",  # navy
)


def class_color(k: int) -> str:
    """Colour ``"#rrggbb"`` of class ``k`` (mask encoding: 0 = background, k = structure k).

    Fixed by the class index, so a structure keeps its colour across sessions and files.
    """
    if k == 0:
        return BACKGROUND_COLOR
    return STRUCTURE_COLORS[(k - 1) % len(STRUCTURE_COLORS)]


def hex_to_rgb255(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)`` integers in 0..255."""
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


def label_table(
    class_names: Sequence[str], kind: str = "mask"
) -> list[tuple[int, str, tuple[int, int, int]]]:
    """``(file value, class name, (r, g, b))`` of every class as stored in a label file of ``kind``.

    Masks: value ``k`` is class ``k`` (background 0 included). Scribbles: value ``k + 1`` is class ``k``
    (value 0, "not annotated", is not a class). Colours are :func:`class_color`.
    """
    if kind not in ("scribbles", "mask"):
        raise ValueError(f"kind must be 'scribbles' or 'mask', got {kind!r}")
    shift = 1 if kind == "scribbles" else 0
    return [(k + shift, str(name), hex_to_rgb255(class_color(k))) for k, name in enumerate(class_names)]


def parse_class_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``"background,RV,MYO,LV"`` (or a sequence) into class names, background first.

    Raises
    ------
    LabelError
        If fewer than two classes are given or names repeat.
    """
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    if len(names) < 2:
        raise LabelError(f"need at least two classes (background and one structure), got {names!r}")
    if len(set(names)) != len(names):
        raise LabelError(f"class names repeat: {names!r}")
    return tuple(names)


def default_class_names(n_classes: int) -> tuple[str, ...]:
    """``("background", "structure1", ...)`` for ``n_classes`` classes including background."""
    return ("background",) + tuple(f"structure{k}" for k in range(1, n_classes))


def scribbles_to_target(scribbles: np.ndarray) -> np.ndarray:
    """Map scribble values to training targets: 0 -> IGNORE, v -> v - 1 (int64)."""
    return scribbles.astype(np.int64) - 1


def target_to_scribbles(target: np.ndarray) -> np.ndarray:
    """Inverse of :func:`scribbles_to_target` (IGNORE -> 0)."""
    return (np.asarray(target).astype(np.int64) + 1).astype(np.uint16)


def mask_to_scribbles(mask: np.ndarray) -> np.ndarray:
    """A dense mask (0 = background) as scribble values (every voxel annotated)."""
    return (np.asarray(mask).astype(np.uint16) + 1).astype(np.uint16)


def check_label_values(
    array: np.ndarray, n_classes: int, *, kind: str, source: str, require_annotation: bool = True
) -> None:
    """Check that a scribble or mask array fits the encoding for ``n_classes`` classes.

    Parameters
    ----------
    array
        Integer-valued array.
    n_classes
        Number of classes including background (K + 1).
    kind
        ``"scribbles"`` (values ``0..n_classes``) or ``"mask"`` (values ``0..n_classes - 1``).
    source
        File or layer name, used in the error message.
    require_annotation
        For scribbles: fail when no voxel is annotated.

    Raises
    ------
    LabelError
        Non-integer values, values outside the class list, or scribbles without any annotated voxel.
    """
    if kind not in ("scribbles", "mask"):
        raise ValueError(f"kind must be 'scribbles' or 'mask', got {kind!r}")
    arr = np.asarray(array)
    if arr.size == 0:
        raise LabelError(f"{source}: the {kind} array is empty")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise LabelError(f"{source}: {kind} must hold whole numbers, found fractional or NaN values")
    lo, hi = int(arr.min()), int(arr.max())
    top = n_classes if kind == "scribbles" else n_classes - 1
    if lo < 0 or hi > top:
        values = np.unique(arr)
        bad = [int(v) for v in values if v < 0 or v > top][:10]
        meaning = (
            "0 = not annotated, 1 = background, k+1 = structure k"
            if kind == "scribbles"
            else "0 = background, k = structure k"
        )
        raise LabelError(
            f"{source}: {kind} value(s) {bad} outside the class list of {n_classes} classes "
            f"(allowed 0..{top}; {meaning})"
        )
    if kind == "scribbles" and require_annotation and hi == UNANNOTATED:
        raise LabelError(f"{source}: the scribbles contain no annotated voxel (all values are 0)")


def annotated_classes(scribbles: np.ndarray) -> np.ndarray:
    """Class indices (mask encoding) that have at least one scribbled voxel."""
    values = np.unique(np.asarray(scribbles))
    return (values[values > UNANNOTATED] - 1).astype(np.int64)
