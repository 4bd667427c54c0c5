"""Data augmentation of training patches, batched on the training device.

Random rotation, zoom and optional flips (one affine matrix per patch, applied with ``grid_sample``:
bilinear for images, nearest for labels) and intensity jitter. The unpaired masks of the adversarial prior
go through the same geometric law, so that real and predicted masks look alike to the discriminator.
torch is imported inside the functions, so that importing the data package stays light.
"""

from __future__ import annotations

import numpy as np

from ..config import PreprocessConfig

__all__ = ["crop_side", "jitter_intensity", "random_thetas", "warp_batch"]


def crop_side(pre: PreprocessConfig) -> int:
    """Side (even) of the window cropped before augmentation.

    Large enough that rotation and zoom-out of a ``patch_size`` patch stay inside real data where the
    slice allows.
    """
    return int(np.ceil(pre.patch_size * 1.45 * (1 + pre.scale_range) / 2) * 2)


def random_thetas(n: int, rng: np.random.Generator, pre: PreprocessConfig, crop: int, augment: bool):
    """Per-sample affine matrices (n, 2, 3) for :func:`warp_batch`.

    Random rotation, zoom and optional flips of a ``pre.patch_size`` patch taken from the centre of a
    ``crop``-sided window.
    """
    import torch

    ratio = pre.patch_size / crop
    out = np.zeros((n, 2, 3), np.float32)
    for k in range(n):
        ang = np.deg2rad(rng.uniform(-1, 1) * pre.rotation_degrees) if augment else 0.0
        s = ratio * (1 + rng.uniform(-1, 1) * pre.scale_range if augment else 1.0)
        fx = -1.0 if augment and pre.flips and rng.random() < 0.5 else 1.0
        fy = -1.0 if augment and pre.flips and rng.random() < 0.5 else 1.0
        c, sn = np.cos(ang), np.sin(ang)
        out[k, :, :2] = s * np.array([[c * fx, -sn * fy], [sn * fx, c * fy]])
    return torch.from_numpy(out)


def warp_batch(theta, image, target, valid, size: int):
    """Apply per-sample affine ``theta`` (n, 2, 3): bilinear for images, nearest for labels.

    ``image`` (n, 1, R, R); ``target`` (A, n, R, R) float (IGNORE kept); ``valid`` (n, 1, R, R).
    Returns tensors of side ``size``.
    """
    import torch.nn.functional as F

    n = image.shape[0]
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    image = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    valid = F.grid_sample(valid, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    a = target.shape[0]
    # labels: shift by one so that padding (0) becomes IGNORE after the shift back
    t = target.permute(1, 0, 2, 3) + 1.0  # (n, A, R, R)
    t = F.grid_sample(t, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1.0
    return image, t.permute(1, 0, 2, 3).reshape(a, n, size, size), valid


def jitter_intensity(image, rng: np.random.Generator):
    """Per-sample intensity jitter: ``image * exp(N(0, 0.1)) + N(0, 0.1)`` for an (n, 1, P, P) tensor."""
    import torch

    n = image.shape[0]
    scale = torch.from_numpy(np.exp(rng.normal(0, 0.1, n)).astype(np.float32)).to(image.device)
    shift = torch.from_numpy(rng.normal(0, 0.1, n).astype(np.float32)).to(image.device)
    return image * scale[:, None, None, None] + shift[:, None, None, None]
