"""Soft Dice losses on the annotated pixels: plain and ISDNet's class-weighted form (002 Eq. 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..labels import IGNORE
from ._shapes import check_logits_target


def soft_dice_loss(
    probs: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None, eps: float = 1e-5
) -> torch.Tensor:
    """1 - (weighted) mean soft Dice over classes on annotated pixels.

    Parameters
    ----------
    probs
        (B, C, H, W) probabilities.
    target
        (B, H, W) class indices with ``IGNORE`` for pixels to skip.
    class_weights
        Optional (C,) weights (normalised to sum 1).
    eps
        Smoothing of numerator and denominator.
    """
    valid = (target != IGNORE).unsqueeze(1).float()
    onehot = F.one_hot(target.clamp_min(0), probs.shape[1]).permute(0, 3, 1, 2).float() * valid
    p = probs.float() * valid
    inter = (p * onehot).sum(dim=(0, 2, 3))
    denom = p.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    dice = (2 * inter + eps) / (denom + eps)
    if class_weights is None:
        return 1.0 - dice.mean()
    w = class_weights.float() / class_weights.float().sum()
    return 1.0 - (w * dice).sum()


def class_weighted_dice_loss(
    probs: torch.Tensor,
    target: torch.Tensor,
    class_weights: torch.Tensor | None = None,
    *,
    per_sample: bool = False,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Class-weighted multi-class Dice loss of ISDNet (002 Eq. 2) on the pixels where target != IGNORE.

    ``L = 1 - 2 Σ_c w_c Σ_p Ŷ_p^c Y_p^c / Σ_c w_c Σ_p (Ŷ_p^c + Y_p^c)`` (the weights inside both sums, as in
    a generalised Dice; a weight outside each class ratio would cancel). Pixels with ``IGNORE`` are left
    out, which makes it a *partial* Dice on scribbles and the confident-region Dice of 002 Eq. 5 when the
    unconfident pixels are set to ``IGNORE``.

    Parameters
    ----------
    probs
        (B, C, H, W) probabilities.
    target
        (B, H, W) class indices with ``IGNORE``.
    class_weights
        (C,) weights ``w_c`` (default all 1).
    per_sample
        Return one loss per image (B,) instead of one over the batch.
    eps
        Smoothing; an image without valid pixels has loss 0.
    """
    check_logits_target(probs, target)
    valid = (target != IGNORE).unsqueeze(1).float()
    onehot = F.one_hot(target.clamp_min(0), probs.shape[1]).permute(0, 3, 1, 2).float() * valid
    p = probs.float() * valid
    dims = (2, 3) if per_sample else (0, 2, 3)
    inter = (p * onehot).sum(dim=dims)
    denom = (p + onehot).sum(dim=dims)
    w = torch.ones(probs.shape[1], device=probs.device) if class_weights is None else class_weights.float()
    return 1.0 - (2.0 * (w * inter).sum(-1) + eps) / ((w * denom).sum(-1) + eps)
