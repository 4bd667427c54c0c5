"""The viewer's layers to a session folder and back (:mod:`napari_scribbleseg.io.session_folder`).

:func:`save_layers` writes every image (a reference with its checksum, or a NIfTI copy), every scribble
and dense-mask layer and the chosen unpaired-mask layer, each on its image's grid with the image's header
(as the plugin's writer does), and returns the session's description for ``session.json``.
:func:`find_images` finds the images again (asking ``locate`` about a moved or changed one) and
:func:`add_layers` adds them with their annotation layers to a viewer.

Only napari types are used here (no Qt); napari is imported lazily by the layer helpers.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..io import session_folder as SF
from . import layers as L
from .geometry import LayerGeometry

#: ``locate(image, problem)`` -> a file the user chose for a moved or changed image, or ``None``.
Locate = Callable[[SF.ImageRef, str], "str | Path | None"]


@dataclass(frozen=True)
class UnpairedChoice:
    """The dock's unpaired-mask source: kind ``layer`` (with the layer), ``folder`` or ``sample``."""

    kind: str
    layer: Any = None
    path: str | None = None
    name: str | None = None


def _image_file(image: Any, geom: LayerGeometry) -> Path | None:
    """The file (or DICOM folder) an image layer was read from, if it still exists."""
    source = L.info(image).get("source") or (str(geom.path) if geom.path is not None else None)
    if not source or str(source).startswith("sample:"):
        return None
    path = Path(source).expanduser()
    return path if path.exists() else None


def _save_image(folder: Path, image: Any, copy: bool) -> SF.ImageRef:
    """Reference ``image`` by its file, or write it as a NIfTI copy into the session (also when no file)."""
    from ..io import write_image

    geom = L.geometry_of(image)
    src = _image_file(image, geom)
    source = geom.source
    frame, series = getattr(source, "frame", None), getattr(source, "series_uid", None)
    grid = {"shape": geom.shape, "affine": tuple(tuple(float(v) for v in r) for r in geom.affine)}
    sample = L.info(image).get("sample")
    if src is not None and not copy:
        path = src.resolve()
        relative = os.path.relpath(path, folder.resolve()) if path.anchor == folder.resolve().anchor else None
        return SF.ImageRef(
            image.name, str(path), SF.file_sha256(path), **grid, relative=relative, frame=frame, series=series
        )
    relative = SF.layer_file(image.name, SF.IMAGES)
    target = folder / relative
    if not (src is not None and target.exists() and os.path.samefile(src, target)):
        target.parent.mkdir(parents=True, exist_ok=True)
        data = np.ascontiguousarray(geom.from_napari(np.asarray(image.data)))
        write_image(target, data, geom.reference())
    return SF.ImageRef(image.name, relative, SF.file_sha256(target), **grid, copied=True, sample=sample)


def _save_labels(folder: Path, layer: Any, kind: str, geom: LayerGeometry, image: str | None) -> SF.LayerRef:
    """Write ``layer`` on grid ``geom`` (scribble or mask encoding) into the session's annotations."""
    from ..io import write_labels

    relative = SF.layer_file(layer.name)
    data = np.ascontiguousarray(geom.from_napari(np.asarray(layer.data)))
    if data.dtype.kind not in "ui":
        data = data.astype(np.int64)
    encoding = "scribbles" if kind == "scribbles" else "mask"
    write_labels(folder / relative, data, geom.reference(), kind=encoding)  # type: ignore[arg-type]
    return SF.LayerRef(layer.name, kind, image, relative)


