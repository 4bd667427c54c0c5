"""In-memory training data: volumes cut into slices, and the samplers that draw training patches.

Training draws square patches (``PreprocessConfig.patch_size``) at the run's in-plane spacing, centred in
the annotated region of a slice: the background scribble usually surrounds the organ, so this keeps full
resolution on thin structures at a fraction of the cost of whole slices. The patches are augmented by
:mod:`.augment` (random rotation, zoom, optional flips, intensity jitter, batched on the training device).
Prediction uses whole slices (the networks are fully convolutional).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config import PreprocessConfig
from ..errors import DataError
from ..labels import IGNORE, check_label_values, scribbles_to_target
from ..scribbles.enclosed import enclosed_background
from .augment import crop_side, jitter_intensity, random_thetas, warp_batch
from .slices import SliceGeometry, normalize_intensity, to_slices


@dataclass
class Case:
    """One volume as the engine receives it (from NIfTI files or napari layers).

    Attributes
    ----------
    image
        3D intensities, any dtype.
    spacing
        Voxel sizes (mm) of the three axes.
    scribbles
        Scribble arrays (encoding of :mod:`~napari_scribbleseg.labels`), one per annotator; empty for an
        unlabeled image.
    mask
        Optional dense mask (mask encoding) for mixed supervision (001 Sec. V-F).
    name
        Shown in errors and reports.
    """

    image: np.ndarray
    spacing: tuple[float, float, float]
    scribbles: list[np.ndarray] = field(default_factory=list)
    mask: np.ndarray | None = None
    name: str = "volume"

    def validate(self, n_classes: int) -> None:
        """Check shapes and label values; raises :class:`DataError` naming the case."""
        if self.image.ndim != 3:
            raise DataError(f"{self.name}: expected a 3D image, got shape {self.image.shape}")
        if not np.all(np.isfinite(self.image)):
            raise DataError(f"{self.name}: the image contains NaN or Inf values")
        for k, s in enumerate(self.scribbles):
            if s.shape != self.image.shape:
                raise DataError(
                    f"{self.name}: scribbles {k + 1} have shape {s.shape}, the image {self.image.shape}"
                )
            check_label_values(s, n_classes, kind="scribbles", source=f"{self.name} (scribbles {k + 1})")
        if self.mask is not None:
            if self.mask.shape != self.image.shape:
                raise DataError(
                    f"{self.name}: mask shape {self.mask.shape} != image shape {self.image.shape}"
                )
            check_label_values(self.mask, n_classes, kind="mask", source=f"{self.name} (mask)")


@dataclass
class PreparedCase:
    """A :class:`Case` cut into normalised slices at the run's in-plane spacing.

    ``targets`` has shape (A, S, h, w) (int8, class indices, ``IGNORE`` = not annotated), one row per
    annotator plus one for the dense mask when given (``dense[a]`` tells which rows are dense) and one
    for pseudo-labels propagated from the scribbles (dense too; ``pseudo[a]`` marks it: it trains but
    never scores a validation).
    ``drawn`` (S, h, w) marks what the user annotated, before :func:`enclosed_background` added to the
    targets; training patches centre on it (``None``: wherever ``targets`` is annotated).
    """

    name: str
    geometry: SliceGeometry
    image: np.ndarray
    targets: np.ndarray
    dense: np.ndarray
    drawn: np.ndarray | None = None
    pseudo: np.ndarray | None = None

    def is_pseudo(self, row: int) -> bool:
        """Whether target row ``row`` holds pseudo-labels rather than the user's annotation."""
        return self.pseudo is not None and bool(self.pseudo[row])

    @property
    def n_slices(self) -> int:
        """Number of slices."""
        return self.image.shape[0]


def prepare_case(
    case: Case, pre: PreprocessConfig, target_spacing: float, pseudo: np.ndarray | None = None
) -> PreparedCase:
    """Normalise and slice a case (labels are resampled with nearest neighbours).

    ``pseudo`` is an optional pseudo-label volume (class indices, ``IGNORE`` where not labelled, on the
    case's grid) added as the last target row.
    """
    geom = SliceGeometry.create(
        case.image.shape, case.spacing, target_spacing, pre.slice_axis, source=case.name
    )
    image = to_slices(normalize_intensity(case.image, pre.normalization), geom)
    rows, dense = [], []
    drawn = np.zeros(image.shape, bool)
    for s in case.scribbles:
        target = to_slices(scribbles_to_target(s).astype(np.int8), geom, labels=True)
        drawn |= target != IGNORE
        if pre.enclosed_background:
            target = np.stack([enclosed_background(t) for t in target])
        rows.append(target)
        dense.append(False)
    if case.mask is not None:
        rows.append(to_slices(np.asarray(case.mask).astype(np.int8), geom, labels=True))
        drawn[:] = True
        dense.append(True)
    n_user_rows = len(rows)
    if pseudo is not None:
        rows.append(to_slices(np.asarray(pseudo).astype(np.int8), geom, labels=True))
        dense.append(True)
    if rows:
        targets = np.stack(rows)
    else:
        targets = np.full((0, *image.shape), IGNORE, dtype=np.int8)
    return PreparedCase(
        case.name,
        geom,
        image.astype(np.float32),
        targets,
        np.asarray(dense, dtype=bool),
        drawn,
        np.arange(len(rows)) >= n_user_rows,
    )


