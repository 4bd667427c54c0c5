"""Reading NRRD and MetaImage files with SimpleITK, into the engine's one geometry convention.

SimpleITK gives an image whose array is ``[k, j, i]`` and whose geometry (origin, direction, spacing) is
in LPS millimetres. :func:`volume_from_sitk` turns it into a
:class:`~napari_scribbleseg.io.volume.NiftiVolume` the way nibabel would have read the same volume from
a NIfTI file: array ``[i, j, k]`` (a transposed view, no copy) and a RAS+ affine
(``diag(-1, -1, 1, 1) @ lps_affine``). The DICOM reader (:mod:`.dicom_read`) uses the same conversion.

The rules of :mod:`.nifti_read` hold: the declared size and spacing are checked
(:func:`~napari_scribbleseg.io.limits.check_declared`) after ``ReadImageInformation`` and before any voxel
is read; a 4D file needs a frame (only that frame is read); images are ``float32`` and must be finite;
labels are read as stored and must be whole numbers; every error names the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .atomic import describe_error
from .formats import file_format
from .limits import check_declared
from .nifti_read import check_finite, check_frame, whole_labels
from .volume import NiftiVolume, VolumeSource, lps_to_ras

__all__ = ["count_sitk_frames", "read_sitk", "read_sitk_frames", "sitk_geometry", "volume_from_sitk"]

#: Bytes per voxel of SimpleITK's scalar pixel types (by pixel ID value).
_ITEMSIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 8, 7: 8, 8: 4, 9: 8}
_FORMAT_NAMES = {"nrrd": ("NRRD", "an NRRD"), "metaimage": ("MetaImage", "a MetaImage")}


def _open(p: Path) -> Any:
    """A SimpleITK reader of ``p`` whose header has been read (no voxel yet), or a DataError naming it."""
    import SimpleITK as sitk

    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a volume file")
    what, a_what = _FORMAT_NAMES.get(file_format(p) or "", ("an image", "an image"))
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise DataError(
            f"{p}: cannot be read as {what} (corrupt or not {a_what} file): {_itk_message(exc)}"
        ) from exc
    return reader


def _itk_message(exc: BaseException) -> str:
    """The useful line of an ITK exception (its text starts with a C++ file and line)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if "Description:" in ln:
            return ln.split("Description:", 1)[1].strip()
    return lines[-1] if lines else describe_error(exc)


def sitk_geometry(p: Path, obj: Any) -> tuple[tuple[int, int, int], int, np.ndarray, np.ndarray, np.ndarray]:
    """Shape (3D), number of frames, spacing, LPS origin and LPS direction of a reader or image.

    Raises
    ------
    DataError
        Not one value per voxel, not 3D or 4D, an empty volume, or a 4D direction that mixes time and
        space.
    """
    dim = int(obj.GetDimension())
    size = tuple(int(s) for s in obj.GetSize())
    comps = int(obj.GetNumberOfComponents()) if hasattr(obj, "GetNumberOfComponents") else 1
    if comps != 1:
        raise DataError(
            f"{p}: has {comps} values per voxel (a colour or vector image, shape {size}); "
            f"a volume with one value per voxel is needed"
        )
    if any(s == 0 for s in size):
        raise DataError(f"{p}: the volume is empty (size {size})")
    while dim > 3 and size[-1] == 1:
        dim, size = dim - 1, size[:-1]
    if dim < 3:
        raise DataError(f"{p}: is {dim}D (size {size}); a 3D volume is needed")
    if dim > 4:
        raise DataError(f"{p}: has {dim} dimensions (size {size}); a 3D volume is needed")
    full = int(obj.GetDimension())
    direction = np.asarray(obj.GetDirection(), dtype=np.float64).reshape(full, full)
    if full > 3 and (np.abs(direction[:3, 3:]).max() > 1e-6 or np.abs(direction[3:, :3]).max() > 1e-6):
        raise DataError(f"{p}: its 4D orientation mixes time and space; the frames are not 3D volumes")
    spacing = np.asarray(obj.GetSpacing(), dtype=np.float64)[:3]
    origin = np.asarray(obj.GetOrigin(), dtype=np.float64)[:3]
    n_frames = size[3] if dim == 4 else 1
    return (size[0], size[1], size[2]), n_frames, spacing, origin, direction[:3, :3]


def _data_files(p: Path) -> list[Path]:
    """The files holding the voxel data of ``p`` where that is simple to know (else none: no size check)."""
    name = p.name.lower()
    if name.endswith((".nrrd", ".mha")):
        return [p]
    if name.endswith(".nhdr"):
        try:
            import nrrd

            header = nrrd.read_header(str(p))
        except Exception:  # SimpleITK opened it; let it report the problem
            return []
        data_file = header.get("data file") or header.get("datafile")
        if isinstance(data_file, str) and " " not in data_file.strip():
            f = Path(data_file)
            return [f if f.is_absolute() else p.parent / f]
    return []


