"""Reading NIfTI volumes: images as ``float32``, labels as the integers on disk (DESIGN.md Sec. 2).

Everything goes through nibabel. The rules this module keeps:

- **Geometry round-trips.** A volume keeps its affine and a copy of its header
  (:class:`~napari_scribbleseg.io.volume.NiftiVolume`), which the writers reuse.
- **Label values are never rescaled.** Labels are read from the raw on-disk values; a non-trivial
  ``scl_slope``/``scl_inter`` or float storage is accepted only when it yields whole numbers.
- **Nothing is read that the header cannot justify.** The declared shape, the spacing and the file's size
  are checked (:mod:`.limits`) before any voxel data is touched.
- **Errors name the file and the problem** (:class:`~napari_scribbleseg.errors.DataError`), so the CLI and
  the napari widget can show them as they are.

:func:`label_kind` decides, from a file's sidecar, header and name, whether it holds labels and in which
encoding; the napari reader opens files with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np

from ..errors import DataError
from ..labels import UNANNOTATED, check_label_values
from .atomic import describe_error
from .limits import check_header
from .sidecar import read_sidecar_content
from .volume import NiftiVolume, affines_match, format_affine

__all__ = ["LABEL_WORDS", "label_kind", "read_image", "read_labels"]

#: Words in a path that mark an integer file as labels (``scribbles/case01.nii.gz``, ``case01_seg.nii``).
LABEL_WORDS = ("scribble", "mask", "label", "seg", "pred", "gt")

#: The NIfTI intent code "label" (NIFTI_INTENT_LABEL), which the writers set on label files.
_NIFTI_INTENT_LABEL = 1002


def _load(path: str | Path) -> tuple[Path, nib.Nifti1Image]:
    """Open a NIfTI file (header only; data stays on disk) or raise a DataError that names it."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a NIfTI file")
    try:
        img = nib.load(str(p))
    except MemoryError:
        raise
    except Exception as exc:  # nibabel raises many types for bad files (gzip, struct, header errors...)
        raise DataError(
            f"{p}: cannot be read as NIfTI (corrupt or not a NIfTI file): {describe_error(exc)}"
        ) from exc
    if not isinstance(img, nib.Nifti1Pair):  # Nifti1Image and Nifti2Image are subclasses
        raise DataError(f"{p}: is not a NIfTI file (nibabel read it as {type(img).__name__})")
    return p, img