def median_in_plane_spacing(cases: Sequence[Case], axis: int | None = None) -> float:
    """The run's in-plane spacing: the median of the cases' in-plane spacings (nnU-Net's choice)."""
    values = []
    for c in cases:
        ax = SliceGeometry.create(c.image.shape, c.spacing, None, axis, source=c.name).axis
        values += [float(s) for i, s in enumerate(c.spacing) if i != ax]
    if not values:
        raise DataError("no training volume given")
    return float(np.median(values))


@dataclass
class Batch:
    """A training batch on the device.

    ``image`` (B, 1, P, P); ``targets`` (A, B, P, P) int64 with ``IGNORE``; ``dense`` (A, B) bool: which
    targets are dense masks; ``valid`` (B, P, P) bool: pixels that come from inside the slice.
    ``source`` (B, 2) numpy: (case, slice) each patch was cut from, in the sampler's case order;
    ``area_scale`` (B,) tensor: patch pixels per slice pixel (augmentation zooms areas);
    ``pseudo`` (A, B) bool: which targets are propagated pseudo-labels rather than the user's (``None``:
    none).
    """

    image: object
    targets: object
    dense: object
    valid: object
    source: np.ndarray | None = None
    area_scale: object = None
    pseudo: object = None


def _crop(arr: np.ndarray, cy: int, cx: int, size: int, fill: float) -> np.ndarray:
    """``size`` x ``size`` window of the last two axes centred at (cy, cx), padded with ``fill``."""
    h, w = arr.shape[-2:]
    y0, x0 = cy - size // 2, cx - size // 2
    out = np.full((*arr.shape[:-2], size, size), fill, dtype=arr.dtype)
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + size, h), min(x0 + size, w)
    if sy1 > sy0 and sx1 > sx0:
        out[..., sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = arr[..., sy0:sy1, sx0:sx1]
    return out


class PatchSampler:
    """Draws augmented patch batches from prepared cases.

    Parameters
    ----------
    cases
        Prepared cases; only slices with at least one annotated pixel are drawn when ``annotated_only``.
    pre
        Patch size and augmentation settings.
    annotated_only
        Draw from annotated slices only (supervised batches) or from every slice (unlabeled batches).
    """

    def __init__(self, cases: Sequence[PreparedCase], pre: PreprocessConfig, *, annotated_only: bool) -> None:
        self.cases = list(cases)
        self.pre = pre
        self.size = pre.patch_size
        # crop a larger window so rotation and zoom-out stay inside real data where possible
        self.crop = crop_side(pre)
        self.index: list[tuple[int, int, tuple[int, int, int, int]]] = []
        for ci, c in enumerate(self.cases):
            if c.drawn is not None:
                ann = c.drawn if c.targets.shape[0] else None
            else:
                ann = (c.targets != IGNORE).any(axis=0) if c.targets.shape[0] else None
            for si in range(c.n_slices):
                if ann is not None and ann[si].any():
                    ys, xs = np.nonzero(ann[si])
                    box = (int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max()))
                elif annotated_only:
                    continue
                else:
                    h, w = c.image.shape[1:]
                    box = (h // 4, h - h // 4 - 1, w // 4, w - w // 4 - 1)
                self.index.append((ci, si, box))
        if not self.index:
            raise DataError("no annotated slice to train on" if annotated_only else "no slice to sample")
        self.n_annotators = max((c.targets.shape[0] for c in self.cases), default=0)

    def __len__(self) -> int:
        return len(self.index)

    def sample_numpy(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Un-augmented crops.

        Returns image (n, R, R), targets (A, n, R, R), dense (A, n), valid (n, R, R), source (n, 2) and
        pseudo (A, n).
        """
        a = max(self.n_annotators, 1)
        imgs = np.empty((n, self.crop, self.crop), np.float32)
        tgts = np.full((a, n, self.crop, self.crop), IGNORE, np.int8)
        valid = np.empty((n, self.crop, self.crop), np.float32)
        dense = np.zeros((a, n), bool)
        pseudo = np.zeros((a, n), bool)
        source = np.zeros((n, 2), np.int64)
        for k, j in enumerate(rng.integers(0, len(self.index), size=n)):
            ci, si, (y0, y1, x0, x1) = self.index[j]
            source[k] = ci, si
            c = self.cases[ci]
            if rng.random() < self.pre.context_patches:  # context: anywhere in the slice
                y0, y1, x0, x1 = 0, c.image.shape[1] - 1, 0, c.image.shape[2] - 1
            cy, cx = int(rng.integers(y0, y1 + 1)), int(rng.integers(x0, x1 + 1))
            imgs[k] = _crop(c.image[si], cy, cx, self.crop, 0.0)
            valid[k] = _crop(np.ones(c.image.shape[1:], np.float32), cy, cx, self.crop, 0.0)
            na = c.targets.shape[0]
            if na:
                tgts[:na, k] = _crop(c.targets[:, si], cy, cx, self.crop, IGNORE)
                dense[:na, k] = c.dense
                if c.pseudo is not None:
                    pseudo[:na, k] = c.pseudo
        return imgs, tgts, dense, valid, source, pseudo

    def sample(self, n: int, rng: np.random.Generator, device, generator=None, augment: bool = True) -> Batch:
        """An augmented batch of ``n`` patches on ``device``."""
        import torch

        imgs, tgts, dense, valid, source, pseudo = self.sample_numpy(n, rng)
        image = torch.from_numpy(imgs).to(device)[:, None]
        target = torch.from_numpy(tgts).to(device).float()  # (A, n, R, R)
        valid_t = torch.from_numpy(valid).to(device)[:, None]
        theta = random_thetas(n, rng, self.pre, self.crop, augment).to(device)
        image, target, valid_t = warp_batch(theta, image, target, valid_t, self.size)
        if augment:
            image = jitter_intensity(image, rng)
        # one patch pixel spans |det A| (crop/size)^2 slice pixels (A: theta's linear part)
        area_scale = 1.0 / (torch.linalg.det(theta[:, :, :2].float()).abs() * (self.crop / self.size) ** 2)
        return Batch(
            image,
            target.long(),
            torch.from_numpy(dense).to(device),
            valid_t[:, 0] > 0.5,
            source,
            area_scale,
            torch.from_numpy(pseudo).to(device),
        )


class MaskSampler:
    """Draws augmented patches of unpaired masks (the real samples of the adversarial prior, 001 Sec. III).

    Patches are centred like the supervised ones, so that the discriminator cannot tell real from fake by
    where the patch lies: a fraction ``pre.context_patches`` anywhere in the slice (as the supervised
    context patches, whose predictions are its fake samples), the rest inside the dilated bounding box of
    the structures (or in the middle of slices without structure), at the run's in-plane spacing.
    """

    def __init__(self, masks: Sequence[PreparedCase], pre: PreprocessConfig, margin: float = 0.25) -> None:
        self.pre = pre
        self.size = pre.patch_size
        self.crop = crop_side(pre)
        self.masks = [m.targets[-1] for m in masks]  # (S, h, w) dense rows
        self.index = []
        for mi, m in enumerate(self.masks):
            for si in range(m.shape[0]):
                fg = m[si] > 0
                h, w = fg.shape
                if fg.any():
                    ys, xs = np.nonzero(fg)
                    my, mx = int(margin * (ys.max() - ys.min() + 1)), int(margin * (xs.max() - xs.min() + 1))
                    box = (
                        max(ys.min() - my, 0),
                        min(ys.max() + my, h - 1),
                        max(xs.min() - mx, 0),
                        min(xs.max() + mx, w - 1),
                    )
                else:
                    box = (h // 3, h - h // 3 - 1, w // 3, w - w // 3 - 1)
                self.index.append((mi, si, tuple(int(b) for b in box)))
        if not self.index:
            raise DataError("no unpaired mask slice given")

    def sample(self, n: int, rng: np.random.Generator, device, augment: bool = True):
        """(n, P, P) int64 masks on ``device``."""
        import torch

        crops = np.empty((1, n, self.crop, self.crop), np.int8)
        for k, j in enumerate(rng.integers(0, len(self.index), size=n)):
            mi, si, (y0, y1, x0, x1) = self.index[j]
            if rng.random() < self.pre.context_patches:
                y0, y1, x0, x1 = 0, self.masks[mi].shape[1] - 1, 0, self.masks[mi].shape[2] - 1
            cy, cx = int(rng.integers(y0, y1 + 1)), int(rng.integers(x0, x1 + 1))
            crops[0, k] = _crop(self.masks[mi][si], cy, cx, self.crop, 0)
        theta = random_thetas(n, rng, self.pre, self.crop, augment).to(device)  # same augmentation law
        target = torch.from_numpy(crops).to(device).float()
        dummy = torch.zeros(n, 1, self.crop, self.crop, device=device)
        _, t, _ = warp_batch(theta, dummy, target, dummy, self.size)
        return t[0].clamp_min(0).long()
