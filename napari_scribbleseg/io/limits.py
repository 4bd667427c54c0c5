"""Limits on what a file's header may declare, checked before any voxel is read (issues #10, #11).

A header is a few hundred bytes that says how much data follows; nothing stops it from lying. A 70-byte
``.nii.gz`` can declare 2000^3 voxels (nibabel would then allocate 16 GB before finding out), and a pixdim
of 1e-6 or 1e4 mm sends the in-plane resampling to a few pixels or to billions. So the readers check the
declared shape, the spacing and the file's size first, and the slicer checks the size a volume would have
after resampling (:meth:`~napari_scribbleseg.data.slices.SliceGeometry.create`).

The limits and why:

- **Voxels** (:data:`DEFAULT_MAX_VOXELS` = 512 x 512 x 2048 = 2^29, about 5.4e8): a whole-body CT
  (512 x 512 x 2000 slices) or a 1024 x 1024 x 512 MR fits. The image alone is then 2 GiB as float32 and a
  prediction holds one float32 map per class of the same size, so a larger volume would not fit a
  workstation anyway.
- **Spacing** (:data:`DEFAULT_MIN_SPACING_MM` = 1e-3 mm to :data:`DEFAULT_MAX_SPACING_MM` = 100 mm):
  micro-CT goes down to about 1 um and the thickest clinical slices are about 10 mm; anything outside is a
  broken header or one in other units (the package reads pixdim as mm). Zero, negative, NaN and infinite
  spacings are refused whatever the limits.

A user with a genuine volume outside them raises them with the environment variables
``SCRIBBLESEG_MAX_VOXELS``, ``SCRIBBLESEG_MIN_SPACING_MM`` and ``SCRIBBLESEG_MAX_SPACING_MM`` (read at each
check, so they also apply to a running napari); every refusal names the variable to set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError

__all__ = [
    "DEFAULT_MAX_SPACING_MM",
    "DEFAULT_MAX_VOXELS",
    "DEFAULT_MIN_SPACING_MM",
    "ENV_MAX_SPACING",
    "ENV_MAX_VOXELS",
    "ENV_MIN_SPACING",
    "check_declared",
    "check_header",
    "check_spacing",
    "check_voxel_count",
    "max_voxels",
    "spacing_range",
]

DEFAULT_MAX_VOXELS = 512 * 512 * 2048
DEFAULT_MIN_SPACING_MM = 1e-3
DEFAULT_MAX_SPACING_MM = 100.0
ENV_MAX_VOXELS = "SCRIBBLESEG_MAX_VOXELS"
ENV_MIN_SPACING = "SCRIBBLESEG_MIN_SPACING_MM"
ENV_MAX_SPACING = "SCRIBBLESEG_MAX_SPACING_MM"

#: Deflate cannot compress better than 1032:1 (a 258-byte match coded in 2 bits), so a gzip file holds at
#: most this many times its size; a header declaring more data than that describes a truncated file.
_MAX_DEFLATE_RATIO = 1032
_GZIP_MAGIC = b"\x1f\x8b"


def _env_number(name: str, default: float) -> float:
    """A positive finite number from the environment variable ``name`` (``default`` when unset)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"environment variable {name}={text!r}: expected a positive number")
    return value


def max_voxels() -> int:
    """The largest volume accepted, in voxels (:data:`DEFAULT_MAX_VOXELS` or ``SCRIBBLESEG_MAX_VOXELS``).

    Raises
    ------
    ConfigError
        If the environment variable is set but is not a positive number.
    """
    return max(1, int(_env_number(ENV_MAX_VOXELS, DEFAULT_MAX_VOXELS)))


def spacing_range() -> tuple[float, float]:
    """The accepted voxel spacing ``(min, max)`` in mm (defaults or the ``SCRIBBLESEG_*_SPACING_MM`` ones).

    Raises
    ------
    ConfigError
        If a variable is set but is not a positive number, or the minimum exceeds the maximum.
    """
    lo = _env_number(ENV_MIN_SPACING, DEFAULT_MIN_SPACING_MM)
    hi = _env_number(ENV_MAX_SPACING, DEFAULT_MAX_SPACING_MM)
    if lo > hi:
        raise ConfigError(f"{ENV_MIN_SPACING}={lo:g} is larger than {ENV_MAX_SPACING}={hi:g}")
    return lo, hi


def _shape_text(shape: Sequence[int]) -> str:
    return " x ".join(str(int(s)) for s in shape)


def check_voxel_count(name: str | Path, shape: Sequence[int], what: str = "the header declares") -> None:
    """Refuse a volume of ``shape`` with more voxels than :func:`max_voxels`.

    Parameters
    ----------
    name
        The file or volume, named in the message.
    shape
        The volume's shape (Python integers are used, so the product cannot overflow).
    what
        How the message introduces the shape (``"the header declares"``, ``"resampling would make"``).

    Raises
    ------
    DataError
        Naming ``name``, the shape, its voxel count, the limit and how to raise it.
    """
    n = math.prod(int(s) for s in shape)
    limit = max_voxels()
    if n > limit:
        raise DataError(
            f"{name}: {what} {_shape_text(shape)} = {n:,} voxels, over the limit of {limit:,}; "
            f"if this is intended, raise the limit with the environment variable {ENV_MAX_VOXELS}"
        )


