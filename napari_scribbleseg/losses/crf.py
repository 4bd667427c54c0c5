"""Masked CRF loss on unannotated pixels (AttenScribble, 003 Sec. 2.2, Eq. 3-5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_crf_loss(
    probs: torch.Tensor,
    image: torch.Tensor,
    mask: torch.Tensor,
    *,
    sigma_intensity: float = 0.15,
    sigma_xy: float = 6.0,
    radius: int = 2,
    downsample: int = 2,
) -> torch.Tensor:
    """Masked CRF loss of AttenScribble (003 Sec. 2.2, Eq. 3-5), computed at reduced resolution.

    ``l = 1/|Ω_U| Σ_{p∈Ω_U} Σ_{q∈Ω_U, 0<‖q-p‖∞<r} s(p,q) Σ_{i≠j} P_p^i P_q^j`` with a single Gaussian
    kernel on intensity and position, ``s(p,q) = exp(-|I_p-I_q|²/2σ_I² - ‖p-q‖²/2σ_xy²)`` (Eq. 5 with
    ``f_p = [I_p, x_p, y_p]``; the two features get their own σ, i.e. a scaled feature vector).

    Efficiency (deviation from a full-resolution window, as in the Gated CRF loss of Obukhov et al. that
    003 builds on): probabilities, intensities and the mask are average-pooled by ``downsample`` first and
    the window is ``(2 radius + 1)²`` at that resolution, so ``radius=2, downsample=2`` spans ±4 pixels of
    the input. We use ``Σ_{i≠j} P_p^i P_q^j = 1 - <P_p, P_q>`` (rows of P sum to 1) and loop over the
    ``2r(r+1)`` offsets of one half-window (pairs are symmetric), each a sliced product: no loop over
    pixels, memory linear in image size. ``sigma_xy`` is in input pixels.

    Parameters
    ----------
    probs
        (B, C, H, W) softmax probabilities.
    image
        (B, 1, H, W) normalised intensities.
    mask
        (B, H, W) or (B, 1, H, W): 1 on Ω_U (unannotated pixels inside the image), 0 elsewhere.
    sigma_intensity, sigma_xy
        Kernel widths on normalised intensity and on position (input pixels).
    radius
        Window radius at the reduced resolution (``‖q - p‖∞ <= radius``).
    downsample
        Average-pooling factor applied before the pairwise term.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if probs.ndim != 4 or image.shape[0] != probs.shape[0] or image.shape[-2:] != probs.shape[-2:]:
        raise ValueError(
            f"probs (B,C,H,W) and image (B,1,H,W) must match, got {tuple(probs.shape)}, {tuple(image.shape)}"
        )
    m = mask.float()
    if m.ndim == 3:
        m = m[:, None]
    p = probs.float()
    img = image.float()
    if downsample > 1:
        p = F.avg_pool2d(p, downsample)
        img = F.avg_pool2d(img, downsample)
        # a low-resolution pixel is in Ω_U only if all the pixels it averages are
        m = -F.max_pool2d(-m, downsample)
    sxy = sigma_xy / max(downsample, 1)
    h, w = p.shape[-2:]
    total = p.new_zeros(())
    for dy in range(0, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx <= 0:
                continue  # half window: (dy, dx) and (-dy, -dx) give the same pairs
            ya, yb = slice(0, h - dy), slice(dy, h)
            xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
            pa, pb = p[..., ya, xa], p[..., yb, xb]
            ia, ib = img[..., ya, xa], img[..., yb, xb]
            pair_mask = m[..., ya, xa] * m[..., yb, xb]
            kernel = torch.exp(
                -((ia - ib) ** 2) / (2 * sigma_intensity**2) - (dy * dy + dx * dx) / (2 * sxy**2)
            )
            disagreement = 1.0 - (pa * pb).sum(dim=1, keepdim=True)
            total = total + 2.0 * (kernel * pair_mask * disagreement).sum()
    return total / m.sum().clamp_min(1)
