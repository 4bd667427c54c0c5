"""napari reader for volumes: NIfTI, NRRD (3D Slicer ``.seg.nrrd`` too), MetaImage, DICOM series, DICOM-SEG.

Images open as Image layers, label files as Labels layers, both shown with their physical geometry (see
:mod:`.geometry`); every format is read by :mod:`napari_scribbleseg.io`, so they all land in the same
world coordinates. A DICOM series opens from its folder or from any one of its files (several files of one
series open it once; a folder with several series asks for one file of the series). Whether a file holds
labels, and in which encoding, is decided by :func:`napari_scribbleseg.io.label_kind` (a class sidecar,
the NIfTI "label" intent, a ``.seg.nrrd`` or DICOM-SEG, or an integer file whose path says ``scribble``,
``mask``, ``label``, ``seg``, ``pred`` or ``gt``). Class names come from the file (sidecar, segments,
ITK-SNAP label descriptions), or from a ``classes.json`` in the file's folder or the folders above (the
sample datasets' layout). The scribbles of ``images/case01.nii.gz`` open as ``"case01 scribbles"``, which
pairs them with the image ``"case01"`` in the widget. A mask (``masks/case01.nii.gz`` opens as
``"case01 mask"``, kind ``"mask"``) is shown, never trained on, until the user picks it as the image's
dense mask (see :mod:`.supervision`).

**4D files** (cine MRI: 20-30 frames) open as one layer per frame, ``"case01 frame 3"`` (the first frame
shown, the others hidden): the user picks the frame to segment as the widget's image, and its scribbles
(``"case01 frame 3 scribbles"``) and prediction pair with it as with any image.
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
    """The reader hook of napari: :func:`read_volumes` for paths the package opens, else ``None``."""
    from ..io import is_volume_path

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(is_volume_path(p) for p in paths):
        return None
    return read_volumes


def read_volumes(path: PathLike | Sequence[PathLike]) -> list[LayerData]:
    """Read one or several volumes (files or DICOM series folders) into napari layer data tuples.

    Raises
    ------
    napari_scribbleseg.errors.DataError
        Unreadable, non-3D or corrupt files, a folder with several DICOM series (the message names the
        file and the problem).
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers: list[LayerData] = []
    for p in _one_per_series([Path(q) for q in paths]):
        layers += _read_one(p)
    return layers


#: The reader's former name (NIfTI only then).
read_nifti = read_volumes


def _one_per_series(paths: list[Path]) -> list[Path]:
    """``paths`` with one file kept per DICOM series (napari passes every file a user selected)."""
    from ..io import file_format
    from ..io.dicom_read import dicom_modality, dicom_series_uid

    out, seen = [], set()
    for p in paths:
        if p.is_file() and file_format(p) == "dicom" and dicom_modality(p) != "SEG":
            key = (p.resolve().parent, dicom_series_uid(p))
            if key in seen:
                continue
            seen.add(key)
        out.append(p)
    return out


def _read_one(path: Path) -> list[LayerData]:
    from ..io import (
        LABEL_WORDS,
        case_name,
        count_frames,
        dataset_class_names,
        label_kind,
        read_class_names,
        read_image_frames,
        read_labels,
    )

    name = case_name(path)
    kind = label_kind(path)
    if kind is None:
        frames = read_image_frames(path)
        classes = dataset_class_names(path)
        out = []
        for t, vol in enumerate(frames):
            layer_name = name if len(frames) == 1 else f"{name} frame {t}"
            data = image_layer_data(
                vol.data, LayerGeometry.from_volume(vol), layer_name, class_names=classes, source=str(path)
            )
            data[1]["visible"] = t == 0
            out.append(data)
        return out
    n_frames = count_frames(path)
    classes = read_class_names(path, kind=kind) or dataset_class_names(path)
    out = []
    for t in range(n_frames):
        frame = t if n_frames > 1 else None
        vol = read_labels(path, kind="mask", frame=frame)  # raw integer values, no class check
        base = name if frame is None else f"{name} frame {t}"
        if kind == "scribbles":
            layer_name = f"{base} scribbles"
        elif any(w in name.lower() for w in LABEL_WORDS):
            layer_name = base
        else:
            layer_name = f"{base} mask"
        data = vol.data if vol.data.dtype.itemsize <= 2 else vol.data.astype(np.int32)
        geom = LayerGeometry.from_volume(vol)
        out.append(labels_layer_data(data, geom, layer_name, kind=kind, class_names=classes, image=base))
    return out
