"""From volumes to 2D training slices and back (DESIGN.md Sec. 2 "Volumes and slices").

Methods are 2D, as in the papers: volumes are cut along the slice axis (largest voxel spacing, ties: the
last axis), normalised per volume, resampled in-plane to one spacing shared by the run, and predictions are
resampled back onto each input grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from ..io.limits import check_voxel_count, max_voxels


def choose_slice_axis(spacing: Sequence[float], override: int | None = None) -> int:
    """The axis with the largest spacing (ties: the last such axis), or ``override``.

    Raises
    ------
    ConfigError
        If ``override`` is not a valid axis.
    """
    if override is not None:
        if not -3 <= override < 3:
            raise ConfigError(f"slice axis must be 0, 1 or 2, got {override}")
        return override % 3
    sp = np.asarray(spacing, dtype=float)[:3]
    return int(np.flatnonzero(np.isclose(sp, sp.max(), rtol=1e-3))[-1])


def normalize_intensity(volume: np.ndarray, method: str = "median-iqr") -> np.ndarray:
    """Per-volume intensity normalisation.

    ``median-iqr``: subtract the median, divide by the inter-quartile range (Valvano et al. (001)
    Sec. IV-A, ACDC/LVSC), after clipping to the 0.5-99.5 percentiles so a few hot voxels do not dominate.
    ``minmax``: percentiles 0.5-99.5 mapped to [0, 1] (003 Sec. 3.1).
    """
    v = np.asarray(volume, dtype=np.float32)
    lo, hi = np.percentile(v, [0.5, 99.5])
    v = np.clip(v, lo, hi)
    if method == "minmax":
        return ((v - lo) / max(hi - lo, 1e-6)).astype(np.float32)
    if method != "median-iqr":
        raise ConfigError(f"unknown normalization {method!r}")
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    iqr = q3 - q1
    if iqr <= 1e-6:  # mostly constant volume (e.g. lots of air): fall back to the spread of the range
        iqr = max(hi - lo, 1e-6)
    return ((v - med) / iqr).astype(np.float32)


@dataclass(frozen=True)
class SliceGeometry:
    """How a volume maps to its stack of 2D slices (and back).

    ``axis`` is the slice axis of the volume; ``in_plane_shape`` the two remaining axes' sizes in order;
    ``resampled_shape`` their sizes at the run's in-plane spacing.
    """

    shape: tuple[int, int, int]
    axis: int
    in_plane_spacing: tuple[float, float]
    target_spacing: float
    resampled_shape: tuple[int, int]

    @property
    def in_plane_shape(self) -> tuple[int, int]:
        """Sizes of the two in-plane axes, in volume order."""
        s = [n for i, n in enumerate(self.shape) if i != self.axis]
        return (s[0], s[1])

    @property
    def n_slices(self) -> int:
        """Number of slices along the slice axis."""
        return self.shape[self.axis]

    @property
    def needs_resampling(self) -> bool:
        """False when the slices are used on their own grid."""
        return self.resampled_shape != self.in_plane_shape

    @classmethod
    def create(
        cls,
        shape: Sequence[int],
        spacing: Sequence[float],
        target_spacing: float | None,
        axis: int | None,
        *,
        source: str | None = None,
    ) -> SliceGeometry:
        """Geometry of a volume of ``shape`` and ``spacing`` at in-plane ``target_spacing`` (None = own).

        Parameters
        ----------
        shape, spacing
            The volume's shape and voxel sizes (mm).
        target_spacing
            The run's in-plane spacing (mm); ``None`` or 0 keeps the volume's own.
        axis
            Slice axis override (``None``: the largest spacing).
        source
            The volume's file or case name, for the messages.

        Raises
        ------
        DataError
            If the shape is not 3D, a spacing is not a positive finite number, or resampling would grow
            the volume past :func:`~napari_scribbleseg.io.limits.max_voxels` (checked before allocating;
            the message names the volume, both spacings and the size it would have).
        """
        name = source or "the volume"
        if len(shape) != 3:
            raise DataError(f"{name}: expected a 3D volume, got shape {tuple(shape)}")
        sp3 = [float(s) for s in spacing[:3]]
        if len(sp3) != 3 or not all(np.isfinite(s) and s > 0 for s in sp3):
            raise DataError(f"{name}: voxel spacing {tuple(sp3)} must be three positive finite numbers")
        ax = choose_slice_axis(sp3, axis)
        sp = tuple(s for i, s in enumerate(sp3) if i != ax)
        in_plane = [int(n) for i, n in enumerate(shape) if i != ax]
        tgt = float(target_spacing) if target_spacing else float(np.sqrt(sp[0] * sp[1]))
        if not (np.isfinite(tgt) and tgt > 0):
            raise DataError(f"{name}: cannot resample to an in-plane spacing of {tgt:g} mm")
        # floats, capped far above any limit: sizes are compared before anything is allocated or rounded
        exact = [min(1e18, max(8.0, n * s / tgt)) for n, s in zip(in_plane, sp)]
        n_slices = int(shape[ax])
        if n_slices * exact[0] * exact[1] > max(max_voxels(), int(np.prod(shape, dtype=float))):
            size = [round(e) for e in exact]
            check_voxel_count(
                name,
                [n_slices, *size],
                f"resampling from spacing ({sp[0]:g}, {sp[1]:g}) mm in-plane to the target spacing "
                f"{tgt:g} mm would make",
            )
        res = tuple(max(8, int(round(n * s / tgt))) for n, s in zip(in_plane, sp))
        # keep the own grid when resampling would change a side by under 1 pixel-percent
        if all(abs(r - n) <= max(1, 0.01 * n) for r, n in zip(res, in_plane)):
            res = tuple(in_plane)
        return cls(tuple(int(n) for n in shape), ax, (sp[0], sp[1]), tgt, (res[0], res[1]))


def to_slices(volume: np.ndarray, geom: SliceGeometry, *, labels: bool = False) -> np.ndarray:
    """Volume -> (S, h, w) stack at the run's in-plane spacing.

    Images are resampled bilinearly (float32), labels with nearest neighbours (dtype kept).
    """
    import torch
    import torch.nn.functional as F

    stack = np.moveaxis(np.asarray(volume), geom.axis, 0)
    if not geom.needs_resampling:
        return np.ascontiguousarray(stack)
    if labels:
        t = torch.from_numpy(np.ascontiguousarray(stack).astype(np.int32))[:, None].float()
        out = F.interpolate(t, size=geom.resampled_shape, mode="nearest-exact")[:, 0]
        return out.numpy().astype(stack.dtype)
    t = torch.from_numpy(np.ascontiguousarray(stack, dtype=np.float32))[:, None]
    out = F.interpolate(t, size=geom.resampled_shape, mode="bilinear", align_corners=False)[:, 0]
    return out.numpy()


def from_slices(stack: np.ndarray, geom: SliceGeometry) -> np.ndarray:
    """Channel-first (C, S, h, w) float stack (e.g. probabilities) -> (C, *volume shape) on the input grid.

    Resampling is bilinear per channel, so ``argmax`` afterwards gives smooth label boundaries on the
    input grid.
    """
    import torch
    import torch.nn.functional as F

    if stack.ndim != 4:
        raise ValueError(f"expected (C, S, h, w), got {stack.shape}")
    arr = stack
    if geom.needs_resampling:
        t = torch.from_numpy(np.ascontiguousarray(stack, dtype=np.float32))
        c, s = t.shape[:2]
        t = t.reshape(c * s, 1, *t.shape[2:])
        t = F.interpolate(t, size=geom.in_plane_shape, mode="bilinear", align_corners=False)
        arr = t.reshape(c, s, *geom.in_plane_shape).numpy()
    # (C, S, a, b) -> move S back to position geom.axis among the 3 spatial axes
    return np.moveaxis(arr, 1, 1 + geom.axis)


def pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Zero-pad the last two axes of ``x`` up to a multiple of ``multiple``; return the crop back."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (slice(0, h), slice(0, w))
    top, left = ph // 2, pw // 2
    pad = [(0, 0)] * (x.ndim - 2) + [(top, ph - top), (left, pw - left)]
    return np.pad(x, pad), (slice(top, top + h), slice(left, left + w))
