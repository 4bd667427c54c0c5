"""Writing NIfTI volumes: masks, scribbles and images on a reference image's grid, and new volumes.

- **Geometry round-trips.** A file written on the grid of a reference volume gets its affine, qform/sform
  and their codes, zooms and units, so that it opens aligned with the image in ITK-SNAP or 3D Slicer.
- **Label values are never rescaled.** Labels are written as ``uint8`` (``uint16`` when a value is 256 or
  more) with ``scl_slope = 1``, ``scl_inter = 0`` and the NIfTI "label" intent.
- **Writes are atomic** (:func:`~napari_scribbleseg.io.atomic.atomic_write`), so a crash never leaves half
  a file under the final name. Inputs are never overwritten: the writers refuse the reference's own file
  and any path the caller marks as protected.
- **Errors name the file and the problem** (:class:`~napari_scribbleseg.errors.DataError`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np

from ..errors import DataError
from ..labels import check_label_values
from .atomic import atomic_write
from .files import nifti_suffix
from .itksnap import itksnap_path, write_itksnap_labels
from .outputs import output_descrip
from .sidecar import sidecar_path, write_sidecar
from .volume import NiftiVolume, make_affine

__all__ = ["save_nifti", "write_image", "write_labels"]

_NIFTI_INTENT_LABEL = "label"


def _check_destination(
    path: str | Path, protected: Iterable[str | Path], reference: NiftiVolume | None
) -> Path:
    p = Path(path).expanduser()
    if nifti_suffix(p) is None:
        raise DataError(f"{p}: output file name must end with .nii or .nii.gz")
    if p.is_dir():
        raise DataError(f"{p}: is a folder; give an output file name")
    _refuse_protected(p, protected, reference)
    return p


def _refuse_protected(p: Path, protected: Iterable[str | Path], reference: NiftiVolume | None) -> None:
    guarded = [Path(q).expanduser() for q in protected]
    if reference is not None and reference.path is not None:
        guarded.append(reference.path)
    target = p.resolve()
    for q in guarded:
        same = q.resolve() == target
        if not same and p.exists() and q.exists():
            try:
                same = os.path.samefile(p, q)
            except OSError:
                same = False
        if same:
            raise DataError(f"{p}: refusing to overwrite an input file; choose another output location")


def _save(p: Path, img: nib.Nifti1Image) -> Path:
    """``nib.save`` through the atomic writer (the temporary file keeps the NIfTI ending)."""
    return atomic_write(p, lambda tmp: nib.save(img, str(tmp)), suffix=nifti_suffix(p), error=DataError)


def _image_from_reference(data: np.ndarray, reference: NiftiVolume) -> nib.Nifti1Image:
    """A new image on the reference's grid: same affine, qform/sform (and codes), zooms and units."""
    src = reference.header
    header = src.copy()
    klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    img = klass(data, reference.affine, header=header)
    hdr = img.header
    qcode = int(src["qform_code"])
    scode = int(src["sform_code"])
    if np.allclose(src.get_best_affine(), reference.affine, rtol=0, atol=1e-6):
        # Keep the reference's qform/sform fields as they are (bit for bit) and restate the codes, which
        # nibabel could otherwise reset.
        hdr["qform_code"] = qcode
        hdr["sform_code"] = scode
    else:
        # The volume's affine was changed after reading: it wins, stored under the reference's codes.
        hdr.set_sform(reference.affine, code=scode if scode > 0 else 2)
        hdr.set_qform(reference.affine, code=qcode if qcode > 0 else 0)
    hdr.set_xyzt_units(*src.get_xyzt_units())
    img.set_data_dtype(data.dtype)
    hdr.set_slope_inter(1.0, 0.0)
    hdr["cal_min"] = 0.0
    hdr["cal_max"] = 0.0
    return img


def _check_grid(p: Path, data: np.ndarray, reference: NiftiVolume, what: str) -> None:
    if data.shape != reference.shape:
        ref = reference.path if reference.path is not None else "the reference image"
        raise DataError(
            f"{p}: the {what} has shape {data.shape} but the reference {ref} has shape {reference.shape}; "
            f"they must be on the same voxel grid"
        )


def _label_array(p: Path, labels: np.ndarray) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise DataError(f"{p}: labels must be whole numbers, got data type {arr.dtype} with other values")
    lo = int(arr.min()) if arr.size else 0
    hi = int(arr.max()) if arr.size else 0
    if lo < 0:
        raise DataError(f"{p}: labels must be 0 or more, found {lo}")
    if hi >= 2**16:
        raise DataError(f"{p}: label value {hi} does not fit in uint16")
    return arr.astype(np.uint8 if hi < 256 else np.uint16)


