"""Reading and writing NIfTI volumes: the one module that touches files (DESIGN.md Sec. 2).

Everything goes through nibabel. The rules this module keeps:

- **Geometry round-trips.** A volume keeps its affine *and* a copy of its header, so that a mask written
  with :func:`write_labels` carries the same qform/sform (and their codes), spacing and units as the image it
  was computed from, and opens aligned with it in ITK-SNAP or 3D Slicer.
- **Label values are never rescaled.** Labels are read from the raw on-disk values and written as
  ``uint8`` (or ``uint16``) with ``scl_slope = 1``, ``scl_inter = 0``.
- **Writes are atomic.** A file is written to a temporary name in the destination folder and moved into
  place with :func:`os.replace`, so a crash never leaves half a file under the final name. Inputs are never
  overwritten: the writers refuse the reference's own file and any path the caller marks as protected.
- **Errors name the file and the problem** (:class:`~napari_scribbleseg.errors.DataError`), so the CLI and
  the napari widget can show them as they are.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nibabel as nib
import numpy as np

from ..errors import DataError
from ..labels import UNANNOTATED, check_label_values

__all__ = [
    "NIFTI_SUFFIXES",
    "NiftiVolume",
    "affines_match",
    "case_name",
    "list_nifti",
    "pair_by_name",
    "read_image",
    "read_labels",
    "read_sidecar",
    "save_nifti",
    "sidecar_path",
    "write_image",
    "write_labels",
]

#: File name endings recognised as NIfTI (compared case-insensitively).
NIFTI_SUFFIXES = (".nii.gz", ".nii")

#: Tolerances used to decide that two affines describe the same voxel grid.
AFFINE_ATOL_MM = 1e-3
AFFINE_ATOL_ROTATION = 1e-4

_NIFTI_INTENT_LABEL = "label"


# --------------------------------------------------------------------------------------------------------
# The volume type
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NiftiVolume:
    """A 3D volume with the geometry it was read with.

    Attributes
    ----------
    data
        3D array: ``float32`` for images, an integer dtype for labels.
    affine
        4x4 ``float64`` voxel-to-world matrix (the header's best affine: the sform if its code is > 0,
        else the qform).
    header
        A copy of the source header; it keeps the qform/sform and their codes, zooms and units, which the
        writers reuse.
    path
        The file the geometry came from (``None`` for volumes made in memory). :meth:`like` keeps it, so
        that the writers can name the source and refuse to overwrite it.
    """

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    path: Path | None = None

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 3:
            raise DataError(f"{self._name()}: a volume must be 3D, got an array of shape {data.shape}")
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise DataError(f"{self._name()}: the affine must be 4x4, got shape {affine.shape}")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "affine", affine)
        if self.path is not None:
            object.__setattr__(self, "path", Path(self.path))

    def _name(self) -> str:
        return str(self.path) if self.path is not None else "volume"

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel sizes along the three array axes (header zooms, usually mm)."""
        zooms = self.header.get_zooms()[:3]
        return (float(zooms[0]), float(zooms[1]), float(zooms[2]))

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of the 3D array."""
        s = self.data.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @classmethod
    def from_array(
        cls,
        data: np.ndarray,
        affine: np.ndarray | None = None,
        *,
        spacing: Sequence[float] | None = None,
        path: str | Path | None = None,
    ) -> NiftiVolume:
        """A volume made in memory (e.g. from a napari layer), with a fresh header.

        The qform and sform both hold the affine, with code 1 (scanner); units are mm and seconds.

        Parameters
        ----------
        data
            3D array.
        affine
            4x4 voxel-to-world matrix. If ``None``, ``diag(spacing)`` (spacing defaults to 1 mm).
        spacing
            Voxel sizes. With an ``affine``, its columns are rescaled to these sizes (the affine then gives
            only the axis directions and the origin).
        path
            Optional source file (see :attr:`path`).
        """
        data = np.asarray(data)
        aff = _make_affine(affine, spacing)
        header = nib.Nifti1Header()
        header.set_data_shape(data.shape)
        try:
            header.set_data_dtype(data.dtype)
        except nib.spatialimages.HeaderDataError:  # e.g. bool: not a NIfTI type; writers set their own
            header.set_data_dtype(np.float32)
        header.set_qform(aff, code=1)
        header.set_sform(aff, code=1)
        header.set_xyzt_units("mm", "sec")
        return cls(data, aff, header, None if path is None else Path(path))

    def like(self, data: np.ndarray) -> NiftiVolume:
        """A volume with the same geometry (affine, header, path) and new data.

        Raises
        ------
        DataError
            If ``data`` does not have this volume's shape.
        """
        data = np.asarray(data)
        if data.shape != self.shape:
            raise DataError(
                f"{self._name()}: new data of shape {data.shape} does not fit the volume's grid {self.shape}"
            )
        return NiftiVolume(data, self.affine.copy(), self.header.copy(), self.path)

    def __repr__(self) -> str:
        sp = ", ".join(f"{s:g}" for s in self.spacing)
        return f"NiftiVolume(shape={self.shape}, dtype={self.data.dtype}, spacing=({sp}), path={self.path})"


def _make_affine(
    affine: np.ndarray | None, spacing: Sequence[float] | None, *, name: str = "volume"
) -> np.ndarray:
    """``diag(spacing)`` when there is no affine, else the affine with its columns rescaled to ``spacing``."""
    if spacing is not None:
        sp = np.asarray(spacing, dtype=np.float64)
        if sp.shape != (3,) or not np.all(np.isfinite(sp)) or np.any(sp <= 0):
            raise DataError(f"{name}: spacing must be three positive numbers, got {tuple(spacing)}")
    if affine is None:
        return np.diag([*(np.ones(3) if spacing is None else sp), 1.0])
    aff = np.array(affine, dtype=np.float64)
    if aff.shape != (4, 4):
        raise DataError(f"{name}: the affine must be 4x4, got shape {aff.shape}")
    if spacing is not None:
        norms = np.linalg.norm(aff[:3, :3], axis=0)
        if np.any(norms == 0):
            raise DataError(f"{name}: the affine is singular:\n{aff}")
        aff[:3, :3] = aff[:3, :3] / norms * sp
    return aff


# --------------------------------------------------------------------------------------------------------
# Names, listing and pairing
# --------------------------------------------------------------------------------------------------------


def _nifti_suffix(path: str | Path) -> str | None:
    name = Path(path).name.lower()
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def case_name(path: str | Path) -> str:
    """The case name of a file: ``"case01"`` for ``.../case01.nii.gz`` or ``.../case01.nii``.

    Files without a NIfTI ending lose their last suffix only (``"a.json"`` -> ``"a"``).
    """
    p = Path(path)
    suffix = _nifti_suffix(p)
    if suffix is not None:
        return p.name[: -len(suffix)]
    return p.stem


def list_nifti(paths: Sequence[str | Path], *, what: str = "images") -> list[Path]:
    """Expand files and folders into a sorted list of NIfTI files.

    Folders contribute the ``.nii``/``.nii.gz`` files they hold directly (not recursively; hidden files,
    such as this module's temporary files, are skipped).

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
        If no path is given, a path does not exist, a folder holds no NIfTI file, a file is not NIfTI, or two
        files share a case name (they would overwrite each other's outputs and pair ambiguously).
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
            files = [
                f for f in p.iterdir() if f.is_file() and not f.name.startswith(".") and _nifti_suffix(f)
            ]
            if not files:
                raise DataError(f"{what}: the folder {p} contains no NIfTI file (.nii or .nii.gz)")
        else:
            if _nifti_suffix(p) is None:
                raise DataError(f"{what}: {p} is not a NIfTI file (expected a .nii or .nii.gz file name)")
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


def pair_by_name(
    images: Sequence[Path],
    folder: str | Path,
    *,
    what: str = "scribbles",
    required: bool = True,
) -> list[Path | None]:
    """Find ``folder/<same file name>`` for each image.

    ``case01.nii.gz`` also pairs with ``case01.nii`` and vice versa (the exact name is preferred).

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
        candidates = [folder / image.name] + [folder / f"{name}{s}" for s in NIFTI_SUFFIXES]
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
            f"(files pair by name: images/case01.nii.gz <-> {folder.name}/case01.nii.gz)"
        )
    return result


# --------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------


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
            f"{p}: cannot be read as NIfTI (corrupt or not a NIfTI file): {_describe(exc)}"
        ) from exc
    if not isinstance(img, nib.Nifti1Pair):  # Nifti1Image and Nifti2Image are subclasses
        raise DataError(f"{p}: is not a NIfTI file (nibabel read it as {type(img).__name__})")
    return p, img


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


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
        If the file is missing, unreadable, corrupt or not NIfTI; is not 3D (2D, true 4D...); is empty; or
        holds NaN or infinite intensities. The message names the file and the problem.
    """
    p, img = _load(path)
    shape = _spatial_shape(p, img.shape)
    try:
        data = np.asarray(img.get_fdata(dtype=np.float32), dtype=np.float32)
    except MemoryError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p}: the image data cannot be read (truncated or corrupt file): {_describe(exc)}"
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
            f"{p}: the label data cannot be read (truncated or corrupt file): {_describe(exc)}"
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


def affines_match(
    a: np.ndarray,
    b: np.ndarray,
    *,
    atol_mm: float = AFFINE_ATOL_MM,
    atol_rotation: float = AFFINE_ATOL_ROTATION,
) -> bool:
    """Whether two voxel-to-world affines describe the same voxel grid.

    The origins and the voxel sizes must agree within ``atol_mm`` and the axis directions (unit column
    vectors) within ``atol_rotation``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != (4, 4) or b.shape != (4, 4):
        return False
    za = np.linalg.norm(a[:3, :3], axis=0)
    zb = np.linalg.norm(b[:3, :3], axis=0)
    if np.any(za == 0) or np.any(zb == 0):
        return bool(np.allclose(a, b, rtol=0, atol=atol_mm))
    return bool(
        np.allclose(a[:3, 3], b[:3, 3], rtol=0, atol=atol_mm)
        and np.allclose(za, zb, rtol=0, atol=atol_mm)
        and np.allclose(a[:3, :3] / za, b[:3, :3] / zb, rtol=0, atol=atol_rotation)
        and np.allclose(a[3], b[3], rtol=0, atol=1e-6)
    )


def _fmt_affine(affine: np.ndarray) -> str:
    text = np.array2string(np.asarray(affine), precision=4, suppress_small=True, max_line_width=120)
    return "\n".join("    " + line for line in text.splitlines())


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
                f"the {kind} must be on the image's grid.\n  {p.name}:\n{_fmt_affine(affine)}\n"
                f"  {Path(ref_name).name}:\n{_fmt_affine(reference.affine)}"
            )
    if data.size and int(data.min()) < 0:
        raise DataError(f"{p}: {kind} hold negative values (min {int(data.min())}); labels are 0 or more")
    if n_classes is not None:
        check_label_values(data, n_classes, kind=kind, source=p.name)
    elif kind == "scribbles" and (data.size == 0 or int(data.max()) == UNANNOTATED):
        check_label_values(data, 2, kind="scribbles", source=p.name)  # raises "no annotated voxel"
    return NiftiVolume(data, affine, _header_copy(img, shape), p)


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of a NIfTI file: ``<dir>/<case_name>.json``."""
    p = Path(path)
    return p.parent / f"{case_name(p)}.json"


def read_sidecar(path: str | Path) -> tuple[str, ...] | None:
    """Class names from the JSON sidecar of a NIfTI file (see :func:`write_labels`).

    Parameters
    ----------
    path
        The NIfTI file (not the sidecar).

    Returns
    -------
    tuple of str or None
        Class names in label order (background first), or ``None`` when there is no sidecar.

    Raises
    ------
    DataError
        If the sidecar exists but is not valid JSON or has no usable ``classes`` entry.
    """
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        content = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{side}: the class-name sidecar cannot be read: {_describe(exc)}") from exc
    classes = content.get("classes") if isinstance(content, dict) else None
    try:
        if isinstance(classes, dict):
            keys = sorted(int(k) for k in classes)
            if keys != list(range(len(keys))):
                raise ValueError(f"class keys must be 0..K without gaps, got {keys}")
            names = tuple(str(classes[str(k)]) for k in keys)
        elif isinstance(classes, list):
            names = tuple(str(c) for c in classes)
        else:
            raise ValueError("no 'classes' entry")
    except (ValueError, KeyError) as exc:
        raise DataError(f"{side}: invalid class-name sidecar: {exc}") from exc
    if not names:
        raise DataError(f"{side}: invalid class-name sidecar: the class list is empty")
    return names


# --------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------


def _check_destination(
    path: str | Path, protected: Iterable[str | Path], reference: NiftiVolume | None
) -> Path:
    p = Path(path).expanduser()
    if _nifti_suffix(p) is None:
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


def _temp_name(p: Path) -> Path:
    suffix = _nifti_suffix(p) or p.suffix
    stem = p.name[: -len(suffix)] if suffix else p.name
    while True:
        tmp = p.parent / f".{stem}.tmp-{secrets.token_hex(4)}{suffix}"
        if not tmp.exists():
            return tmp


def _atomic_write(p: Path, write: Any) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``p``; never leaves the temp file."""
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{p}: cannot create the output folder: {_describe(exc)}") from exc
    tmp = _temp_name(p)
    try:
        write(tmp)
        os.replace(tmp, p)
    except OSError as exc:
        raise DataError(f"{p}: cannot write the file: {_describe(exc)}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


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


def write_json_atomic(path: Path, content: dict) -> Path:
    """Write ``content`` as indented JSON to ``path`` atomically (temp file + rename)."""

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")

    return _atomic_write(path, write)


def write_labels(
    path: str | Path,
    labels: np.ndarray,
    reference: NiftiVolume,
    *,
    class_names: Sequence[str] | None = None,
    protected: Iterable[str | Path] = (),
) -> Path:
    """Write a mask (``0`` = background, ``k`` = structure k) on the grid of ``reference``.

    The file is ``uint8`` (``uint16`` when a label is 256 or more) with ``scl_slope = 1`` and
    ``scl_inter = 0``, the reference's affine, qform/sform and their codes, zooms and units, and the NIfTI
    "label" intent. It is written atomically (temporary file in the same folder, then :func:`os.replace`);
    parent folders are created.

    Parameters
    ----------
    path
        Output ``.nii`` or ``.nii.gz`` file.
    labels
        Integer mask with the reference's shape.
    reference
        The volume whose geometry the mask takes (usually the input image).
    class_names
        If given (background first), the values are checked against it and a JSON sidecar
        ``<dir>/<case_name>.json`` is written next to the file:
        ``{"encoding": "mask", "classes": {"0": "background", ...}, "source": <reference file name>}``
        (``"source"`` is null when the reference has no file).
    protected
        Paths that must not be overwritten (e.g. the input volumes). The reference's own file is always
        protected.

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
    protected = list(protected)
    p = _check_destination(path, protected, reference)
    data = _label_array(p, labels)
    _check_grid(p, data, reference, "mask")
    names: tuple[str, ...] | None = None
    side: Path | None = None
    if class_names is not None:
        names = tuple(str(n) for n in class_names)
        check_label_values(data, len(names), kind="mask", source=p.name)
        side = sidecar_path(p)
        _refuse_protected(side, protected, reference)
    img = _image_from_reference(data, reference)
    img.header.set_intent(_NIFTI_INTENT_LABEL)
    img.header["descrip"] = b"napari-scribbleseg mask"
    _atomic_write(p, lambda tmp: nib.save(img, str(tmp)))
    if side is not None and names is not None:
        content = {
            "encoding": "mask",
            "classes": {str(i): n for i, n in enumerate(names)},
            "source": reference.path.name if reference.path is not None else None,
        }
        write_json_atomic(side, content)
    return p


def write_image(
    path: str | Path,
    data: np.ndarray,
    reference: NiftiVolume,
    *,
    protected: Iterable[str | Path] = (),
) -> Path:
    """Write a ``float32`` image (e.g. an uncertainty map) on the grid of ``reference``.

    Same geometry rules, atomicity and protections as :func:`write_labels`.

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
    _atomic_write(p, lambda tmp: nib.save(img, str(tmp)))
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
    aff = _make_affine(affine, spacing, name=str(p))
    img = nib.Nifti1Image(arr, aff)
    hdr = img.header
    hdr.set_qform(aff, code=1)
    hdr.set_sform(aff, code=1)
    hdr.set_xyzt_units("mm", "sec")
    img.set_data_dtype(arr.dtype)
    hdr.set_slope_inter(1.0, 0.0)
    if kind == "labels":
        hdr.set_intent(_NIFTI_INTENT_LABEL)
    _atomic_write(p, lambda tmp: nib.save(img, str(tmp)))
    return p
