"""Reading a DICOM series (a folder of slices) with SimpleITK/GDCM, into the engine's geometry convention.

What is read:

- **One series.** A folder may hold several series (a study exported at once); the reader then stops with
  a message that lists them (UID, description, modality, number of files) and says how to choose: the
  ``series`` argument (``--series UID`` on the command line) or the path of one file of the series.
  Objects that are not images (DICOM-SEG, RT structures, reports...) are not series to read.
- **One 3D grid.** The slices must share one orientation and lie evenly spaced along its normal (a missing
  slice or a gantry tilt is refused, naming the gaps), so that the volume has one affine.
- **Cine series** (several images per slice position, e.g. 25 cardiac phases): one frame is read, chosen
  with ``frame`` (``--frame N``); frames are ordered by trigger time, then instance number.
- **Limits.** Rows x columns x slices and the spacing are checked against
  :mod:`~napari_scribbleseg.io.limits` from the headers, before any pixel is read.

The volume's :attr:`~napari_scribbleseg.io.volume.NiftiVolume.source` keeps the series UID and the files
of the frame in the order of the array's third axis, which the DICOM-SEG writer references.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .formats import dicom_files_in, is_dicom_file
from .limits import check_declared
from .nifti_read import check_frame
from .sitk_read import _itk_message, volume_from_sitk
from .volume import NiftiVolume, VolumeSource

__all__ = [
    "DicomSlice",
    "count_dicom_frames",
    "dicom_modality",
    "dicom_series",
    "dicom_series_uid",
    "dicom_source_files",
    "read_dicom",
    "read_dicom_frames",
]

#: Modalities of DICOM objects that are not images to segment.
_NOT_IMAGES = {"SEG", "RTSTRUCT", "RTPLAN", "RTRECORD", "SR", "PR", "KO", "REG", "DOC"}
#: Slice positions closer than this (mm) are the same position (cine frames).
_SAME_POSITION_MM = 1e-3
#: Largest accepted deviation of a slice gap from the mean gap, and of a slice from the stack's axis (mm).
_GAP_TOLERANCE_MM = 1e-2


@dataclass(frozen=True)
class DicomSlice:
    """The header values of one DICOM file that place it in the volume."""

    file: Path
    position: np.ndarray
    orientation: np.ndarray
    rows: int
    columns: int
    trigger_time: float
    instance: int
    frames: int


def _info(f: Path) -> Any:
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(f))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise DataError(f"{f}: cannot be read as DICOM: {_itk_message(exc)}") from exc
    return reader


def _tag(reader: Any, key: str, default: str = "") -> str:
    return reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else default


def _numbers(f: Path, reader: Any, key: str, n: int, what: str) -> np.ndarray:
    text = _tag(reader, key)
    try:
        values = np.array([float(v) for v in text.split("\\")], dtype=np.float64)
    except ValueError:
        values = np.zeros(0)
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise DataError(
            f"{f}: no valid {what} ({key.replace('|', ',')}: {text!r}); cannot place the slice in 3D"
        )
    return values


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _slice(f: Path, r: Any) -> DicomSlice:
    return DicomSlice(
        f,
        _numbers(f, r, "0020|0032", 3, "Image Position (Patient)"),
        _numbers(f, r, "0020|0037", 6, "Image Orientation (Patient)"),
        int(_float(_tag(r, "0028|0010", "0"))),
        int(_float(_tag(r, "0028|0011", "0"))),
        _float(_tag(r, "0018|1060", "0")),
        int(_float(_tag(r, "0020|0013", "0"))),
        max(1, int(_float(_tag(r, "0028|0008", "1")))),
    )


def _describe(uid: str, entries: list[tuple[Path, Any]]) -> str:
    r = entries[0][1]
    desc = _tag(r, "0008|103e") or "no description"
    return f"  {uid}  ({_tag(r, '0008|0060') or '?'}, {len(entries)} files, {desc})"


def _scan(folder: Path) -> dict[str, list[tuple[Path, Any]]]:
    """The image files of ``folder`` by SeriesInstanceUID, each with its header (one pass over the files).

    Files GDCM cannot read as images (a DICOMDIR, a report) and non-image objects are left out.
    """
    found: dict[str, list[tuple[Path, Any]]] = {}
    for f in dicom_files_in(folder):
        try:
            r = _info(f)
        except DataError:
            continue
        if _tag(r, "0008|0060").upper() not in _NOT_IMAGES:
            found.setdefault(_tag(r, "0020|000e"), []).append((f, r))
    return found


def _select(path: str | Path, series: str | None) -> tuple[Path, str, list[tuple[Path, Any]]]:
    """The folder, SeriesInstanceUID and ``(file, header)`` entries of the series ``path`` designates."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: file or folder not found")
    folder = p if p.is_dir() else p.parent
    if p.is_file():
        if not is_dicom_file(p):
            raise DataError(f"{p}: is not a DICOM file")
        info = _info(p)
        modality = _tag(info, "0008|0060").upper()
        if modality in _NOT_IMAGES:
            hint = (
                " (a segmentation: open it as labels, with the series it segments)"
                if modality == "SEG"
                else ""
            )
            raise DataError(f"{p}: is a DICOM {modality} object, not an image{hint}")
        own = _tag(info, "0020|000e")
        if series and own and series != own:
            raise DataError(f"{p}: belongs to series {own}, not to the series {series} asked for")
        series = series or own
    found = _scan(folder)
    if not found:
        raise DataError(f"{p}: holds no DICOM image series (no readable DICOM images directly in {folder})")
    listing = "\n".join(_describe(u, e) for u, e in found.items())
    if series is not None and series not in found:
        raise DataError(f"{p}: has no image series {series}; its series are:\n{listing}")
    if series is None and len(found) > 1:
        raise DataError(
            f"{p}: holds {len(found)} DICOM series; choose one with --series UID (in napari: open one file "
            f"of the series), or put each series in its own folder:\n{listing}"
        )
    uid = series if series is not None else next(iter(found))
    return folder, uid, found[uid]


