"""The public readers: any supported volume, one geometry convention (issue #11).

:func:`read_image` and :func:`read_labels` choose the reader from the path (:mod:`.formats`): nibabel for
NIfTI (:mod:`.nifti_read`), SimpleITK for NRRD and MetaImage (:mod:`.sitk_read`) and DICOM series
(:mod:`.dicom_read`), pynrrd for 3D Slicer's ``.seg.nrrd`` (:mod:`.segnrrd`), highdicom for DICOM-SEG
(:mod:`.dicomseg`). Whatever the source, the volume comes back the same way: array ``[i, j, k]`` and a
RAS+ affine, so the same physical volume gives the same array and world coordinates from every format.

4D sources (cine MRI: 20-30 frames) need a ``frame``; :func:`count_frames` says how many there are and
:func:`read_image_frames` reads them all at once (napari opens each as a layer).

Class names and colours stored with labels (:func:`read_label_table`, :func:`read_class_names`) come from
the JSON sidecar, the segments of a ``.seg.nrrd`` or a DICOM-SEG, or ITK-SNAP label descriptions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import DataError
from .dicom_read import count_dicom_frames, dicom_modality, read_dicom, read_dicom_frames
from .formats import SUPPORTED_INPUTS, file_format, is_seg_nrrd
from .itksnap import itksnap_path, read_itksnap_labels
from .nifti_read import (
    LABEL_WORDS,
    check_labels,
    nifti_label_kind,
    read_nifti_frames,
    read_nifti_image,
    read_nifti_labels,
)
from .segnrrd import ENCODING_FIELD, read_seg_nrrd, read_seg_nrrd_header, seg_nrrd_table
from .sidecar import read_sidecar, read_sidecar_content
from .sitk_read import count_sitk_frames, read_sitk, read_sitk_frames
from .volume import NiftiVolume

__all__ = [
    "count_frames",
    "label_kind",
    "read_class_names",
    "read_image",
    "read_image_frames",
    "read_label_table",
    "read_labels",
]

LabelTable = list[tuple[int, str, tuple[int, int, int]]]


def _format(path: str | Path) -> tuple[Path, str]:
    """The path and its family, or a DataError saying what is wrong with it."""
    p = Path(path).expanduser()
    fmt = file_format(p)
    if fmt is not None:
        return p, fmt
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder without DICOM files; give a volume file or a DICOM series folder")
    raise DataError(f"{p}: is not a supported volume (expected {SUPPORTED_INPUTS})")


def _is_dicom_seg(p: Path) -> bool:
    return p.is_file() and dicom_modality(p) == "SEG"


def read_image(path: str | Path, *, frame: int | None = None, series: str | None = None) -> NiftiVolume:
    """Read a 3D image (or one frame of a 4D one) as ``float32``, from any supported format.

    Parameters
    ----------
    path
        A ``.nii``/``.nii.gz``, ``.nrrd``/``.nhdr``, ``.mha``/``.mhd`` file, a folder holding a DICOM
        series, or one file of a DICOM series.
    frame
        The frame of a 4D file or cine series (0-based); needed for those, ignored for 3D volumes.
    series
        DICOM: the SeriesInstanceUID to read when the folder holds several series.

    Returns
    -------
    NiftiVolume
        Array ``[i, j, k]``, RAS+ affine, ``source`` saying where it came from.

    Raises
    ------
    DataError
        A missing, unreadable, corrupt or unsupported file; not 3D; 4D without a valid frame; several
        DICOM series and none chosen; beyond the size and spacing limits (checked before the voxels are
        read); non-finite intensities. The message names the file and the problem.
    """
    p, fmt = _format(path)
    if fmt == "nifti":
        return read_nifti_image(p, frame=frame)
    if fmt == "dicom":
        return read_dicom(p, frame=frame, series=series)
    return read_sitk(p, frame=frame)


def read_labels(
    path: str | Path,
    *,
    kind: Literal["scribbles", "mask"],
    n_classes: int | None = None,
    reference: NiftiVolume | None = None,
    frame: int | None = None,
) -> NiftiVolume:
    """Read scribbles or a mask as integers, never rescaled, from any supported label format.

    Parameters
    ----------
    path
        A NIfTI, NRRD (3D Slicer ``.seg.nrrd`` included) or MetaImage file, or a DICOM-SEG file.
    kind
        ``"scribbles"`` (0 = not annotated, 1 = background, k+1 = structure k) or ``"mask"``
        (0 = background, k = structure k); see :mod:`napari_scribbleseg.labels`.
    n_classes
        Number of classes including background; if given, the values are checked against the class list
        (and scribbles must annotate at least one voxel).
    reference
        The image the labels belong to; if given, the shape and the affine must match it (within 1e-3 mm
        and 1e-4 in the axis directions). A ``.seg.nrrd`` or DICOM-SEG that covers only part of the
        image's grid (cropped to its segments) is placed on it.
    frame
        The frame of a 4D label file.

    Returns
    -------
    NiftiVolume
        Integer data with the label file's geometry (the reference's, once placed on it).

    Raises
    ------
    DataError
        Same file problems as :func:`read_image`; a DICOM image series (not labels); shape or affine
        different from ``reference`` (the message names both files and shows both); non-integer values.
    LabelError
        Values outside the class list or, for scribbles, no annotated voxel.
    """
    if kind not in ("scribbles", "mask"):
        raise ValueError(f"kind must be 'scribbles' or 'mask', got {kind!r}")
    p, fmt = _format(path)
    if fmt == "nifti":
        vol = read_nifti_labels(p, frame=frame)
    elif is_seg_nrrd(p):
        vol = _on_grid(read_seg_nrrd(p)[0], reference)
    elif fmt == "dicom":
        if not _is_dicom_seg(p):
            raise DataError(f"{p}: is a DICOM image series, not labels (a DICOM-SEG file is needed)")
        from .dicomseg import read_dicom_seg

        vol = _on_grid(read_dicom_seg(p, reference)[0], reference)
    else:
        vol = read_sitk(p, frame=frame, labels=True)
    return check_labels(vol, kind=kind, n_classes=n_classes, reference=reference)


def _on_grid(vol: NiftiVolume, reference: NiftiVolume | None) -> NiftiVolume:
    """``vol`` placed on ``reference``'s grid when it covers a part of it voxel for voxel (else as is)."""
    if reference is None or vol.shape == reference.shape:
        return vol
    a, r = vol.affine, reference.affine
    if not np.allclose(a[:3, :3], r[:3, :3], rtol=0, atol=1e-4):
        return vol
    offset = np.linalg.solve(r[:3, :3], a[:3, 3] - r[:3, 3])
    start = np.round(offset).astype(int)
    stop = start + np.asarray(vol.shape)
    if np.abs(offset - start).max() > 1e-3 or np.any(start < 0) or np.any(stop > np.asarray(reference.shape)):
        return vol
    data = np.zeros(reference.shape, dtype=vol.data.dtype)
    data[start[0] : stop[0], start[1] : stop[1], start[2] : stop[2]] = vol.data
    return NiftiVolume(data, r.copy(), reference.header.copy(), vol.path, vol.source)


