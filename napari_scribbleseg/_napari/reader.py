"""napari reader for NIfTI volumes (``.nii``, ``.nii.gz``).

Images open as Image layers, label files as Labels layers, both shown with their physical geometry (see
:mod:`.geometry`). Whether a file holds labels, and in which encoding, is decided by
:func:`napari_scribbleseg.io.label_kind` (a class sidecar, the NIfTI "label" intent, or an integer file
whose path says ``scribble``, ``mask``, ``label``, ``seg``, ``pred`` or ``gt``). Class names come from the
sidecar, or from a ``classes.json`` in the file's folder or the folders above (the sample datasets'
layout). The scribbles of ``images/case01.nii.gz`` open as ``"case01 scribbles"``, which pairs them with
the image ``"case01"`` in the widget. A mask (``masks/case01.nii.gz`` opens as ``"case01 mask"``, kind
``"mask"``) is shown, never trained on, until the user picks it as the image's dense mask (see
:mod:`.supervision`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .geometry import LayerGeometry
from .layers import LayerData, image_layer_data, labels_layer_data

PathLike = str | Path


def get_reader(path: PathLike | Sequence[PathLike]) -> Callable[[Any], list[LayerData]] | None:
    """The reader hook of napari: :func:`read_nifti` for NIfTI paths, else ``None``."""
    from ..io import is_nifti

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(is_nifti(p) for p in paths):
        return None
    return read_nifti


def read_nifti(path: PathLike | Sequence[PathLike]) -> list[LayerData]:
    """Read one or several NIfTI files into napari layer data tuples.

    Raises
    ------
    napari_scribbleseg.errors.DataError
        Unreadable, non-3D or corrupt files (the message names the file).
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    return [_read_one(Path(p)) for p in paths]


def _read_one(path: Path) -> LayerData:
    from ..io import (
        LABEL_WORDS,
        case_name,
        dataset_class_names,
        label_kind,
        read_image,
        read_labels,
        read_sidecar,
    )

    name = case_name(path)
    kind = label_kind(path)
    if kind is None:
        vol = read_image(path)
        geom = LayerGeometry.from_volume(vol)
        classes = dataset_class_names(path)
        return image_layer_data(vol.data, geom, name, class_names=classes, source=str(path))
    vol = read_labels(path, kind="mask")  # raw integer values, no class check
    geom = LayerGeometry.from_volume(vol)
    classes = read_sidecar(path) or dataset_class_names(path)
    if kind == "scribbles":
        layer_name = f"{name} scribbles"
    elif any(w in name.lower() for w in LABEL_WORDS):
        layer_name = name
    else:
        layer_name = f"{name} mask"
    data = vol.data if vol.data.dtype.itemsize <= 2 else vol.data.astype(np.int32)
    return labels_layer_data(data, geom, layer_name, kind=kind, class_names=classes, image=name)