def check_spacing(name: str | Path, spacing: Sequence[float], units: str | None = None) -> None:
    """Refuse a voxel spacing outside :func:`spacing_range` (or not a positive finite number).

    Parameters
    ----------
    name
        The file or volume, named in the message.
    spacing
        Voxel sizes of the three axes, in mm.
    units
        The header's spatial units, mentioned in the message unless mm or unknown.

    Raises
    ------
    DataError
        Naming ``name``, the spacing, the accepted range and the environment variables that change it.
    """
    lo, hi = spacing_range()
    values = [float(s) for s in spacing]
    if all(lo <= s <= hi for s in values):  # False for NaN
        return
    shown = ", ".join(f"{s:g}" for s in values)
    if not all(math.isfinite(s) for s in values):
        raise DataError(f"{name}: voxel spacing ({shown}) in the header is not a finite number")
    note = (
        f" (the header's units are {units}; pixdim is read as mm)"
        if units not in (None, "mm", "unknown")
        else ""
    )
    raise DataError(
        f"{name}: voxel spacing ({shown}) mm{note} is outside the accepted range [{lo:g}, {hi:g}] mm; "
        f"if it is right, set the environment variables {ENV_MIN_SPACING} / {ENV_MAX_SPACING}"
    )


def _check_file_size(p: Path, img: Any, shape: Sequence[int], what: str) -> None:
    """Refuse a file too small to hold the data its header declares (checked without reading the data)."""
    image_file = getattr(img.file_map.get("image"), "filename", None) if hasattr(img, "file_map") else None
    data_path = Path(image_file) if image_file else p
    try:
        size = data_path.stat().st_size
        with open(data_path, "rb") as fh:
            magic = fh.read(2)
    except OSError:
        return  # nibabel opened it a moment ago; reading the data will report the problem
    dtype = img.get_data_dtype()
    offset = int(getattr(img.dataobj, "offset", 0) or 0)
    needed = offset + math.prod(int(s) for s in shape) * int(dtype.itemsize)
    if magic == _GZIP_MAGIC:
        possible, how = _MAX_DEFLATE_RATIO * size + 1024, f"a {size:,}-byte gzip file cannot hold"
    elif data_path.name.lower().endswith((".nii", ".img")):
        possible, how = size, f"the file has {size:,} bytes, short of"
    else:  # other compression (bz2, zstd): no cheap bound
        return
    if needed > possible:
        raise DataError(
            f"{data_path}: the {what} data cannot be read (truncated file or wrong header): the header "
            f"declares {_shape_text(shape)} voxels of {dtype} ({needed:,} bytes with the header) "
            f"but {how} that"
        )


def check_header(p: Path, img: Any, shape: Sequence[int], what: str = "image") -> None:
    """Check an opened NIfTI file's declared size, spacing and file size before its data is read.

    Parameters
    ----------
    p
        The file (named in the messages).
    img
        The nibabel image, opened lazily (``nib.load``): only its header and file size are used.
    shape
        The spatial shape (3D) of the volume.
    what
        ``"image"`` or ``"label"``, for the message about a file too small for its data.

    Raises
    ------
    DataError
        Too many voxels (:func:`check_voxel_count`), a spacing out of range (:func:`check_spacing`), or a
        file too small for the declared data.
    """
    check_voxel_count(p, shape)
    header = img.header
    try:
        units = header.get_xyzt_units()[0]
    except Exception:  # an unknown unit code is not a reason to refuse the file
        units = None
    check_spacing(p, [float(z) for z in header.get_zooms()[:3]], units)
    _check_file_size(p, img, img.shape, what)


def check_declared(
    name: str | Path,
    shape: Sequence[int],
    spacing: Sequence[float],
    *,
    stored_voxels: int | None = None,
    itemsize: int = 1,
    data_files: Sequence[Path] = (),
) -> None:
    """The checks of :func:`check_header` for a format read with SimpleITK (NRRD, MetaImage, DICOM).

    Parameters
    ----------
    name
        The file or folder, named in the messages.
    shape
        The spatial shape (3D) of the volume that will be read.
    spacing
        Its voxel sizes in mm.
    stored_voxels
        Voxels the file declares in all (all frames of a 4D file); default ``prod(shape)``.
    itemsize
        Bytes per stored voxel.
    data_files
        The files that hold the data, when known. They must be able to hold the declared data even if
        compressed as well as deflate allows (1032:1): a lying or truncated header is caught before the
        library allocates the declared size.

    Raises
    ------
    DataError
        Too many voxels, a spacing out of range, or files too small for the declared data.
    """
    check_voxel_count(name, shape)
    check_spacing(name, spacing)
    if not data_files:
        return
    try:
        size = sum(Path(f).stat().st_size for f in data_files)
    except OSError:
        return  # the reader reports a missing data file with its name
    needed = (math.prod(int(s) for s in shape) if stored_voxels is None else int(stored_voxels)) * itemsize
    if needed > _MAX_DEFLATE_RATIO * size + 1024:
        raise DataError(
            f"{name}: the data cannot be read (truncated file or wrong header): the header declares "
            f"{needed:,} bytes of voxel data but {size:,} bytes of file cannot hold that, even compressed"
        )