def count_frames(path: str | Path, *, series: str | None = None) -> int:
    """Number of frames of a volume (1 for 3D), from its header(s) only.

    A ``.seg.nrrd`` and a DICOM-SEG are one frame (their layers or segments are not frames).
    """
    p, fmt = _format(path)
    if is_seg_nrrd(p) or (fmt == "dicom" and _is_dicom_seg(p)):
        return 1
    if fmt == "nifti":
        import nibabel as nib

        from .nifti_read import _spatial_shape

        try:
            shape = nib.load(str(p)).shape
        except Exception as exc:
            raise DataError(f"{p}: cannot be read as NIfTI (corrupt or not a NIfTI file): {exc}") from exc
        return _spatial_shape(p, shape)[1]
    if fmt == "dicom":
        return count_dicom_frames(p, series=series)
    return count_sitk_frames(p)


def read_image_frames(path: str | Path, *, series: str | None = None) -> list[NiftiVolume]:
    """Every frame of an image as ``float32`` volumes (one for a 3D image), each on the same grid.

    The file is read once (DICOM: each frame's files once). The size limits apply to all frames together.
    """
    p, fmt = _format(path)
    if fmt == "dicom":
        return read_dicom_frames(p, series=series)
    if fmt != "nifti":
        return read_sitk_frames(p)
    return read_nifti_frames(p)