def volume_from_sitk(
    p: Path, image: Any, *, labels: bool, source: VolumeSource, path: Path | None = None
) -> NiftiVolume:
    """A SimpleITK image (3D) as a :class:`NiftiVolume`: array ``[i, j, k]``, RAS+ affine.

    Images become ``float32`` (NaN and infinity refused); labels keep their integer type (float-stored
    labels must be whole numbers). ``p`` is named in the messages; ``path`` (default ``p``) is the
    volume's :attr:`~NiftiVolume.path`.
    """
    import SimpleITK as sitk

    shape, _, spacing, origin, direction = sitk_geometry(p, image)
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing
    lps[:3, 3] = origin
    view = sitk.GetArrayViewFromImage(image).transpose(2, 1, 0)  # [k, j, i] -> [i, j, k]: a view
    if labels:
        data = np.array(view) if np.issubdtype(view.dtype, np.integer) else whole_labels(p, view)
    else:
        data = view.astype(np.float32)  # the copy that outlives the SimpleITK image
        check_finite(p, data)
    del view
    return NiftiVolume.from_array(data, lps_to_ras(lps), path=p if path is None else path, source=source)


def read_sitk(path: str | Path, *, frame: int | None = None, labels: bool = False) -> NiftiVolume:
    """Read an NRRD or MetaImage file (or one frame of a 4D one) as a :class:`NiftiVolume`.

    Parameters
    ----------
    path
        A ``.nrrd``, ``.nhdr``, ``.mha`` or ``.mhd`` file.
    frame
        The frame of a 4D file; needed for 4D files, ignored for 3D ones. Only that frame is read.
    labels
        Read integer labels (as stored) instead of a ``float32`` image.

    Raises
    ------
    DataError
        Missing, unreadable or corrupt file; not a 3D scalar volume; a 4D file without a valid frame; a
        size or spacing beyond :mod:`~napari_scribbleseg.io.limits`; non-finite intensities; non-integer
        labels. The message names the file.
    """
    p = Path(path).expanduser()
    reader = _open(p)
    shape, n_frames, spacing, _, _ = sitk_geometry(p, reader)
    t = check_frame(p, n_frames, frame)
    check_declared(
        p,
        shape,
        spacing,
        stored_voxels=math.prod(shape) * n_frames,
        itemsize=_ITEMSIZE.get(int(reader.GetPixelIDValue()), 1),
        data_files=_data_files(p),
    )
    full = int(reader.GetDimension())
    if full > 3:  # read one frame (or the only one), collapsed to 3D
        reader.SetExtractIndex([0, 0, 0, t or 0] + [0] * (full - 4))
        reader.SetExtractSize(list(shape) + [0] * (full - 3))
    try:
        image = reader.Execute()
    except MemoryError:
        raise
    except RuntimeError as exc:
        raise DataError(
            f"{p}: the {'label' if labels else 'image'} data cannot be read (truncated or corrupt file): "
            f"{_itk_message(exc)}"
        ) from exc
    source = VolumeSource(file_format(p) or "nrrd", frame=t, n_frames=n_frames)
    return volume_from_sitk(p, image, labels=labels, source=source)


def count_sitk_frames(path: str | Path) -> int:
    """Number of frames of an NRRD or MetaImage file (1 for 3D); only the header is read."""
    p = Path(path).expanduser()
    return sitk_geometry(p, _open(p))[1]


def read_sitk_frames(path: str | Path, *, labels: bool = False) -> list[NiftiVolume]:
    """Every frame of an NRRD or MetaImage file (one volume for a 3D file), reading the file once.

    The limits apply to all frames together.
    """
    import SimpleITK as sitk

    p = Path(path).expanduser()
    reader = _open(p)
    shape, n_frames, spacing, _, _ = sitk_geometry(p, reader)
    if n_frames == 1:
        return [read_sitk(p, labels=labels)]
    check_declared(
        p,
        (*shape[:2], shape[2] * n_frames),
        spacing,
        itemsize=_ITEMSIZE.get(int(reader.GetPixelIDValue()), 1),
        data_files=_data_files(p),
    )
    try:
        image = reader.Execute()
    except MemoryError:
        raise
    except RuntimeError as exc:
        raise DataError(
            f"{p}: the data cannot be read (truncated or corrupt file): {_itk_message(exc)}"
        ) from exc
    fmt = file_format(p) or "nrrd"
    full = int(image.GetDimension())
    out = []
    for t in range(n_frames):
        frame = sitk.Extract(image, list(shape) + [0] * (full - 3), [0, 0, 0, t] + [0] * (full - 4))
        out.append(volume_from_sitk(p, frame, labels=labels, source=VolumeSource(fmt, t, n_frames)))
    return out