def dicom_series(path: str | Path, series: str | None = None) -> tuple[Path, str, list[Path]]:
    """The folder, SeriesInstanceUID and files of the series that ``path`` designates.

    Parameters
    ----------
    path
        A folder holding one series, or one file of the series (its folder is searched).
    series
        The SeriesInstanceUID to read when the folder holds several.

    Raises
    ------
    DataError
        No DICOM series; several series and none chosen (the message lists them); ``series`` not there.
    """
    folder, uid, entries = _select(path, series)
    return folder, uid, [f for f, _ in entries]


def _frames(name: Path, slices: list[DicomSlice]) -> list[list[DicomSlice]]:
    """The slices grouped into frames (one per cine phase), each sorted along the slice normal."""
    first = slices[0]
    for s in slices:
        if s.frames > 1:
            raise DataError(
                f"{s.file}: is a multi-frame (enhanced) DICOM file with {s.frames} frames, which is not "
                f"supported; convert the series to NIfTI first (e.g. with dcm2niix)"
            )
        if np.abs(s.orientation - first.orientation).max() > 1e-4:
            raise DataError(
                f"{name}: the slices have different orientations ({first.file.name} and {s.file.name}); "
                f"a series with one orientation is needed (a localiser mixed in?)"
            )
        if (s.rows, s.columns) != (first.rows, first.columns):
            raise DataError(
                f"{name}: the slices have different sizes ({first.rows}x{first.columns} in "
                f"{first.file.name}, {s.rows}x{s.columns} in {s.file.name})"
            )
    normal = np.cross(first.orientation[:3], first.orientation[3:])
    by_position: list[tuple[float, list[DicomSlice]]] = []
    for s in sorted(slices, key=lambda s: float(s.position @ normal)):
        d = float(s.position @ normal)
        if by_position and abs(d - by_position[-1][0]) < _SAME_POSITION_MM:
            by_position[-1][1].append(s)
        else:
            by_position.append((d, [s]))
    counts = {len(group) for _, group in by_position}
    if len(counts) > 1:
        raise DataError(
            f"{name}: the slice positions hold different numbers of images ({min(counts)} to {max(counts)}); "
            f"a 3D series has one image per position and a cine series the same number at each"
        )
    _check_spacing(name, [group[0] for _, group in by_position], normal)
    phases = [
        sorted(group, key=lambda s: (s.trigger_time, s.instance, s.file.name)) for _, group in by_position
    ]
    return [[phase[t] for phase in phases] for t in range(len(phases[0]))]


