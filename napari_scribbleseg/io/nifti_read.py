"""Reading NIfTI volumes: images as ``float32``, labels as the integers on disk (DESIGN.md Sec. 2).

(The public readers, which open every supported format, are :mod:`.read`'s; this module is their NIfTI
part and holds the checks all formats share: frames, finite intensities, whole-number labels, the
reference grid.)

Everything goes through nibabel. The rules this module keeps:

- **Geometry round-trips.** A volume keeps its affine and a copy of its header
  (:class:`~napari_scribbleseg.io.volume.NiftiVolume`), which the writers reuse.
- **Label values are never rescaled.** Labels are read from the raw on-disk values; a non-trivial
  ``scl_slope``/``scl_inter`` or float storage is accepted only when it yields whole numbers.
- **Nothing is read that the header cannot justify.** The declared shape, the spacing and the file's size
  are checked (:mod:`.limits`) before any voxel data is touched.
- **Errors name the file and the problem** (:class:`~napari_scribbleseg.errors.DataError`), so the CLI and
  the napari widget can show them as they are.

:func:`nifti_label_kind` decides, from a file's sidecar, header and name, whether it holds labels and in which
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
from .volume import NiftiVolume, VolumeSource, affines_match, format_affine

__all__ = [
    "LABEL_WORDS",
    "check_frame",
    "check_labels",
    "nifti_label_kind",
    "read_nifti_frames",
    "read_nifti_image",
    "read_nifti_labels",
]

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


def _spatial_shape(p: Path, shape: tuple[int, ...]) -> tuple[tuple[int, int, int], int]:
    """Check the on-disk shape; return its 3D form and the number of frames (1 for a 3D file).

    Trailing singleton dimensions are dropped; a 4D file ``(X, Y, Z, T)`` has ``T`` frames.
    """
    shape = tuple(int(s) for s in shape)
    squeezed = shape
    while len(squeezed) > 3 and squeezed[-1] == 1:
        squeezed = squeezed[:-1]
    if any(s == 0 for s in shape):
        raise DataError(f"{p}: the volume is empty (shape {shape})")
    if len(squeezed) > 4:
        raise DataError(f"{p}: has {len(squeezed)} dimensions (shape {shape}); a 3D volume is needed")
    if len(squeezed) < 3:
        raise DataError(
            f"{p}: is {len(squeezed)}D (shape {shape}); a 3D volume is needed "
            f"(a single slice must be stored as shape (X, Y, 1))"
        )
    return (squeezed[0], squeezed[1], squeezed[2]), (squeezed[3] if len(squeezed) == 4 else 1)


def check_frame(p: Path, n_frames: int, frame: int | None) -> int | None:
    """The frame to read of a source with ``n_frames`` frames (``None``: the source is 3D).

    A 3D source ignores ``frame``. A 4D one needs it, between 0 and ``n_frames - 1``.

    Raises
    ------
    DataError
        A 4D source without a frame, or a frame out of range; the message says how to choose one.
    """
    if n_frames <= 1:
        return None
    if frame is None:
        raise DataError(
            f"{p}: is 4D with {n_frames} frames (e.g. a cine series); choose one frame, 0 to "
            f"{n_frames - 1}: `--frame N` on the command line (in napari each frame opens as its own layer)"
        )
    if not 0 <= int(frame) < n_frames:
        raise DataError(
            f"{p}: frame {frame} does not exist; the file has {n_frames} frames (0 to {n_frames - 1})"
        )
    return int(frame)


def _frame_slicer(ndim: int, frame: int) -> tuple[slice | int, ...]:
    """Index of one frame in an on-disk array of ``ndim`` dimensions (trailing singletons kept at 0)."""
    return (slice(None),) * 3 + (frame,) + (0,) * (ndim - 4)


def _header_copy(img: nib.Nifti1Image, shape: tuple[int, int, int]) -> nib.Nifti1Header:
    header = img.header.copy()
    if tuple(header.get_data_shape()) != shape:
        header.set_data_shape(shape)
    return header


def read_nifti_image(path: str | Path, *, frame: int | None = None) -> NiftiVolume:
    """Read a 3D image (or one frame of a 4D one) as ``float32`` (``scl_slope``/``scl_inter`` applied).

    A 4D file whose trailing dimensions are 1 is read as 3D.

    Parameters
    ----------
    path
        A ``.nii`` or ``.nii.gz`` file.
    frame
        The frame of a 4D file (``(X, Y, Z, T)``) to read; needed for 4D files, ignored for 3D ones.

    Returns
    -------
    NiftiVolume

    Raises
    ------
    DataError
        If the file is missing, unreadable, corrupt or not NIfTI; is not 3D (2D, 4D without a valid
        ``frame``...); is empty;
        declares more voxels, or a spacing further out, than :mod:`~napari_scribbleseg.io.limits` accepts,
        or more data than the file can hold (all checked before the data is read); or holds NaN or
        infinite intensities.
        The message names the file and the problem.
    """
    p, img = _load(path)
    shape, n_frames = _spatial_shape(p, img.shape)
    t = check_frame(p, n_frames, frame)
    check_header(p, img, shape)
    try:
        if t is None:
            data = np.asarray(img.get_fdata(dtype=np.float32), dtype=np.float32)
        else:
            data = np.asarray(img.dataobj[_frame_slicer(len(img.shape), t)], dtype=np.float32)
    except MemoryError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p}: the image data cannot be read (truncated or corrupt file): {describe_error(exc)}"
        ) from exc
    data = data.reshape(shape)
    check_finite(p, data)
    source = VolumeSource("nifti", frame=t, n_frames=n_frames)
    return NiftiVolume(data, img.header.get_best_affine(), _header_copy(img, shape), p, source)


def read_nifti_frames(path: str | Path) -> list[NiftiVolume]:
    """Every frame of a NIfTI image as ``float32`` volumes (one for a 3D file), decompressing it once.

    The voxel limit applies to all frames together.
    """
    p, img = _load(path)
    shape, n_frames = _spatial_shape(p, img.shape)
    if n_frames == 1:
        return [read_nifti_image(p)]
    check_header(p, img, (shape[0], shape[1], shape[2] * n_frames))
    try:
        data = np.asarray(img.get_fdata(dtype=np.float32), dtype=np.float32).reshape(*shape, n_frames)
    except MemoryError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p}: the image data cannot be read (truncated or corrupt file): {describe_error(exc)}"
        ) from exc
    check_finite(p, data)
    affine = img.header.get_best_affine()
    return [
        NiftiVolume(data[..., t], affine, _header_copy(img, shape), p, VolumeSource("nifti", t, n_frames))
        for t in range(n_frames)
    ]


def check_finite(p: Path, data: np.ndarray) -> None:
    """Refuse NaN or infinite intensities, naming the file and how many voxels."""
    n_bad = int(data.size - np.count_nonzero(np.isfinite(data)))
    if n_bad:
        n_nan = int(np.count_nonzero(np.isnan(data)))
        raise DataError(
            f"{p}: {n_bad} of {data.size} voxels have non-finite intensities "
            f"({n_nan} NaN, {n_bad - n_nan} Inf); replace them (e.g. by 0) before use"
        )


def _smallest_int_dtype(lo: int, hi: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.int16, np.int32, np.int64):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def _raw_label_values(p: Path, img: nib.Nifti1Image, frame: int | None = None) -> np.ndarray:
    """On-disk label values (of one frame) as an integer array, without nibabel's automatic float scaling."""
    proxy = img.dataobj
    rescale = True
    try:
        if frame is not None:  # nibabel scales a slice itself: check the scaled values below
            raw = np.asarray(proxy[_frame_slicer(len(img.shape), frame)])
            slope = float(getattr(proxy, "slope", 1.0))
            inter = float(getattr(proxy, "inter", 0.0))
            rescale = False
        elif hasattr(proxy, "get_unscaled"):
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
    if scaled and rescale:
        values = values * slope + inter
    return whole_labels(
        p, values, f" after applying scl_slope={slope:g}, scl_inter={inter:g}" if scaled else ""
    )


