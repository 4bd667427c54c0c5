"""The volume type and its geometry: a 3D array with the affine and header it was read with.

A :class:`NiftiVolume` keeps its affine *and* a copy of its header, so that a mask written on its grid
(:func:`~napari_scribbleseg.io.nifti_write.write_labels`) carries the same qform/sform (and their codes),
spacing and units as the image it was computed from, and opens aligned with it in ITK-SNAP or 3D Slicer.

**One geometry convention, whatever the file.** Volumes read from NRRD, MetaImage or DICOM are converted to
the same form as NIfTI ones, once, in the readers: the array is indexed ``[i, j, k]`` (nibabel's order, the
first index running fastest on disk) and the affine maps ``(i, j, k)`` to RAS+ millimetres. Those formats
(and SimpleITK) store LPS coordinates, so ``affine = diag(-1, -1, 1, 1) @ lps_affine`` (:func:`lps_to_ras`).
Where the volume came from, and what is needed to write results back in its own family (a DICOM series'
files), travels in :attr:`NiftiVolume.source` (:class:`VolumeSource`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import DataError

__all__ = [
    "AFFINE_ATOL_MM",
    "AFFINE_ATOL_ROTATION",
    "NiftiVolume",
    "VolumeSource",
    "affines_match",
    "format_affine",
    "lps_to_ras",
    "make_affine",
]

#: Tolerances used to decide that two affines describe the same voxel grid.
AFFINE_ATOL_MM = 1e-3
AFFINE_ATOL_ROTATION = 1e-4

#: RAS <-> LPS: the first two world axes change sign (its own inverse).
_LPS_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def lps_to_ras(affine: np.ndarray) -> np.ndarray:
    """An LPS voxel-to-world affine (DICOM, NRRD, MetaImage, ITK) as RAS+ (NIfTI); also RAS -> LPS."""
    return _LPS_RAS @ np.asarray(affine, dtype=np.float64)


@dataclass(frozen=True)
class VolumeSource:
    """Where a volume was read from, and what writing results back in its own family needs.

    Attributes
    ----------
    format
        ``"nifti"``, ``"nrrd"``, ``"metaimage"`` or ``"dicom"`` (see :mod:`.formats`).
    frame
        The frame read from a 4D file or a cine DICOM series (``None`` for a 3D source).
    n_frames
        Number of frames of the source (1 for 3D).
    files
        DICOM: the files of the frame read, one per slice, in the order of the array's third axis.
    series_uid
        DICOM: the SeriesInstanceUID read.
    """

    format: str
    frame: int | None = None
    n_frames: int = 1
    files: tuple[Path, ...] = ()
    series_uid: str | None = None


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
        The file (or DICOM folder) the geometry came from (``None`` for volumes made in memory).
        :meth:`like` keeps it, so that the writers can name the source and refuse to overwrite it.
    source
        The source's format, frame and (DICOM) files (:class:`VolumeSource`); ``None`` for volumes made
        in memory. :meth:`like` keeps it.
    """

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    path: Path | None = None
    source: VolumeSource | None = None

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
        source: VolumeSource | None = None,
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
        source
            Optional source description (see :attr:`source`).
        """
        data = np.asarray(data)
        aff = make_affine(affine, spacing)
        header = nib.Nifti1Header()
        header.set_data_shape(data.shape)
        try:
            header.set_data_dtype(data.dtype)
        except nib.spatialimages.HeaderDataError:  # e.g. bool: not a NIfTI type; writers set their own
            header.set_data_dtype(np.float32)
        header.set_qform(aff, code=1)
        header.set_sform(aff, code=1)
        header.set_xyzt_units("mm", "sec")
        return cls(data, aff, header, None if path is None else Path(path), source)

    def like(self, data: np.ndarray) -> NiftiVolume:
        """A volume with the same geometry (affine, header, path, source) and new data.

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
        return NiftiVolume(data, self.affine.copy(), self.header.copy(), self.path, self.source)

    def __repr__(self) -> str:
        sp = ", ".join(f"{s:g}" for s in self.spacing)
        return f"NiftiVolume(shape={self.shape}, dtype={self.data.dtype}, spacing=({sp}), path={self.path})"


def make_affine(
    affine: np.ndarray | None, spacing: Sequence[float] | None, *, name: str = "volume"
) -> np.ndarray:
    """``diag(spacing)`` when there is no affine, else the affine with its columns rescaled to ``spacing``.

    Raises
    ------
    DataError
        Spacing that is not three positive numbers, an affine that is not 4x4, or a singular affine
        (``name`` is the file or volume the message names).
    """
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


def format_affine(affine: np.ndarray) -> str:
    """An affine as indented text, for error messages that compare two grids."""
    text = np.array2string(np.asarray(affine), precision=4, suppress_small=True, max_line_width=120)
    return "\n".join("    " + line for line in text.splitlines())
