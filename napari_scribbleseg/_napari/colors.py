"""One colour per class, shared by scribble and prediction layers and the legend.

Structure ``k`` has the same colour whether it is painted (scribble value ``k + 1``) or predicted (mask
value ``k``); the background scribble (value 1) has its own colour, and predicted background is
transparent. Colours are fixed by the class index, so a structure keeps its colour across sessions. The
colour table itself is :func:`napari_scribbleseg.labels.class_color` (Qt-free), which the exported files
(ITK-SNAP, 3D Slicer, DICOM-SEG) use too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labels import BACKGROUND_COLOR, STRUCTURE_COLORS, class_color

__all__ = [
    "BACKGROUND_COLOR",
    "STRUCTURE_COLORS",
    "class_color",
    "hex_to_rgba",
    "legend_entries",
    "mask_color_dict",
    "scribble_color_dict",
]


def hex_to_rgba(color: str, alpha: float = 1.0) -> np.ndarray:
    """``"#rrggbb"`` -> RGBA floats in [0, 1]."""
    c = color.lstrip("#")
    return np.array([int(c[i : i + 2], 16) / 255 for i in (0, 2, 4)] + [alpha], dtype=np.float32)


def scribble_color_dict(n_classes: int) -> dict[int | None, np.ndarray]:
    """Colours of scribble values: 0 transparent, 1 background, ``k + 1`` structure ``k``.

    Values beyond the class list (painted by mistake) show in grey so they stand out.
    """
    colors: dict[int | None, np.ndarray] = {None: hex_to_rgba("#808080"), 0: np.zeros(4, np.float32)}
    for k in range(n_classes):
        colors[k + 1] = hex_to_rgba(class_color(k))
    return colors


def mask_color_dict(n_classes: int, background_alpha: float = 0.0) -> dict[int | None, np.ndarray]:
    """Colours of mask values: 0 background (transparent by default), ``k`` structure ``k``."""
    colors: dict[int | None, np.ndarray] = {
        None: hex_to_rgba("#808080"),
        0: hex_to_rgba(BACKGROUND_COLOR, background_alpha),
    }
    for k in range(1, n_classes):
        colors[k] = hex_to_rgba(class_color(k))
    return colors


def legend_entries(class_names: Sequence[str]) -> list[tuple[int, str, str]]:
    """``(scribble value, colour, name)`` per class, background first."""
    return [(k + 1, class_color(k), name) for k, name in enumerate(class_names)]
