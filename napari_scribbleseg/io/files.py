"""Finding volume files: names, folder listings and pairing by name (DESIGN.md Sec. 2 "Files and pairing").

An image and its scribbles (or mask) pair by case name: ``images/case01.nii.gz`` <->
``scribbles/case01.nii.gz`` (or ``case01.nrrd``, ``case01.seg.nrrd``, ``case01.mha``...). The *case name*
is the file name without its volume ending (:data:`~.formats.VOLUME_SUFFIXES`); a DICOM series' case name
is the name of its folder (``images/case01/`` holding ``IM0001.dcm``...). It also names outputs and
sidecars.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from .formats import (
    SUPPORTED_INPUTS,
    VOLUME_SUFFIXES,
    dicom_files_in,
    file_format,
    is_dicom_file,
    volume_suffix,
)

__all__ = [
    "NIFTI_SUFFIXES",
    "case_name",
    "is_nifti",
    "list_nifti",
    "list_volumes",
    "nifti_suffix",
    "pair_by_name",
]

#: File name endings recognised as NIfTI (compared case-insensitively).
NIFTI_SUFFIXES = (".nii.gz", ".nii")


def nifti_suffix(path: str | Path) -> str | None:
    """The NIfTI ending of a file name as spelled in :data:`NIFTI_SUFFIXES` (``".nii.gz"``), or ``None``."""
    name = Path(path).name.lower()
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def is_nifti(path: str | Path) -> bool:
    """Whether a file name ends with ``.nii`` or ``.nii.gz`` (any case)."""
    return nifti_suffix(path) is not None


def case_name(path: str | Path) -> str:
    """The case name of a volume: ``"case01"`` for ``.../case01.nii.gz``, ``.../case01.seg.nrrd``...

    A folder (a DICOM series) gives its own name, a DICOM file the name of its folder. Other files lose
    their last suffix only (``"a.json"`` -> ``"a"``).
    """
    p = Path(path)
    suffix = volume_suffix(p)
    if suffix is not None:
        return p.name[: -len(suffix)]
    if p.is_dir():
        return p.resolve().name if p.name in ("", ".", "..") else p.name
    if is_dicom_file(p):
        return p.resolve().parent.name
    return p.stem


def _folder_volumes(p: Path) -> list[Path]:
    """The volumes in a folder: its volume files, itself if it holds DICOM files, and its DICOM subfolders."""
    files, series = [], []
    for f in sorted(p.iterdir()):
        if f.name.startswith("."):
            continue
        if f.is_file() and volume_suffix(f):
            files.append(f)
        elif f.is_dir() and dicom_files_in(f, first_only=True):
            series.append(f)
    if dicom_files_in(p, first_only=True):
        series.append(p)
    return files + series


def list_nifti(paths: Sequence[str | Path], *, what: str = "images") -> list[Path]:
    """Expand files and folders into a sorted list of volumes (files, or folders holding a DICOM series).

    A folder contributes the volume files it holds directly (:data:`~.formats.VOLUME_SUFFIXES`; not
    recursively; hidden files, such as the atomic writer's temporary files, are skipped), the folders
    directly inside it that hold DICOM files (one series each: ``images/case01/``, ``images/case02/``) and
    itself if it holds DICOM files. A DICOM file stands for its series (see :mod:`.dicom_read`).

    Parameters
    ----------
    paths
        Files and/or folders, as given on the command line.
    what
        What the files are (``"images"``, ``"masks"``...), used in error messages.

    Returns
    -------
    list of Path
        The files, each once, sorted by case name (the file name without ``.nii``/``.nii.gz``).

    Raises
    ------
    DataError
        If no path is given, a path does not exist, a folder holds no volume, a file is not a volume, or two
        volumes share a case name (they would overwrite each other's outputs and pair ambiguously).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if len(paths) == 0:
        raise DataError(f"{what}: no file or folder given")
    found: dict[Path, Path] = {}
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise DataError(f"{what}: {p} does not exist")
        if p.is_dir():
            files = _folder_volumes(p)
            if not files:
                raise DataError(f"{what}: the folder {p} contains no volume ({SUPPORTED_INPUTS})")
        else:
            if file_format(p) is None:
                raise DataError(f"{what}: {p} is not a volume file (expected {SUPPORTED_INPUTS})")
            files = [p]
        for f in files:
            found.setdefault(f.resolve(), f)
    result = sorted(found.values(), key=lambda f: (case_name(f), str(f)))
    by_case: dict[str, list[Path]] = {}
    for f in result:
        by_case.setdefault(case_name(f), []).append(f)
    clashes = {c: fs for c, fs in by_case.items() if len(fs) > 1}
    if clashes:
        detail = "; ".join(f"{c}: {', '.join(str(f) for f in fs)}" for c, fs in sorted(clashes.items()))
        raise DataError(f"{what}: several files share a case name ({detail}); give each case once")
    return result


#: :func:`list_nifti` under the name that says what it lists now (any supported volume).
list_volumes = list_nifti


def pair_by_name(
    images: Sequence[Path],
    folder: str | Path,
    *,
    what: str = "scribbles",
    required: bool = True,
) -> list[Path | None]:
    """Find ``folder/<same case name>.<volume ending>`` for each image.

    The exact file name is preferred; else ``case01.nii.gz``, ``case01.nii``, ``case01.seg.nrrd``,
    ``case01.nrrd``, ``case01.nhdr``, ``case01.mha``, ``case01.mhd``, ``case01.dcm`` (DICOM-SEG) in that
    order (a DICOM series ``images/case01/`` pairs with ``scribbles/case01.nii.gz`` and the like).

    Parameters
    ----------
    images
        Image files (e.g. from :func:`list_nifti`).
    folder
        Folder holding the partner files.
    what
        What the partners are (``"scribbles"``, ``"masks"``...), used in error messages.
    required
        If true, every image must have a partner.

    Returns
    -------
    list of Path or None
        The partner of each image, in order; ``None`` where there is none (only when not ``required``).

    Raises
    ------
    DataError
        If ``folder`` is not a folder, a partner is the image file itself, or (``required``) some images have
        no partner; the message lists the missing cases.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise DataError(f"{what}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"{what}: {folder} is not a folder")
    result: list[Path | None] = []
    missing: list[str] = []
    for image in images:
        image = Path(image)
        name = case_name(image)
        order = NIFTI_SUFFIXES + tuple(s for s in VOLUME_SUFFIXES if s not in NIFTI_SUFFIXES) + (".dcm",)
        candidates = [folder / image.name] + [folder / f"{name}{s}" for s in order]
        match = next((c for c in candidates if c.is_file()), None)
        if match is not None and match.resolve() == image.resolve():
            raise DataError(
                f"{what}: {match} is the image itself; the {what} folder must differ from the images folder"
            )
        if match is None:
            missing.append(name)
        result.append(match)
    if required and missing:
        shown = ", ".join(missing[:20]) + (f", ... ({len(missing) - 20} more)" if len(missing) > 20 else "")
        raise DataError(
            f"{what}: no file in {folder} for {len(missing)} of {len(result)} image(s): {shown} "
            f"(files pair by case name: images/case01.nii.gz or images/case01/ (DICOM) <-> "
            f"{folder.name}/case01.nii.gz)"
        )
    return result