def whole_labels(p: Path, values: np.ndarray, how: str = "") -> np.ndarray:
    """Labels stored as floats (or scaled) as the smallest integer type; refused unless whole numbers.

    ``how`` completes the message (e.g. the scaling that was applied).
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        raise DataError(f"{p}: {int(values.size - np.count_nonzero(finite))} label voxels are NaN or Inf")
    rounded = np.round(values)
    if values.size and float(np.max(np.abs(values - rounded))) > 1e-3:
        raise DataError(
            f"{p}: label values must be whole numbers{how}, found e.g. "
            f"{float(values.flat[int(np.argmax(np.abs(values - rounded)))]):g} "
            f"(was the file resampled with interpolation?)"
        )
    if rounded.size == 0:
        return rounded.astype(np.uint8)
    return rounded.astype(_smallest_int_dtype(int(rounded.min()), int(rounded.max())))


def read_nifti_labels(path: str | Path, *, frame: int | None = None) -> NiftiVolume:
    """Read a label file (or one frame of a 4D one) as integers with its own geometry, never rescaled.

    The raw on-disk values are used. If the file has a non-trivial ``scl_slope``/``scl_inter``, it is
    applied and the result must be whole numbers; float-stored labels must hold whole numbers too. The
    checks against an encoding, a class list and a reference image are
    :func:`~napari_scribbleseg.io.read.read_labels`'s.

    Raises
    ------
    DataError
        Same file problems as :func:`read_nifti_image`; non-integer values.
    """
    p, img = _load(path)
    shape, n_frames = _spatial_shape(p, img.shape)
    t = check_frame(p, n_frames, frame)
    check_header(p, img, shape, "label")
    data = _raw_label_values(p, img, t).reshape(shape)
    source = VolumeSource("nifti", frame=t, n_frames=n_frames)
    return NiftiVolume(data, img.header.get_best_affine(), _header_copy(img, shape), p, source)


def check_labels(
    vol: NiftiVolume,
    *,
    kind: str,
    n_classes: int | None = None,
    reference: NiftiVolume | None = None,
) -> NiftiVolume:
    """Check labels read from a file against a reference grid and the encoding; return them.

    Parameters
    ----------
    vol
        Integer labels with their file's geometry (``vol.path`` is named in the messages).
    kind
        ``"scribbles"`` or ``"mask"``.
    n_classes
        If given, the values are checked against the class list (scribbles must annotate a voxel).
    reference
        If given, the shape and the affine must match it (within 1e-3 mm and 1e-4 in the axis directions).

    Raises
    ------
    DataError
        Shape or affine different from ``reference`` (the message names both files and shows both shapes
        or affines); negative values.
    LabelError
        Values outside the class list or, for scribbles, no annotated voxel.
    """
    p = vol.path if vol.path is not None else Path("labels")
    data = vol.data
    if reference is not None:
        ref_name = str(reference.path) if reference.path is not None else "the reference image"
        if vol.shape != reference.shape:
            raise DataError(
                f"{kind} {p} has shape {vol.shape} but the image {ref_name} has shape {reference.shape}; "
                f"they must be on the same voxel grid"
            )
        if not affines_match(vol.affine, reference.affine):
            raise DataError(
                f"{kind} {p} and the image {ref_name} have different affines (voxel-to-world geometry); "
                f"the {kind} must be on the image's grid.\n  {p.name}:\n{format_affine(vol.affine)}\n"
                f"  {Path(ref_name).name}:\n{format_affine(reference.affine)}"
            )
    if data.size and int(data.min()) < 0:
        raise DataError(f"{p}: {kind} hold negative values (min {int(data.min())}); labels are 0 or more")
    if n_classes is not None:
        check_label_values(data, n_classes, kind=kind, source=p.name)
    elif kind == "scribbles" and (data.size == 0 or int(data.max()) == UNANNOTATED):
        check_label_values(data, 2, kind="scribbles", source=p.name)  # raises "no annotated voxel"
    return vol


def nifti_label_kind(path: str | Path) -> Literal["scribbles", "mask"] | None:
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