def _spatial_shape(p: Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Check the on-disk shape and return its 3D form (trailing singleton dimensions dropped)."""
    shape = tuple(int(s) for s in shape)
    squeezed = shape
    while len(squeezed) > 3 and squeezed[-1] == 1:
        squeezed = squeezed[:-1]
    if any(s == 0 for s in shape):
        raise DataError(f"{p}: the volume is empty (shape {shape})")
    if len(squeezed) == 4:
        raise DataError(
            f"{p}: is 4D with {squeezed[3]} volumes (shape {shape}); a single 3D volume is needed. "
            f"Extract one first, e.g. `fslroi in.nii.gz out.nii.gz 0 1` or nibabel's `img.slicer[..., 0]`"
        )
    if len(squeezed) > 4:
        raise DataError(f"{p}: has {len(squeezed)} dimensions (shape {shape}); a 3D volume is needed")
    if len(squeezed) < 3:
        raise DataError(
            f"{p}: is {len(squeezed)}D (shape {shape}); a 3D volume is needed "
            f"(a single slice must be stored as shape (X, Y, 1))"
        )
    return squeezed[0], squeezed[1], squeezed[2]


def _header_copy(img: nib.Nifti1Image, shape: tuple[int, int, int]) -> nib.Nifti1Header:
    header = img.header.copy()
    if tuple(header.get_data_shape()) != shape:
        header.set_data_shape(shape)
    return header


def read_image(path: str | Path) -> NiftiVolume:
    """Read a 3D image as ``float32`` (the file's ``scl_slope``/``scl_inter`` applied).

    A 4D file whose trailing dimensions are 1 is read as 3D.

    Parameters
    ----------
    path
        A ``.nii`` or ``.nii.gz`` file.

    Returns
    -------
    NiftiVolume

    Raises
    ------
    DataError
        If the file is missing, unreadable, corrupt or not NIfTI; is not 3D (2D, true 4D...); is empty;
        declares more voxels, or a spacing further out, than :mod:`~napari_scribbleseg.io.limits` accepts,
        or more data than the file can hold (all checked before the data is read); or holds NaN or
        infinite intensities.
        The message names the file and the problem.
    """
    p, img = _load(path)
    shape = _spatial_shape(p, img.shape)
    check_header(p, img, shape)
    try:
        data = np.asarray(img.get_fdata(dtype=np.float32), dtype=np.float32)
    except MemoryError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p}: the image data cannot be read (truncated or corrupt file): {describe_error(exc)}"
        ) from exc
    data = data.reshape(shape)
    n_bad = int(data.size - np.count_nonzero(np.isfinite(data)))
    if n_bad:
        n_nan = int(np.count_nonzero(np.isnan(data)))
        raise DataError(
            f"{p}: {n_bad} of {data.size} voxels have non-finite intensities "
            f"({n_nan} NaN, {n_bad - n_nan} Inf); replace them (e.g. by 0) before use"
        )
    return NiftiVolume(data, img.header.get_best_affine(), _header_copy(img, shape), p)


def _smallest_int_dtype(lo: int, hi: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.int16, np.int32, np.int64):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def _raw_label_values(p: Path, img: nib.Nifti1Image) -> np.ndarray:
    """On-disk label values as an integer array, without nibabel's automatic float scaling."""
    proxy = img.dataobj
    try:
        if hasattr(proxy, "get_unscaled"):
            raw = np.asarray(proxy.get_unscaled())
            slope = float(getattr(proxy, "slope", 1.0))
            inter = float(getattr(proxy, "inter", 0.0))
        else:
            raw, slope, inter = np.asarray(proxy), 1.0, 0.0
    except MemoryError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p}: the label data cannot be read (truncated or corrupt file): {describe_error(exc)}"
        ) from exc
    if not raw.dtype.isnative:
        raw = raw.astype(raw.dtype.newbyteorder("="))
    scaled = not (slope == 1.0 and inter == 0.0)
    if not scaled and np.issubdtype(raw.dtype, np.integer):
        return raw
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{p}: labels must be stored as numbers, found data type {raw.dtype}")
    values = raw.astype(np.float64)
    if scaled:
        values = values * slope + inter
    finite = np.isfinite(values)
    if not finite.all():
        raise DataError(f"{p}: {int(values.size - np.count_nonzero(finite))} label voxels are NaN or Inf")
    rounded = np.round(values)
    if values.size and float(np.max(np.abs(values - rounded))) > 1e-3:
        how = f" after applying scl_slope={slope:g}, scl_inter={inter:g}" if scaled else ""
        raise DataError(
            f"{p}: label values must be whole numbers{how}, found e.g. "
            f"{float(values.flat[int(np.argmax(np.abs(values - rounded)))]):g} "
            f"(was the file resampled with interpolation?)"
        )
    if rounded.size == 0:
        return rounded.astype(np.uint8)
    return rounded.astype(_smallest_int_dtype(int(rounded.min()), int(rounded.max())))


