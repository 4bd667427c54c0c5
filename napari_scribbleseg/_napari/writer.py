"""napari writer for Labels layers, and the export used by the widget's Export button.

A Labels layer is written on the grid of the image it belongs to: its data goes back to the file's axis
order, and the NIfTI file gets the source image's affine and header geometry (qform/sform and codes,
zooms, units; see :func:`napari_scribbleseg.io.write_labels`, which also writes the class-name sidecar).
Masks (predictions, ground truth) keep the *mask* encoding; scribble layers keep the *scribble* encoding
and their sidecar says so, so that the reader opens them again as scribbles.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .geometry import LayerGeometry
from .layers import META, geometry_of


def _geometry_from_meta(data: np.ndarray, meta: dict[str, Any]) -> LayerGeometry:
    entry = (meta.get("metadata") or {}).get(META) or {}
    geom = entry.get("geometry")
    if isinstance(geom, LayerGeometry) and tuple(np.shape(data)) == geom.napari_shape:
        return geom
    from napari.utils.transforms import Affine

    inner = Affine(
        scale=meta.get("scale", np.ones(3)),
        translate=meta.get("translate", np.zeros(3)),
        rotate=meta.get("rotate"),
        shear=meta.get("shear"),
    ).affine_matrix
    outer = meta.get("affine")
    outer = np.eye(4) if outer is None else np.asarray(getattr(outer, "affine_matrix", outer), float)
    return LayerGeometry.from_layer_transform(np.shape(data), outer @ inner)


def _nifti_path(path: str | Path) -> Path:
    from ..io import is_nifti

    p = Path(path)
    return p if is_nifti(p) else p.with_name(p.name + ".nii.gz")


def write_labels_nifti(
    path: str | Path,
    data: np.ndarray,
    geometry: LayerGeometry,
    *,
    kind: str = "mask",
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write napari-order label ``data`` as NIfTI on ``geometry``'s grid (plus the class sidecar).

    Parameters
    ----------
    path
        Output file (``.nii.gz`` is appended when it has no NIfTI ending).
    data
        Labels in napari order (as ``layer.data``).
    geometry
        Grid of the image the labels belong to.
    kind
        ``"mask"`` (0 = background, k = structure k) or ``"scribbles"``.
    class_names
        Background first; checked against the values and written to ``<name>.json`` next to the file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    napari_scribbleseg.errors.DataError
        Wrong shape, negative labels, a destination that is the source image, or a write failure.
    napari_scribbleseg.errors.LabelError
        Values outside the class list.
    """
    from ..io import write_labels

    p = _nifti_path(path)
    labels = np.ascontiguousarray(geometry.from_napari(np.asarray(data)))
    return write_labels(p, labels, geometry.reference(), class_names=class_names, kind=kind)


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """The writer hook of napari for one Labels layer (``meta`` is the layer's state)."""
    entry = (meta.get("metadata") or {}).get(META) or {}
    geom = _geometry_from_meta(np.asarray(data), meta)
    kind = "scribbles" if entry.get("kind") == "scribbles" else "mask"
    names = entry.get("class_names")
    out = write_labels_nifti(path, np.asarray(data), geom, kind=kind, class_names=names)
    return [str(out)]


def export_layer(layer: Any, path: str | Path, class_names: Sequence[str] | None = None) -> Path:
    """Export a Labels layer (e.g. a prediction) to NIfTI with its image's geometry; the widget's Export.

    ``class_names`` defaults to the ones stored with the layer.
    """
    entry = (layer.metadata or {}).get(META) or {}
    kind = "scribbles" if entry.get("kind") == "scribbles" else "mask"
    names = class_names if class_names is not None else entry.get("class_names")
    return write_labels_nifti(path, np.asarray(layer.data), geometry_of(layer), kind=kind, class_names=names)
