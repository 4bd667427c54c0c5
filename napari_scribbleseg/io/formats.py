"""Which file formats the package reads and writes, recognised from a path.

Volumes in (images, scribbles, masks):

=================  =============================================  ===========
family             paths                                          read with
=================  =============================================  ===========
``"nifti"``        ``.nii``, ``.nii.gz``                          nibabel
``"nrrd"``         ``.nrrd``, ``.nhdr``, 3D Slicer ``.seg.nrrd``  SimpleITK, pynrrd (``.seg.nrrd``)
``"metaimage"``    ``.mha``, ``.mhd``                             SimpleITK
``"dicom"``        a folder holding a DICOM series, or one file   SimpleITK (GDCM)
                   of the series (the rest is found in its folder)
=================  =============================================  ===========

Masks out (:data:`OUTPUT_FORMATS`): ``"nifti"`` (``.nii.gz`` + JSON sidecar + ITK-SNAP label
descriptions), ``"seg.nrrd"`` (3D Slicer segmentation) and ``"dicom-seg"`` (DICOM Segmentation object,
``.dcm``). By default a mask goes out in its image's family (:func:`default_output_format`): NIfTI and
MetaImage images give NIfTI (MetaImage has no standard place for class names and colours), NRRD gives
``.seg.nrrd``, DICOM gives DICOM-SEG.

A file is DICOM when it has the ``DICM`` marker of the DICOM file format (Part 10) after its 128-byte
preamble, whatever its name.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DICOM_MAGIC_OFFSET",
    "OUTPUT_FORMATS",
    "SUPPORTED_INPUTS",
    "VOLUME_SUFFIXES",
    "default_output_format",
    "dicom_files_in",
    "file_format",
    "holds_dicom",
    "input_files",
    "is_dicom_file",
    "is_seg_nrrd",
    "is_volume_path",
    "output_suffix",
    "volume_suffix",
]

#: File name endings of volume files and their family, longest first (compared case-insensitively).
_SUFFIX_FAMILY = (
    (".seg.nrrd", "nrrd"),
    (".nii.gz", "nifti"),
    (".nii", "nifti"),
    (".nrrd", "nrrd"),
    (".nhdr", "nrrd"),
    (".mha", "metaimage"),
    (".mhd", "metaimage"),
)
#: File name endings recognised as volume files.
VOLUME_SUFFIXES = tuple(s for s, _ in _SUFFIX_FAMILY)
#: The supported inputs in words, for messages.
SUPPORTED_INPUTS = "NIfTI .nii/.nii.gz, NRRD .nrrd/.nhdr, MetaImage .mha/.mhd, or a DICOM series"

#: Formats a mask can be written in, and the file ending of each.
OUTPUT_FORMATS = {"nifti": ".nii.gz", "seg.nrrd": ".seg.nrrd", "dicom-seg": ".dcm"}

#: Where the ``DICM`` marker of a DICOM Part 10 file is.
DICOM_MAGIC_OFFSET = 128


def volume_suffix(path: str | Path) -> str | None:
    """The volume ending of a file name as spelled in :data:`VOLUME_SUFFIXES` (``".nii.gz"``), or ``None``."""
    name = Path(path).name.lower()
    for suffix, _ in _SUFFIX_FAMILY:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def is_seg_nrrd(path: str | Path) -> bool:
    """Whether a file name ends with ``.seg.nrrd`` (3D Slicer's segmentation file)."""
    return volume_suffix(path) == ".seg.nrrd"


def is_dicom_file(path: str | Path) -> bool:
    """Whether ``path`` is a readable file with the DICOM Part 10 marker; never raises."""
    try:
        with open(path, "rb") as fh:
            fh.seek(DICOM_MAGIC_OFFSET)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def dicom_files_in(folder: str | Path, *, first_only: bool = False) -> list[Path]:
    """The DICOM files directly inside ``folder`` (hidden files skipped), sorted by name.

    With ``first_only`` the search stops at the first one found (a cheap "does it hold DICOM" test).
    """
    found = []
    try:
        entries = sorted(Path(folder).iterdir())
    except OSError:
        return []
    for f in entries:
        if f.name.startswith(".") or volume_suffix(f) is not None or not f.is_file():
            continue
        if is_dicom_file(f):
            found.append(f)
            if first_only:
                break
    return found


def holds_dicom(folder: str | Path) -> bool:
    """Whether ``folder`` is a folder with at least one DICOM file directly inside."""
    return Path(folder).is_dir() and bool(dicom_files_in(folder, first_only=True))


def file_format(path: str | Path) -> str | None:
    """The family of a volume path: ``"nifti"``, ``"nrrd"``, ``"metaimage"``, ``"dicom"`` or ``None``.

    A folder is ``"dicom"`` when it holds DICOM files; a file by its ending, else ``"dicom"`` when it is
    a DICOM file. Only a DICOM test reads from the disk (132 bytes per file).
    """
    p = Path(path)
    suffix = volume_suffix(p)
    if suffix is not None:
        return dict(_SUFFIX_FAMILY)[suffix]
    if p.is_dir():
        return "dicom" if holds_dicom(p) else None
    return "dicom" if is_dicom_file(p) else None


def is_volume_path(path: str | Path) -> bool:
    """Whether the package can open ``path`` as a volume (see :func:`file_format`)."""
    return file_format(path) is not None


def input_files(paths: list[Path] | tuple[Path, ...]) -> list[Path]:
    """``paths`` and, for a DICOM series (a folder or one of its files), every DICOM file of its folder.

    What a command must never replace: its inputs, file by file.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        out.append(p)
        if p.is_dir():
            out += dicom_files_in(p)
        elif volume_suffix(p) is None and is_dicom_file(p):
            out += [f for f in dicom_files_in(p.parent) if f != p]
    return out


def default_output_format(source_format: str | None) -> str:
    """The mask format for an image of family ``source_format`` (see the module docs)."""
    return {"nrrd": "seg.nrrd", "dicom": "dicom-seg"}.get(source_format or "", "nifti")


def output_suffix(fmt: str) -> str:
    """The file ending of mask format ``fmt`` (``".nii.gz"``, ``".seg.nrrd"``, ``".dcm"``).

    Raises
    ------
    ValueError
        For an unknown format.
    """
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[fmt]
