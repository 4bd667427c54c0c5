"""Where a NIfTI volume goes in napari's world, and back.

napari can only slice a layer well when its data axes are (near) aligned with the world axes: an oblique
affine with an out-of-plane rotation makes it warn at every slider move, and show the nearest data slice at
a fractional, shifted index. So we do what ITK-SNAP does: show the **voxel grid** in the anatomical
orientation **closest** to the affine, and keep the full affine for everything that leaves the viewer
(export, training spacing).

The napari view of a volume (:class:`LayerGeometry`):

- napari data axis 0 (the slider) is the engine's slice axis (largest spacing, ties: the last axis; see
  :func:`~napari_scribbleseg.data.slices.choose_slice_axis`), so scrolling the slider walks the slices
  the methods train on;
- the two displayed axes follow the radiological convention of that plane: anterior (axial) or superior
  (coronal, sagittal) at the top, the patient's right on the screen's left (axial, coronal), anterior on
  the left (sagittal);
- the data is a **view** of the file array (transposed and flipped, never copied), and napari gets
  ``scale`` (the voxel sizes) and ``translate`` (so that the volume's centre sits at its true position);
- world coordinates are millimetres along the signed anatomical axes of the plane (e.g. ``(S, P, L)`` for
  an axial view), i.e. scanner coordinates up to the residual rotation of oblique acquisitions (< 45°).

Every layer made for an image (scribbles, predictions, attention, uncertainty) carries the same
:class:`LayerGeometry` in ``layer.metadata["scribbleseg"]["geometry"]``, so they overlay voxel for voxel,
and the writer maps their data back to the file's grid and header.

This module imports neither napari nor Qt.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.slices import choose_slice_axis

#: Signed RAS axes shown as (slider, rows, columns) for each anatomical axis of the slice direction.
#: Rows grow downwards and columns to the right on the screen, hence the signs: e.g. for axial slices
#: rows run towards posterior (anterior on top) and columns towards the patient's left.
_WORLD_FRAMES: dict[int, np.ndarray] = {
    2: np.array([[0, 0, 1], [0, -1, 0], [-1, 0, 0]], float),  # axial: S, P, L
    1: np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0]], float),  # coronal: A, I, L
    0: np.array([[1, 0, 0], [0, 0, -1], [0, -1, 0]], float),  # sagittal: R, I, P
}
_FRAME_NAMES = {2: ("S", "P", "L"), 1: ("A", "I", "L"), 0: ("R", "I", "P")}


@dataclass(frozen=True, eq=False)
class LayerGeometry:
    """How a 3D volume in file order is shown in napari.

    Attributes
    ----------
    affine
        4x4 voxel-to-world matrix of the file (NIfTI RAS+ millimetres).
    shape
        Shape of the volume in file order.
    axes
        ``axes[i]`` is the file axis shown as napari data axis ``i``.
    flips
        ``flips[i]``: napari data axis ``i`` runs against file axis ``axes[i]``.
    header
        Header of the source file (a nibabel NIfTI header), reused when writing; ``None`` for volumes made
        in memory.
    path
        Source file, if any (never overwritten by the writers).
    source
        Where the volume came from (:class:`~napari_scribbleseg.io.VolumeSource`: format, frame, DICOM
        files), so that an export can go back in the source's family (e.g. DICOM-SEG); ``None`` for
        volumes made in memory.
    """

    affine: np.ndarray
    shape: tuple[int, int, int]
    axes: tuple[int, int, int]
    flips: tuple[bool, bool, bool]
    header: Any = None
    path: Path | None = None
    source: Any = None

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_affine(
        cls,
        affine: np.ndarray,
        shape: Sequence[int],
        *,
        header: Any = None,
        path: str | Path | None = None,
        slice_axis: int | None = None,
        source: Any = None,
    ) -> LayerGeometry:
        """The napari view of a volume of ``shape`` (file order) with voxel-to-world ``affine``.

        Parameters
        ----------
        affine
            4x4 voxel-to-world matrix.
        shape
            3D shape in file order.
        header
            The file's header, kept for writing.
        path
            The file, if any.
        slice_axis
            File axis to put on the slider; default: the engine's choice (largest spacing, ties: last).
        source
            The volume's source description, kept for exports.
        """
        aff = np.asarray(affine, dtype=np.float64)
        if aff.shape != (4, 4):
            raise ValueError(f"the affine must be 4x4, got shape {aff.shape}")
        shape3 = tuple(int(n) for n in shape)
        if len(shape3) != 3:
            raise ValueError(f"expected a 3D volume, got shape {shape3}")
        spacing = np.linalg.norm(aff[:3, :3], axis=0)
        if np.any(spacing <= 0) or abs(np.linalg.det(aff[:3, :3])) < 1e-12:
            raise ValueError(f"the affine is singular:\n{aff}")
        directions = aff[:3, :3] / spacing
        s = choose_slice_axis(spacing, slice_axis)
        anatomical = int(np.argmax(np.abs(directions[:, s])))
        frame = _WORLD_FRAMES[anatomical]
        m = frame @ directions  # m[i, j]: cosine between world axis i and file axis j
        others = [j for j in range(3) if j != s]
        best = max(itertools.permutations(others), key=lambda p: abs(m[1, p[0]]) + abs(m[2, p[1]]))
        axes = (s, int(best[0]), int(best[1]))
        flips = tuple(bool(m[i, axes[i]] < 0) for i in range(3))
        path = None if path is None else Path(path)
        return cls(aff, shape3, axes, flips, header, path, source)  # type: ignore[arg-type]

    @classmethod
    def from_volume(cls, volume: Any) -> LayerGeometry:
        """Geometry of a :class:`~napari_scribbleseg.io.NiftiVolume` (affine, header, path, source kept)."""
        return cls.from_affine(
            volume.affine,
            volume.shape,
            header=volume.header,
            path=volume.path,
            source=getattr(volume, "source", None),
        )

    # -- properties ---------------------------------------------------------------------------------
    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel sizes in file order (mm): the header's zooms when there is a header, else the affine's."""
        if self.header is not None:
            z = self.header.get_zooms()[:3]
            return (float(z[0]), float(z[1]), float(z[2]))
        n = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(n[0]), float(n[1]), float(n[2]))

    @property
    def napari_shape(self) -> tuple[int, int, int]:
        """Shape of the data as napari holds it."""
        return tuple(self.shape[a] for a in self.axes)  # type: ignore[return-value]

    @property
    def slice_axis(self) -> int:
        """The file axis on napari's slider (napari data axis 0)."""
        return self.axes[0]

    @property
    def world_axis_names(self) -> tuple[str, str, str]:
        """Anatomical direction of napari's world axes, e.g. ``("S", "P", "L")`` for an axial view."""
        directions = self.affine[:3, :3] / np.linalg.norm(self.affine[:3, :3], axis=0)
        return _FRAME_NAMES[int(np.argmax(np.abs(directions[:, self.slice_axis])))]

    @property
    def scale(self) -> tuple[float, float, float]:
        """The layer's napari ``scale`` (mm per voxel along napari's data axes)."""
        n = np.linalg.norm(self.affine[:3, :3], axis=0)
        return tuple(float(n[a]) for a in self.axes)  # type: ignore[return-value]

    @property
    def translate(self) -> tuple[float, float, float]:
        """The layer's napari ``translate``: places the volume's centre at its world position."""
        directions = self.affine[:3, :3] / np.linalg.norm(self.affine[:3, :3], axis=0)
        frame = _WORLD_FRAMES[int(np.argmax(np.abs(directions[:, self.slice_axis])))]
        centre_vox = (np.asarray(self.shape, float) - 1) / 2
        centre_world = frame @ (self.affine[:3, :3] @ centre_vox + self.affine[:3, 3])
        half = (np.asarray(self.napari_shape, float) - 1) / 2
        return tuple(float(c - s * h) for c, s, h in zip(centre_world, self.scale, half))  # type: ignore[return-value]

    # -- data mapping -------------------------------------------------------------------------------
    def to_napari(self, data: np.ndarray) -> np.ndarray:
        """File-order array -> the array napari shows (a view, no copy)."""
        arr = np.asarray(data) if not hasattr(data, "transpose") else data
        if tuple(arr.shape) != self.shape:
            raise ValueError(f"data of shape {tuple(arr.shape)} does not fit the volume's grid {self.shape}")
        out = arr.transpose(self.axes)
        for i, f in enumerate(self.flips):
            if f:
                out = np.flip(out, axis=i)
        return out

    def from_napari(self, data: np.ndarray) -> np.ndarray:
        """napari-order array -> file order (a view of ``data``; copy it before handing it to a thread)."""
        arr = np.asarray(data)
        if tuple(arr.shape) != self.napari_shape:
            raise ValueError(
                f"layer data of shape {tuple(arr.shape)} does not fit the image's grid {self.napari_shape}"
            )
        for i, f in enumerate(self.flips):
            if f:
                arr = np.flip(arr, axis=i)
        return arr.transpose(np.argsort(self.axes))

    def file_slice_index(self, napari_index: int) -> int:
        """Index along the file's slice axis of napari data index ``napari_index`` on the slider axis."""
        n = self.shape[self.slice_axis]
        return n - 1 - int(napari_index) if self.flips[0] else int(napari_index)

    def napari_slice_index(self, file_index: int) -> int:
        """Inverse of :meth:`file_slice_index`."""
        return self.file_slice_index(file_index)

    def file_slice(self, file_index: int) -> tuple[slice | int, ...]:
        """Index expression selecting slice ``file_index`` of a file-order array."""
        idx: list[slice | int] = [slice(None)] * 3
        idx[self.slice_axis] = int(file_index)
        return tuple(idx)

    # -- napari and files ---------------------------------------------------------------------------
    def layer_kwargs(self) -> dict[str, Any]:
        """``scale`` and ``translate`` for a napari layer on this grid."""
        return {"scale": self.scale, "translate": self.translate}

    def reference(self) -> Any:
        """A :class:`~napari_scribbleseg.data.io.NiftiVolume` with this grid's geometry, for the writers.

        Uses the source header when there is one (qform/sform codes, units kept), else a fresh header
        with the affine.
        """
        from ..io import NiftiVolume

        dummy = np.broadcast_to(np.zeros((), np.uint8), self.shape)
        if self.header is not None:
            return NiftiVolume(dummy, self.affine.copy(), self.header.copy(), self.path, self.source)
        return NiftiVolume.from_array(dummy, self.affine.copy(), path=self.path, source=self.source)

    @classmethod
    def from_layer_transform(cls, shape: Sequence[int], data_to_world: np.ndarray) -> LayerGeometry:
        """Geometry of a layer we did not make: napari's axes taken as file axes, no flips or permutation.

        ``data_to_world`` is the layer's 4x4 data-to-world matrix (scale, translate, rotate and affine
        composed); it becomes the file affine.
        """
        aff = np.asarray(data_to_world, dtype=np.float64)
        return cls(aff, tuple(int(n) for n in shape), (0, 1, 2), (False, False, False), None, None)  # type: ignore[arg-type]

    def same_grid(self, other: LayerGeometry) -> bool:
        """Whether ``other`` describes the same voxel grid shown the same way."""
        return (
            self.shape == other.shape
            and self.axes == other.axes
            and self.flips == other.flips
            and np.allclose(self.affine, other.affine, rtol=0, atol=1e-4)
        )