def save_layers(
    folder: Path, viewer: Any, *, copy_images: bool, unpaired: UnpairedChoice | None = None
) -> tuple[list[SF.ImageRef], list[SF.LayerRef], dict[str, Any] | None]:
    """Write the viewer's images and annotation layers into session folder ``folder``.

    Returns the images, the layers and the unpaired-mask source for ``session.json``.

    Raises
    ------
    DataError
        No image open, an annotation layer off its image's grid, or a write failure.
    """
    images = L.image_layers(viewer.layers)
    if not images:
        raise DataError("no image is open: a session needs at least one image")
    refs, layer_refs = [], []
    for image in images:
        refs.append(_save_image(folder, image, copy_images))
        geom = L.geometry_of(image)
        annotations = [(la, "scribbles") for la in L.scribble_layers_for(viewer.layers, image)]
        dense = L.dense_layer_for(viewer.layers, image)
        annotations += [(dense, "dense")] if dense is not None else []
        for layer, kind in annotations:
            try:
                L.check_same_grid(image, layer, "annotation layer")
            except ValueError as exc:
                raise DataError(str(exc)) from None
            layer_refs.append(_save_labels(folder, layer, kind, geom, image.name))
    source: dict[str, Any] | None = None
    if unpaired is not None and unpaired.kind == "layer":
        layer = unpaired.layer
        # its own grid; its source file may be this session's own copy, which the new one replaces
        geom = dataclasses.replace(L.geometry_of(layer), path=None)
        layer_refs.append(_save_labels(folder, layer, "unpaired", geom, None))
        source = {"kind": "layer", "layer": layer.name}
    elif unpaired is not None and unpaired.kind == "folder":
        source = {"kind": "folder", "path": str(Path(unpaired.path or "").resolve())}
    elif unpaired is not None:
        source = {"kind": "sample", "name": unpaired.name}
    return refs, layer_refs, source


def find_images(spec: SF.SessionSpec, locate: Locate | None = None) -> tuple[dict[str, Path], list[str]]:
    """The file of every image of ``spec``; ``locate`` is asked about a moved or changed one.

    A file the user locates is taken when its checksum matches, or when its grid matches the saved one
    (checked when it is read; a note says its content differs). Returns the files by image name and the
    notes.

    Raises
    ------
    DataError
        An image that is missing or changed and not located, naming the file.
    """
    paths, notes = {}, []
    for ref in spec.images:
        path, problem = SF.find_image(spec, ref)
        if problem is not None:
            chosen = locate(ref, problem) if locate is not None else None
            if not chosen:
                raise DataError(f"{spec.folder}: {problem}; put it back or locate it to open the session")
            path = Path(chosen)
            if SF.file_sha256(path) != ref.sha256:
                notes.append(
                    f"{path} is not the file saved with the session (another checksum); its grid matches"
                )
        paths[ref.name] = path  # type: ignore[assignment]
    return paths, notes


def _read_image(ref: SF.ImageRef, path: Path) -> Any:
    """Read image ``ref`` from ``path``; its grid must be the saved one."""
    from ..io import affines_match, read_image

    vol = read_image(path, frame=None if ref.copied else ref.frame, series=None if ref.copied else ref.series)
    if vol.shape != ref.shape or not affines_match(vol.affine, np.asarray(ref.affine)):
        raise DataError(
            f"{path}: its grid (shape {vol.shape}) is not the one saved with the session for image "
            f"{ref.name!r} (shape {ref.shape}); the annotations would not fit it"
        )
    return vol


def add_layers(viewer: Any, spec: SF.SessionSpec, paths: dict[str, Path]) -> list[Any]:
    """Add the session's images and annotation layers to ``viewer``; returns the new layers.

    Raises
    ------
    DataError
        The viewer already has layers of the same names, an image whose grid changed, or an unreadable
        annotation file.
    """
    from ..io import read_labels

    clash = [
        n for n in [im.name for im in spec.images] + [la.name for la in spec.layers] if n in viewer.layers
    ]
    if clash:
        raise DataError(
            f"the viewer already has layers named {', '.join(map(repr, clash))}: close them, or open the "
            "session in a new viewer"
        )
    volumes = {ref.name: _read_image(ref, paths[ref.name]) for ref in spec.images}  # all read before adding
    added = []
    for ref in spec.images:
        vol = volumes[ref.name]
        extra = {"source": str(paths[ref.name])} | ({"sample": ref.sample} if ref.sample else {})
        data, kwargs, _ = L.image_layer_data(
            vol.data, LayerGeometry.from_volume(vol), ref.name, class_names=spec.classes, **extra
        )
        added.append(viewer.add_image(data, **kwargs))
    for la in spec.layers:
        reference = volumes[la.image] if la.image is not None else None
        vol = read_labels(spec.path_of(la.file), kind="mask", reference=reference)
        geom = LayerGeometry.from_volume(reference if reference is not None else vol)
        kind = {"scribbles": "scribbles", "dense": "dense", "unpaired": "mask"}[la.kind]
        data, kwargs, _ = L.labels_layer_data(
            vol.data, geom, la.name, kind=kind, class_names=spec.classes, image=la.image
        )
        added.append(viewer.add_labels(np.ascontiguousarray(data), **kwargs))
    return added
