"""Writing a mask in the format a user asks for: NIfTI, 3D Slicer ``.seg.nrrd`` or DICOM-SEG.

- ``"nifti"``: :func:`~napari_scribbleseg.io.nifti_write.write_labels` (the image's header geometry, a
  JSON sidecar and ITK-SNAP label descriptions next to it);
- ``"seg.nrrd"``: :func:`~napari_scribbleseg.io.segnrrd.write_seg_nrrd` (one segment per class);
- ``"dicom-seg"``: :func:`~napari_scribbleseg.io.dicomseg.write_dicom_seg` (needs an image read from a
  DICOM series, and the ``dicom`` extra).

Every format carries the class names and the colours napari shows, goes through the atomic writer, never
replaces an input (:func:`output_files` lists every file a write makes, for
:func:`~napari_scribbleseg.io.outputs.check_outputs`) and, for a command's output, carries its mark.
The default format is the image's family (:func:`~napari_scribbleseg.io.formats.default_output_format`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from ..errors import DataError
from ..labels import check_label_values
from .files import case_name, nifti_suffix
from .formats import OUTPUT_FORMATS, default_output_format, file_format, output_suffix, volume_suffix
from .itksnap import itksnap_path
from .nifti_write import _check_grid, _label_array, _refuse_protected, write_labels
from .sidecar import sidecar_path
from .volume import NiftiVolume

__all__ = [
    "check_output_format",
    "format_of_output",
    "output_files",
    "output_format",
    "output_name",
    "write_mask",
]


def format_of_output(path: str | Path) -> str | None:
    """The mask format a file name asks for (``.nii.gz`` -> ``"nifti"``...), or ``None``."""
    suffix = volume_suffix(path)
    if suffix in (".nii", ".nii.gz"):
        return "nifti"
    if suffix == ".seg.nrrd":
        return "seg.nrrd"
    if Path(path).name.lower().endswith(".dcm"):
        return "dicom-seg"
    return None


def output_format(requested: str | None, image: str | Path | None) -> str:
    """``requested`` (checked) or the default for ``image``'s family.

    Raises
    ------
    DataError
        An unknown format (the message lists the valid ones).
    """
    if requested is None:
        return default_output_format(file_format(image) if image is not None else None)
    if requested not in OUTPUT_FORMATS:
        raise DataError(f"unknown output format {requested!r}; choose one of: {', '.join(OUTPUT_FORMATS)}")
    return requested


def check_output_format(fmt: str, image: str | Path) -> None:
    """Refuse, before any work, a format that cannot be written for ``image``.

    DICOM-SEG needs a DICOM series as the image, and highdicom and pydicom installed.

    Raises
    ------
    DataError
        Naming the image or the format, and what to do.
    """
    output_suffix(fmt)
    if fmt == "dicom-seg":
        if file_format(image) != "dicom":
            raise DataError(
                f"{image}: DICOM-SEG output needs a DICOM series as input (it references the source slices); "
                f"use --format nifti or --format seg.nrrd for this image"
            )
        from .dicomseg import require_dicom_packages

        require_dicom_packages(image)


def output_name(image: str | Path, fmt: str) -> str:
    """The file name of the mask of ``image`` in format ``fmt``.

    A NIfTI mask of a NIfTI image keeps the image's file name (``case01.nii`` stays ``.nii``); otherwise
    the case name and the format's ending (``case01.seg.nrrd``; a DICOM series folder ``case01/`` gives
    ``case01.dcm``).
    """
    if fmt == "nifti" and nifti_suffix(image) is not None:
        return Path(image).name
    return case_name(image) + output_suffix(fmt)


def output_files(dest: str | Path, fmt: str) -> list[Path]:
    """Every file a mask written to ``dest`` in ``fmt`` makes (a NIfTI mask's two sidecars included)."""
    p = Path(dest)
    if fmt == "nifti":
        return [p, sidecar_path(p), itksnap_path(p)]
    return [p]


def write_mask(
    path: str | Path,
    labels: object,
    reference: NiftiVolume,
    *,
    class_names: Sequence[str],
    fmt: str | None = None,
    kind: Literal["mask", "scribbles"] = "mask",
    protected: Iterable[str | Path] = (),
    made_by: str | None = None,
) -> Path:
    """Write labels on ``reference``'s grid in ``fmt`` (default: from ``path``'s ending).

    Parameters
    ----------
    path
        Output file; its ending must suit the format (``.nii``/``.nii.gz``, ``.seg.nrrd``, ``.dcm``).
    labels
        Integer labels with the reference's shape.
    reference
        The image the labels were computed on.
    class_names
        Background first; the values are checked against them.
    fmt
        ``"nifti"``, ``"seg.nrrd"`` or ``"dicom-seg"``.
    kind
        ``"mask"`` or ``"scribbles"`` (DICOM-SEG holds masks only).
    protected
        Paths never to overwrite (the reference's own file is always protected).
    made_by
        The command that made the labels (marks the files as its outputs).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DataError
        Wrong ending, shape or values, a protected destination, a format the image cannot have
        (DICOM-SEG of a non-DICOM image), missing packages, or a write failure.
    LabelError
        Values outside ``class_names``.
    """
    p = Path(path).expanduser()
    fmt = fmt or format_of_output(p)
    if fmt is None:
        raise DataError(f"{p}: output file name must end with .nii, .nii.gz, .seg.nrrd or .dcm (DICOM-SEG)")
    if fmt == "nifti":
        return write_labels(
            p, labels, reference, class_names=class_names, kind=kind, protected=protected, made_by=made_by
        )
    if format_of_output(p) != fmt:
        raise DataError(f"{p}: a {fmt} file name must end with {output_suffix(fmt)}")
    if p.is_dir():
        raise DataError(f"{p}: is a folder; give an output file name")
    _refuse_protected(p, list(protected), reference)
    data = _label_array(p, labels)
    _check_grid(p, data, reference, "mask" if kind == "mask" else "scribble volume")
    names = tuple(str(n) for n in class_names)
    check_label_values(data, len(names), kind=kind, source=p.name, require_annotation=False)
    if fmt == "seg.nrrd":
        from .segnrrd import write_seg_nrrd

        return write_seg_nrrd(p, data, reference, names, kind=kind, made_by=made_by)
    if kind != "mask":
        raise DataError(f"{p}: DICOM-SEG holds masks; save scribbles as NIfTI or .seg.nrrd")
    from .dicomseg import write_dicom_seg

    return write_dicom_seg(p, data, reference, names, made_by=made_by)