def _check_spacing(name: Path, stack: list[DicomSlice], normal: np.ndarray) -> None:
    """Refuse a stack whose slices are unevenly spaced or off the normal through the first one."""
    if len(stack) < 2:
        return
    pos = np.array([s.position for s in stack])
    along = (pos - pos[0]) @ normal
    off_axis = np.linalg.norm(pos - pos[0] - np.outer(along, normal), axis=1).max()
    if off_axis > _GAP_TOLERANCE_MM * 10:
        raise DataError(
            f"{name}: the slices are not stacked along their normal (offset up to {off_axis:.2f} mm: a "
            f"gantry tilt or a mixed series); resample it to a regular grid first"
        )
    gaps = np.diff(along)
    if gaps.max() - gaps.min() > max(_GAP_TOLERANCE_MM, 0.01 * float(gaps.mean())):
        raise DataError(
            f"{name}: the slices are unevenly spaced (gaps from {gaps.min():.3f} to {gaps.max():.3f} mm); "
            f"slices may be missing from the folder"
        )


def _series_frames(path: str | Path, series: str | None) -> tuple[Path, str, list[list[DicomSlice]]]:
    folder, uid, entries = _select(path, series)
    return folder, uid, _frames(folder, [_slice(f, r) for f, r in entries])


def count_dicom_frames(path: str | Path, *, series: str | None = None) -> int:
    """Number of frames (cine phases) of the series ``path`` designates; only headers are read."""
    return len(_series_frames(path, series)[2])


def _read_frame(
    folder: Path, uid: str, stack: list[DicomSlice], frame: int | None, n_frames: int, labels: bool
) -> NiftiVolume:
    import SimpleITK as sitk

    first = stack[0]
    spacing = np.asarray(_info(first.file).GetSpacing(), dtype=np.float64)
    dz = float(np.linalg.norm(stack[1].position - first.position)) if len(stack) > 1 else float(spacing[2])
    check_declared(folder, (first.columns, first.rows, len(stack)), (*spacing[:2], dz))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(s.file) for s in stack])
    try:
        image = reader.Execute()
    except MemoryError:
        raise
    except RuntimeError as exc:
        raise DataError(f"{folder}: the DICOM pixel data cannot be read: {_itk_message(exc)}") from exc
    source = VolumeSource("dicom", frame, n_frames, tuple(s.file for s in stack), uid)
    return volume_from_sitk(folder, image, labels=labels, source=source)


def read_dicom(
    path: str | Path, *, frame: int | None = None, series: str | None = None, labels: bool = False
) -> NiftiVolume:
    """Read a DICOM series (one frame of a cine series) as a :class:`NiftiVolume`.

    Parameters
    ----------
    path
        A folder holding the series, or one file of it.
    frame
        The frame of a cine series; needed for cine series, ignored for 3D ones.
    series
        The SeriesInstanceUID, when the folder holds several series.
    labels
        Read integer values as stored instead of a ``float32`` image.

    Returns
    -------
    NiftiVolume
        ``path`` is the folder; ``source`` has the series UID and the frame's files, in slice order.

    Raises
    ------
    DataError
        See the module docs; every message names the folder or the file.
    """
    folder, uid, frames = _series_frames(path, series)
    t = check_frame(folder, len(frames), frame)
    return _read_frame(folder, uid, frames[t or 0], t, len(frames), labels)


def read_dicom_frames(path: str | Path, *, series: str | None = None) -> list[NiftiVolume]:
    """Every frame of a DICOM series (one volume for a 3D series), as float32 images."""
    folder, uid, frames = _series_frames(path, series)
    n = len(frames)
    return [_read_frame(folder, uid, stack, t if n > 1 else None, n, False) for t, stack in enumerate(frames)]


def dicom_modality(path: str | Path) -> str | None:
    """The Modality of a DICOM file (``"MR"``, ``"SEG"``...), upper case; ``None`` if it cannot be read."""
    try:
        return _tag(_info(Path(path)), "0008|0060").upper() or None
    except DataError:
        return None


def dicom_series_uid(path: str | Path) -> str | None:
    """The SeriesInstanceUID of a DICOM file (its header only); ``None`` if it cannot be read."""
    try:
        return _tag(_info(Path(path)), "0020|000e") or None
    except DataError:
        return None


def dicom_source_files(path: str | Path) -> list[Path]:
    """The DICOM files in the folder of ``path`` (a series folder or one of its files): inputs to protect."""
    p = Path(path)
    return dicom_files_in(p if p.is_dir() else p.parent)