def read_labels(
    path: str | Path,
    *,
    kind: Literal["scribbles", "mask"],
    n_classes: int | None = None,
    reference: NiftiVolume | None = None,
) -> NiftiVolume:
    """Read scribbles or a mask as integers, never rescaled.

    The raw on-disk values are used. If the file has a non-trivial ``scl_slope``/``scl_inter``, it is
    applied and the result must be whole numbers; float-stored labels must hold whole numbers too.

    Parameters
    ----------
    path
        A ``.nii`` or ``.nii.gz`` file.
    kind
        ``"scribbles"`` (0 = not annotated, 1 = background, k+1 = structure k) or ``"mask"``
        (0 = background, k = structure k); see :mod:`napari_scribbleseg.labels`.
    n_classes
        Number of classes including background; if given, the values are checked against the class list
        (and scribbles must annotate at least one voxel).
    reference
        The image the labels belong to; if given, the shape and the affine must match it (within 1e-3 mm
        and 1e-4 in the axis directions).

    Returns
    -------
    NiftiVolume
        Integer data with the label file's own geometry.

    Raises
    ------
    DataError
        Same file problems as :func:`read_image`; shape or affine different from ``reference`` (the message
        names both files and shows both shapes or affines); non-integer values.
    LabelError
        Values outside the class list or, for scribbles, no annotated voxel.
    """
    if kind not in ("scribbles", "mask"):
        raise ValueError(f"kind must be 'scribbles' or 'mask', got {kind!r}")
    p, img = _load(path)
    shape = _spatial_shape(p, img.shape)
    check_header(p, img, shape, "label")
    data = _raw_label_values(p, img).reshape(shape)
    affine = img.header.get_best_affine()
    if reference is not None:
        ref_name = str(reference.path) if reference.path is not None else "the reference image"
        if shape != reference.shape:
            raise DataError(
                f"{kind} {p} has shape {shape} but the image {ref_name} has shape {reference.shape}; "
                f"they must be on the same voxel grid"
            )
        if not affines_match(affine, reference.affine):
            raise DataError(
                f"{kind} {p} and the image {ref_name} have different affines (voxel-to-world geometry); "
                f"the {kind} must be on the image's grid.\n  {p.name}:\n{format_affine(affine)}\n"
                f"  {Path(ref_name).name}:\n{format_affine(reference.affine)}"
            )
    if data.size and int(data.min()) < 0:
        raise DataError(f"{p}: {kind} hold negative values (min {int(data.min())}); labels are 0 or more")
    if n_classes is not None:
        check_label_values(data, n_classes, kind=kind, source=p.name)
    elif kind == "scribbles" and (data.size == 0 or int(data.max()) == UNANNOTATED):
        check_label_values(data, 2, kind="scribbles", source=p.name)  # raises "no annotated voxel"
    return NiftiVolume(data, affine, _header_copy(img, shape), p)


def label_kind(path: str | Path) -> Literal["scribbles", "mask"] | None:
    """``"scribbles"`` or ``"mask"`` if the NIfTI file ``path`` holds labels, else ``None``.

    A file is taken as labels when

    1. it has a JSON class sidecar next to it (``case01.json``, as written by this package), or
    2. its header has the NIfTI "label" intent, or
    3. it is stored as integers and its path says so (a folder or file name containing one of
       :data:`LABEL_WORDS`).

    Labels are in the *scribble* encoding when the sidecar says so or, without an encoding in the
    sidecar, when the path contains ``scribble`` (``train/scribbles/case01.nii.gz``); else in the *mask*
    encoding. Only the header is read. A file that cannot be read gives ``None`` (reading it as an image
    then reports the problem with the file name).
    """
    p = Path(path)
    words = str(p).lower()
    side = read_sidecar_content(p)
    if side is not None:
        enc = side.get("encoding")
        if isinstance(enc, str) and enc in ("scribbles", "mask"):
            return enc  # type: ignore[return-value]
        return "scribbles" if "scribble" in p.name.lower() else "mask"
    try:
        img = nib.load(str(p))
        intent = int(img.header.get("intent_code", 0))
        integer = np.issubdtype(img.get_data_dtype(), np.integer)
    except Exception:  # unreadable: let the real reader report it with the file name
        return None
    if intent == _NIFTI_INTENT_LABEL or (integer and any(w in words for w in LABEL_WORDS)):
        return "scribbles" if "scribble" in words else "mask"
    return None
