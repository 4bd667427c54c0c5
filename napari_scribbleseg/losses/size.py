"""Differentiable size-constraint penalty (Kervadec et al., 004 Sec. 3, Eq. 2-3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def size_penalty(size: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """``C(V)`` of 004 Eq. 3, elementwise: ``(V-a)²`` if ``V < a``, ``(V-b)²`` if ``V > b``, else 0.

    ``upper = inf`` leaves the size unbounded above; ``a = b = 0`` is the absence constraint of Eq. 5.
    """
    return F.relu(lower - size).pow(2) + F.relu(size - upper).pow(2)


def size_constraint_loss(
    probs: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Size penalty of 004 Eq. 2-3 per image, ``Σ_c C(V_c) / |Ω|``, averaged over the batch.

    ``V_c = Σ_{p∈Ω} S_p^c`` is the soft size of class ``c`` (004 Eq. 2). The division by the number of
    pixels ``|Ω|`` follows the authors' released code (``loss / (w·h)``); with it 004's λ = 10⁻² is
    reasonable next to a *mean* partial cross-entropy (the text's Eq. 2 uses unnormalised sums).

    Parameters
    ----------
    probs
        (B, C, H, W) softmax probabilities.
    lower, upper
        (B, C) bounds ``a``, ``b`` in pixels (``upper`` may be ``inf``; ``lower = 0`` for no lower bound).
    valid
        Optional (B, H, W) mask of the pixels of Ω (e.g. without padding).

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    p = probs.float()
    if valid is not None:
        v = valid.float()
        p = p * v[:, None]
        n_pix = v.sum(dim=(-2, -1))
    else:
        n_pix = torch.full((p.shape[0],), float(p.shape[-2] * p.shape[-1]), device=p.device)
    size = p.sum(dim=(-2, -1))
    if lower.shape != size.shape or upper.shape != size.shape:
        raise ValueError(
            f"bounds {tuple(lower.shape)}, {tuple(upper.shape)} must be (B, C) = {tuple(size.shape)}"
        )
    penalty = size_penalty(size, lower.float(), upper.float()).sum(dim=1)
    return (penalty / n_pix.clamp_min(1)).mean()
