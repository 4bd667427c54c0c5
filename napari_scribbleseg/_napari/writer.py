"""napari writer for Labels layers, and the export used by the widget's Export button.

A Labels layer is written on the grid of the image it belongs to: its data goes back to the file's axis
order, and the file gets the source image's geometry. The format follows the file name
(:func:`napari_scribbleseg.io.write_mask`): ``.nii``/``.nii.gz`` NIfTI with the image's affine and header
(qform/sform and codes, zooms, units) plus the class-name sidecar and ITK-SNAP label descriptions;
``.seg.nrrd`` a 3D Slicer segmentation; ``.dcm`` a DICOM-SEG on the image's DICOM series (masks of an
image read from DICOM only). A name without one of these endings gets ``.nii.gz``.
Masks (predictions, ground truth) keep the *mask* encoding; scribble layers keep the *scribble* encoding
and their sidecar says so, so that the reader opens them again as scribbles.

A Labels layer the plugin did not make (napari's "New labels" button) is written on the grid of the image
it overlays when the plugin's reader opened that image (same shape, scale and translate): the file then
has the image's affine and header, and its voxels the image's voxel order (:func:`labels_geometry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .geometry import LayerGeometry
from .layers import META, data_to_world_matrix, geometry_of, info, is_image


def _transform_from_meta(meta: dict[str, Any]) -> np.ndarray:
    """The 4x4 data-to-world matrix of a layer from its state (``affine @ (translate, rotate, ...)``)."""
    from napari.utils.transforms import Affine

    inner = Affine(
        scale=meta.get("scale", np.ones(3)),
        translate=meta.get("translate", np.zeros(3)),
        rotate=meta.get("rotate"),
        shear=meta.get("shear"),
    ).affine_matrix
    outer = meta.get("affine")
    outer = np.eye(4) if outer is None else np.asarray(getattr(outer, "affine_matrix", outer), float)
    return outer @ inner


def overlaid_image(shape: tuple[int, ...], data_to_world: np.ndarray, viewer: Any = None) -> Any | None:
    """The image layer opened by the plugin that a layer of ``shape`` and transform exactly overlays.

    A Labels layer made with napari's own "New labels" button has the image's scale and translate but
    none of the plugin's metadata; its voxels are the image's voxels in napari's order, so it belongs
    on the image's file grid. ``viewer`` defaults to :func:`napari.current_viewer` (the writer hook only
    gets the layer's state). The first match in the layer list is returned; ``None`` if none.
    """
    viewer = _current(viewer)
    if viewer is None:
        return None
    for layer in viewer.layers:
        geom = info(layer).get("geometry")
        if (
            is_image(layer)
            and isinstance(geom, LayerGeometry)
            and tuple(np.shape(layer.data)) == tuple(shape) == geom.napari_shape
            and np.allclose(data_to_world_matrix(layer), data_to_world, rtol=0, atol=1e-4)
        ):
            return layer
    return None


def labels_geometry(data: np.ndarray, meta: dict[str, Any], viewer: Any = None) -> tuple[LayerGeometry, Any]:
    """The file grid a Labels layer is written on, and the image layer it belongs to (or ``None``).

    In order: the plugin's own geometry in the layer's metadata; that of the plugin-opened image the layer
    overlays (:func:`overlaid_image`); else napari's data axes as file axes with the layer's transform.
    """
    entry = (meta.get("metadata") or {}).get(META) or {}
    geom = entry.get("geometry")
    shape = tuple(np.shape(data))
    if isinstance(geom, LayerGeometry) and shape == geom.napari_shape:
        viewer, name = _current(viewer), entry.get("image")
        image = viewer.layers[name] if viewer is not None and name and name in viewer.layers else None
        return geom, image
    transform = _transform_from_meta(meta)
    image = overlaid_image(shape, transform, viewer)
    if image is not None:
        return info(image)["geometry"], image
    return LayerGeometry.from_layer_transform(shape, transform), None


def _current(viewer: Any = None) -> Any | None:
    """``viewer``, else napari's current viewer (``None`` without one, e.g. written from a script)."""
    if viewer is not None:
        return viewer
    try:
        import napari

        return napari.current_viewer()
    except Exception:
        return None