def label_kind(path: str | Path) -> Literal["scribbles", "mask"] | None:
    """``"scribbles"`` or ``"mask"`` if the volume ``path`` holds labels, else ``None``.

    NIfTI: see :func:`~napari_scribbleseg.io.nifti_read.nifti_label_kind`. A ``.seg.nrrd`` and a DICOM-SEG
    always hold labels (scribbles when the file says so). Other NRRD and MetaImage files: a JSON sidecar,
    or integer voxels and a path naming labels (:data:`LABEL_WORDS`). Only headers are read; a file that
    cannot be read gives ``None``.
    """
    p = Path(path)
    fmt = file_format(p)
    words = str(p).lower()
    guess: Literal["scribbles", "mask"] = "scribbles" if "scribble" in words else "mask"
    if fmt == "nifti":
        return nifti_label_kind(p)
    if fmt == "dicom":
        return "mask" if _is_dicom_seg(p) else None
    if fmt is None:
        return None
    if is_seg_nrrd(p):
        try:
            enc = read_seg_nrrd_header(p).get(ENCODING_FIELD)
        except DataError:
            return None
        return "scribbles" if enc == "scribbles" else "mask"
    side = read_sidecar_content(p)
    if side is not None:
        enc = side.get("encoding")
        return enc if enc in ("scribbles", "mask") else guess  # type: ignore[return-value]
    try:
        import SimpleITK as sitk

        reader = sitk.ImageFileReader()
        reader.SetFileName(str(p))
        reader.ReadImageInformation()
        integer = int(reader.GetPixelIDValue()) <= 7  # sitkInt8 .. sitkUInt64
    except Exception:  # unreadable: the image reader reports it with the file name
        return None
    return guess if integer and any(w in words for w in LABEL_WORDS) else None


def read_label_table(path: str | Path) -> LabelTable | None:
    """``(value, name, (r, g, b))`` of each label stored with a label file, by value; ``None`` if none.

    From the segments of a ``.seg.nrrd`` or DICOM-SEG, else the ITK-SNAP label descriptions next to the
    file (:func:`~napari_scribbleseg.io.itksnap.itksnap_path`).

    Raises
    ------
    DataError
        If the file or its label descriptions cannot be read.
    """
    p = Path(path)
    if is_seg_nrrd(p):
        return seg_nrrd_table(p)
    if file_format(p) == "dicom" and _is_dicom_seg(p):
        from .dicomseg import dicom_seg_table

        return dicom_seg_table(p)
    side = itksnap_path(p)
    return read_itksnap_labels(side) if side.is_file() else None


def read_class_names(path: str | Path, kind: str | None = None) -> tuple[str, ...] | None:
    """Class names stored with a label file (background first), or ``None``.

    In order: the JSON sidecar, then the label table (:func:`read_label_table`), read in the file's
    encoding (``kind``, default :func:`label_kind`): mask value ``k`` (scribble value ``k + 1``) names
    class ``k``; a mask's background, which is no segment, is ``"background"``. A table whose values have
    gaps gives ``None``.

    Raises
    ------
    DataError
        If the sidecar or the label table exists but cannot be read.
    """
    names = read_sidecar(path)
    if names is not None:
        return names
    table = read_label_table(path)
    if not table:
        return None
    kind = kind or label_kind(path) or "mask"
    by_value = {v: n for v, n, _ in table}
    if kind == "scribbles":
        by_value.pop(0, None)
        shift = 1
    else:
        if by_value.get(0) in (None, "Clear Label"):
            by_value[0] = "background"
        shift = 0
    values = sorted(by_value)
    if values != list(range(shift, shift + len(values))) or len(values) < 2:
        return None
    return tuple(by_value[v] for v in values)
