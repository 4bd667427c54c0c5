"""napari reader for NIfTI volumes (``.nii``, ``.nii.gz``).

Images open as Image layers, label files as Labels layers, both shown with their physical geometry (see
:mod:`.geometry`). A file is taken as labels when

1. it has a JSON class sidecar next to it (``case01.json``, as written by our writers), or
2. its header has the NIfTI "label" intent, or
3. it is stored as integers and its path says so (a folder or file name containing ``scribble``,
   ``mask``, ``label``, ``seg``, ``pred`` or ``gt``).

Labels are in the *scribble* encoding when the sidecar says so or the path contains ``scribble``
(``train/scribbles/case01.nii.gz``), else in the *mask* encoding. Class names come from the sidecar, or
from a ``classes.json`` in the file's folder or the folder above (the sample datasets' layout). The
scribbles of ``images/case01.nii.gz`` open as ``"case01 scribbles"``, which pairs them with the image
``"case01"`` in the widget.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .geometry import LayerGeometry
from .layers import LayerData, image_layer_data, labels_layer_data

PathLike = str | Path
_LABEL_WORDS = ("scribble", "mask", "label", "seg", "pred", "gt")
_NIFTI_INTENT_LABEL = 1002


def _is_nifti(path: PathLike) -> bool:
    name = str(path).lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def get_reader(path: PathLike | Sequence[PathLike]) -> Callable[[Any], list[LayerData]] | None:
    """The reader hook of napari: :func:`read_nifti` for NIfTI paths, else ``None``."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(_is_nifti(p) for p in paths):
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


def _sidecar(path: Path) -> dict[str, Any] | None:
    from ..data.io import sidecar_path

    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        content = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return content if isinstance(content, dict) and "classes" in content else None


def _dataset_classes(path: Path) -> tuple[str, ...] | None:
    """Class names from ``classes.json`` in the file's folder or the two folders above it."""
    for folder in list(path.resolve().parents)[:3]:
        f = folder / "classes.json"
        if f.is_file():
            try:
                content = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                return None
            classes = content.get("classes") if isinstance(content, dict) else None
            if isinstance(classes, list) and len(classes) >= 2:
                return tuple(str(c) for c in classes)
            if isinstance(classes, dict):
                try:
                    return tuple(str(classes[str(k)]) for k in range(len(classes)))
                except KeyError:
                    return None
    return None


def label_kind(path: PathLike) -> str | None:
    """``"scribbles"`` or ``"mask"`` if ``path`` holds labels (see the module docstring), else ``None``."""
    import nibabel as nib

    p = Path(path)
    words = str(p).lower()
    side = _sidecar(p)
    if side is not None:
        enc = side.get("encoding")
        if isinstance(enc, str) and enc in ("scribbles", "mask"):
            return enc
        return "scribbles" if "scribble" in p.name.lower() else "mask"
    try:
        img = nib.load(str(p))
        intent = int(img.header.get("intent_code", 0))
        integer = np.issubdtype(img.get_data_dtype(), np.integer)
    except Exception:  # unreadable: let the real reader report it with the file name
        return None
    if intent == _NIFTI_INTENT_LABEL or (integer and any(w in words for w in _LABEL_WORDS)):
        return "scribbles" if "scribble" in words else "mask"
    return None


def _read_one(path: Path) -> LayerData:
    from ..data.io import case_name, read_image, read_labels, read_sidecar

    name = case_name(path)
    kind = label_kind(path)
    if kind is None:
        vol = read_image(path)
        geom = LayerGeometry.from_volume(vol)
        return image_layer_data(vol.data, geom, name, class_names=_dataset_classes(path), source=str(path))
    vol = read_labels(path, kind="mask")  # raw integer values, no class check
    geom = LayerGeometry.from_volume(vol)
    classes = read_sidecar(path) or _dataset_classes(path)
    if kind == "scribbles":
        layer_name = f"{name} scribbles"
    elif any(w in name.lower() for w in _LABEL_WORDS):
        layer_name = name
    else:
        layer_name = f"{name} mask"
    data = vol.data if vol.data.dtype.itemsize <= 2 else vol.data.astype(np.int32)
    return labels_layer_data(data, geom, layer_name, kind=kind, class_names=classes, image=name)