def _output_path(path: str | Path) -> Path:
    from ..io import format_of_output

    p = Path(path)
    return p if format_of_output(p) is not None else p.with_name(p.name + ".nii.gz")


def write_labels_nifti(
    path: str | Path,
    data: np.ndarray,
    geometry: LayerGeometry,
    *,
    kind: str = "mask",
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write napari-order label ``data`` on ``geometry``'s grid: NIfTI, ``.seg.nrrd`` or DICOM-SEG.

    Parameters
    ----------
    path
        Output file; its ending chooses the format (``.nii.gz`` is appended when it has none of
        ``.nii``, ``.nii.gz``, ``.seg.nrrd``, ``.dcm``).
    data
        Labels in napari order (as ``layer.data``).
    geometry
        Grid of the image the labels belong to.
    kind
        ``"mask"`` (0 = background, k = structure k) or ``"scribbles"``.
    class_names
        Background first; checked against the values and stored with the labels (NIfTI: ``<name>.json``
        and ``<name>.labels.txt`` next to the file). ``.seg.nrrd`` and DICOM-SEG need names: without
        them, ``structure1``... are used.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    napari_scribbleseg.errors.DataError
        Wrong shape, negative labels, a destination that is the source image, DICOM-SEG of an image not
        read from DICOM (or without the ``dicom`` extra), or a write failure.
    napari_scribbleseg.errors.LabelError
        Values outside the class list.
    """
    from ..io import format_of_output, write_labels, write_mask
    from ..labels import default_class_names

    p = _output_path(path)
    labels = np.ascontiguousarray(geometry.from_napari(np.asarray(data)))
    if format_of_output(p) == "nifti":
        return write_labels(p, labels, geometry.reference(), class_names=class_names, kind=kind)
    if class_names is None:
        top = int(labels.max()) if labels.size else 0
        class_names = default_class_names(max(top + (0 if kind == "scribbles" else 1), 2))
    return write_mask(p, labels, geometry.reference(), class_names=class_names, kind=kind)  # type: ignore[arg-type]


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """The writer hook of napari for one Labels layer (``meta`` is the layer's state).

    The layer is written on the grid and header of its image (:func:`labels_geometry`); the user's own
    save of an autosaved layer also clears that layer from the recovery folder.
    """
    entry = (meta.get("metadata") or {}).get(META) or {}
    arr = np.asarray(data)
    geom, image = labels_geometry(arr, meta)
    kind = "scribbles" if entry.get("kind") == "scribbles" else "mask"
    names = entry.get("class_names")
    out = write_labels_nifti(path, arr, geom, kind=kind, class_names=names)
    if image is not None and meta.get("name"):
        from .recovery import forget_saved_layer

        forget_saved_layer(image, str(meta["name"]))
    return [str(out)]


def export_layer(layer: Any, path: str | Path, class_names: Sequence[str] | None = None) -> Path:
    """Export a Labels layer (e.g. a prediction) with its image's geometry; the widget's Export.

    The format follows ``path``'s ending (NIfTI, ``.seg.nrrd``, DICOM-SEG ``.dcm``; see
    :func:`write_labels_nifti`). ``class_names`` defaults to the ones stored with the layer.
    """
    entry = (layer.metadata or {}).get(META) or {}
    kind = "scribbles" if entry.get("kind") == "scribbles" else "mask"
    names = class_names if class_names is not None else entry.get("class_names")
    geom = geometry_of(layer)
    if not isinstance(entry.get("geometry"), LayerGeometry):
        image = overlaid_image(tuple(np.shape(layer.data)), data_to_world_matrix(layer))
        geom = info(image)["geometry"] if image is not None else geom
    return write_labels_nifti(path, np.asarray(layer.data), geom, kind=kind, class_names=names)
