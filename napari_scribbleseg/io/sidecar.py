"""Class names stored next to label files: the JSON sidecar of one file, and a dataset's ``classes.json``.

A label file ``<dir>/case01.nii.gz`` written by this package has a sidecar ``<dir>/case01.json``::

    {"encoding": "mask", "classes": {"0": "background", "1": "RV", ...}, "source": "case01.nii.gz"}

``encoding`` is ``"mask"`` or ``"scribbles"`` (DESIGN.md Sec. 2), ``classes`` the class names in label
order (background first; a plain list is accepted when reading) and ``source`` the file name of the image
whose grid the labels are on (``null`` for volumes made in memory). The sample datasets keep one
``classes.json`` for the whole dataset, ``{"classes": [...], "encoding": {...}}``, in their top folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError
from .atomic import atomic_write_json, describe_error
from .files import case_name

__all__ = [
    "DATASET_CLASSES_FILE",
    "dataset_class_names",
    "read_sidecar",
    "read_sidecar_content",
    "sidecar_path",
    "write_dataset_classes",
    "write_sidecar",
]

#: Name of a dataset's class-name file (in its top folder).
DATASET_CLASSES_FILE = "classes.json"


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of a NIfTI file: ``<dir>/<case_name>.json``."""
    p = Path(path)
    return p.parent / f"{case_name(p)}.json"


def read_sidecar(path: str | Path) -> tuple[str, ...] | None:
    """Class names from the JSON sidecar of a NIfTI file (see :func:`write_sidecar`).

    Parameters
    ----------
    path
        The NIfTI file (not the sidecar).

    Returns
    -------
    tuple of str or None
        Class names in label order (background first), or ``None`` when there is no sidecar.

    Raises
    ------
    DataError
        If the sidecar exists but is not valid JSON or has no usable ``classes`` entry.
    """
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        content = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{side}: the class-name sidecar cannot be read: {describe_error(exc)}") from exc
    classes = content.get("classes") if isinstance(content, dict) else None
    try:
        if isinstance(classes, dict):
            keys = sorted(int(k) for k in classes)
            if keys != list(range(len(keys))):
                raise ValueError(f"class keys must be 0..K without gaps, got {keys}")
            names = tuple(str(classes[str(k)]) for k in keys)
        elif isinstance(classes, list):
            names = tuple(str(c) for c in classes)
        else:
            raise ValueError("no 'classes' entry")
    except (ValueError, KeyError) as exc:
        raise DataError(f"{side}: invalid class-name sidecar: {exc}") from exc
    if not names:
        raise DataError(f"{side}: invalid class-name sidecar: the class list is empty")
    return names


def read_sidecar_content(path: str | Path) -> dict[str, Any] | None:
    """The sidecar of a NIfTI file as a dict, or ``None`` if it is missing, unreadable or has no classes.

    Never raises: used to guess how to open a file (see
    :func:`~napari_scribbleseg.io.nifti_read.label_kind`), where a broken sidecar must not hide the file.
    """
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        content = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return content if isinstance(content, dict) and "classes" in content else None


def write_sidecar(
    path: str | Path,
    class_names: Sequence[str],
    *,
    kind: str = "mask",
    source: str | None = None,
    made_by: str | None = None,
    frame: int | None = None,
) -> Path:
    """Write the sidecar of the NIfTI file ``path`` atomically; return the sidecar's path.

    Parameters
    ----------
    path
        The NIfTI file the sidecar describes.
    class_names
        Background first.
    kind
        The label encoding of the file: ``"mask"`` or ``"scribbles"``.
    source
        File name of the image the labels belong to, or ``None``.
    made_by
        The command that made the file, if it is a machine output (``"made_by"`` entry, see
        :mod:`~napari_scribbleseg.io.outputs`).
    frame
        The frame of a 4D image the labels belong to (``"frame"`` entry; none for a 3D image).

    Raises
    ------
    DataError
        If the file cannot be written.
    """
    if kind not in ("mask", "scribbles"):
        raise ValueError(f"kind must be 'mask' or 'scribbles', got {kind!r}")
    content: dict[str, Any] = {
        "encoding": kind,
        "classes": {str(i): str(n) for i, n in enumerate(class_names)},
        "source": source,
    }
    if frame is not None:
        content["frame"] = int(frame)
    if made_by:
        content["made_by"] = made_by
    return atomic_write_json(sidecar_path(path), content, error=DataError)


def dataset_class_names(path: str | Path, levels: int = 3) -> tuple[str, ...] | None:
    """Class names from a ``classes.json`` in the folder of ``path`` or the folders above it.

    The nearest of the first ``levels`` folders that holds one wins (the sample datasets keep it in
    their top folder: ``cardiac/classes.json`` for ``cardiac/train/scribbles/case01.nii.gz``). A file that
    cannot be read or holds fewer than two classes gives ``None``; this never raises.
    """
    for folder in list(Path(path).resolve().parents)[:levels]:
        f = folder / DATASET_CLASSES_FILE
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


def write_dataset_classes(
    folder: str | Path, class_names: Sequence[str], encoding: Mapping[str, str]
) -> Path:
    """Write ``folder/classes.json``: the class names of a dataset and a description of its encodings.

    ``encoding`` maps a kind of file (``"masks"``, ``"scribbles"``) to one line describing its values.
    """
    content = {"classes": [str(c) for c in class_names], "encoding": dict(encoding), "made_by": "scribbleseg"}
    return atomic_write_json(Path(folder) / DATASET_CLASSES_FILE, content, error=DataError)