def write_labels(
    path: str | Path,
    labels: np.ndarray,
    reference: NiftiVolume,
    *,
    class_names: Sequence[str] | None = None,
    kind: Literal["mask", "scribbles"] = "mask",
    protected: Iterable[str | Path] = (),
    made_by: str | None = None,
) -> Path:
    """Write a mask or scribbles on the grid of ``reference``.

    The file is ``uint8`` (``uint16`` when a label is 256 or more) with ``scl_slope = 1`` and
    ``scl_inter = 0``, the reference's affine, qform/sform and their codes, zooms and units, and the NIfTI
    "label" intent. It is written atomically (temporary file in the same folder, then :func:`os.replace`);
    parent folders are created.

    Parameters
    ----------
    path
        Output ``.nii`` or ``.nii.gz`` file.
    labels
        Integer labels with the reference's shape.
    reference
        The volume whose geometry the labels take (usually the input image).
    class_names
        If given (background first), the values are checked against it and two files are written next to
        the label file: a JSON sidecar ``<dir>/<case_name>.json``
        (:func:`~napari_scribbleseg.io.sidecar.write_sidecar`):
        ``{"encoding": kind, "classes": {"0": "background", ...}, "source": <reference file name>}``
        (``"source"`` is null when the reference has no file; ``"frame"`` is added for a frame of a 4D
        image), and ITK-SNAP label descriptions ``<dir>/<case_name>.labels.txt`` with the class names
        and the colours napari shows (:mod:`~napari_scribbleseg.io.itksnap`).
    kind
        ``"mask"`` (``0`` = background, ``k`` = structure ``k``) or ``"scribbles"`` (``0`` = not
        annotated, ``1`` = background, ``k + 1`` = structure ``k``; scribbles without any annotated voxel
        are allowed). The sidecar records it, so that the file opens again in the same encoding.
    protected
        Paths that must not be overwritten (e.g. the input volumes). The reference's own file is always
        protected, and so are the sidecars' paths.
    made_by
        The command that made the labels (``"scribbleseg predict"``): marks the file and its sidecar as
        the tool's own output, which later runs may replace (:mod:`~napari_scribbleseg.io.outputs`).
        ``None`` for what the user made (scribbles and masks saved from napari).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DataError
        Wrong shape, negative or non-integer labels, a protected destination, or a write failure.
    LabelError
        Values outside ``class_names``.
    """
    if kind not in ("mask", "scribbles"):
        raise ValueError(f"kind must be 'mask' or 'scribbles', got {kind!r}")
    protected = list(protected)
    p = _check_destination(path, protected, reference)
    data = _label_array(p, labels)
    _check_grid(p, data, reference, "mask" if kind == "mask" else "scribble volume")
    names: tuple[str, ...] | None = None
    if class_names is not None:
        names = tuple(str(n) for n in class_names)
        check_label_values(data, len(names), kind=kind, source=p.name, require_annotation=False)
        _refuse_protected(sidecar_path(p), protected, reference)
        _refuse_protected(itksnap_path(p), protected, reference)
    img = _image_from_reference(data, reference)
    img.header.set_intent(_NIFTI_INTENT_LABEL)
    img.header["descrip"] = output_descrip(made_by) if made_by else f"napari-scribbleseg {kind}".encode()
    _save(p, img)
    if names is not None:
        source = reference.path.name if reference.path is not None else None
        frame = reference.source.frame if reference.source is not None else None
        write_sidecar(p, names, kind=kind, source=source, made_by=made_by, frame=frame)
        write_itksnap_labels(p, names, kind=kind, made_by=made_by)
    return p


def write_image(
    path: str | Path,
    data: np.ndarray,
    reference: NiftiVolume,
    *,
    protected: Iterable[str | Path] = (),
    made_by: str | None = None,
) -> Path:
    """Write a ``float32`` image (e.g. an uncertainty map) on the grid of ``reference``.

    Same geometry rules, atomicity, protections and output mark (``made_by``) as :func:`write_labels`.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DataError
        Wrong shape, a protected destination, or a write failure.
    """
    p = _check_destination(path, protected, reference)
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{p}: image data must be numeric, got data type {arr.dtype}")
    arr = arr.astype(np.float32)
    _check_grid(p, arr, reference, "image")
    img = _image_from_reference(arr, reference)
    img.header.set_intent("none")
    img.header["descrip"] = output_descrip(made_by) if made_by else b""
    _save(p, img)
    return p


def save_nifti(
    path: str | Path,
    data: np.ndarray,
    affine: np.ndarray | None = None,
    *,
    spacing: Sequence[float] | None = None,
    kind: Literal["auto", "image", "labels"] = "auto",
    protected: Iterable[str | Path] = (),
) -> Path:
    """Write a brand-new 3D volume (no reference image), atomically, with qform/sform code 1 (scanner).

    Used by the sample-data generators.

    Parameters
    ----------
    path
        Output ``.nii`` or ``.nii.gz`` file.
    data
        3D array.
    affine
        4x4 voxel-to-world matrix. If ``None``, ``diag(spacing)`` (spacing defaults to 1 mm).
    spacing
        Voxel sizes. With an ``affine``, its columns are rescaled to these sizes (the affine then only gives
        the axis directions and the origin).
    kind
        ``"labels"``: written as ``uint8`` (``uint16`` when a value is 256 or more), never scaled;
        ``"image"``: ``float32``; ``"auto"``: labels for integer or boolean data, else image.
    protected
        Paths that must not be overwritten.

    Returns
    -------
    Path
        The written file.
    """
    p = _check_destination(path, protected, None)
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise DataError(f"{p}: a 3D array is needed, got shape {arr.shape}")
    if kind == "auto":
        kind = "labels" if (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_) else "image"
    if kind == "labels":
        arr = _label_array(p, arr)
    elif kind == "image":
        arr = arr.astype(np.float32)
    else:
        raise ValueError(f"kind must be 'auto', 'image' or 'labels', got {kind!r}")
    aff = make_affine(affine, spacing, name=str(p))
    img = nib.Nifti1Image(arr, aff)
    hdr = img.header
    hdr.set_qform(aff, code=1)
    hdr.set_sform(aff, code=1)
    hdr.set_xyzt_units("mm", "sec")
    img.set_data_dtype(arr.dtype)
    hdr.set_slope_inter(1.0, 0.0)
    if kind == "labels":
        hdr.set_intent(_NIFTI_INTENT_LABEL)
    _save(p, img)
    return p
