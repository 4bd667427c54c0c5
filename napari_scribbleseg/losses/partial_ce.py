"""Partial cross-entropy on scribbled pixels and its class-weighted form (WPCE)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..labels import IGNORE
from ._shapes import check_logits_target


def partial_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Partial cross-entropy: mean CE over annotated pixels only (Tang et al.; 003 Eq. 1; 001 Sec. IV-B).

    Parameters
    ----------
    logits
        (B, C, H, W) raw scores.
    target
        (B, H, W) int64 class indices, ``IGNORE`` where not annotated.
    class_weights
        Optional (C,) weights multiplying each class's contribution.

    Returns
    -------
    torch.Tensor
        Scalar; ``sum(w_y * CE) / n_annotated`` (0 with a gradient of 0 when nothing is annotated).
    """
    check_logits_target(logits, target)
    ce = F.cross_entropy(logits.float(), target, weight=class_weights, ignore_index=IGNORE, reduction="sum")
    n = (target != IGNORE).sum()
    return ce / n.clamp_min(1)


def wpce_weights(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class weights of the WPCE loss, ``w_i = 1 - n_i / n_tot`` over annotated pixels (001 Eq. 1).

    With a single annotated class the formula would give it weight 0 and silence the loss; we use 1 then.
    """
    labelled = target[target != IGNORE]
    counts = torch.bincount(labelled, minlength=n_classes).float()
    total = counts.sum()
    if total == 0 or int((counts > 0).sum()) < 2:
        return torch.ones(n_classes, device=target.device)
    return 1.0 - counts / total


def weighted_partial_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """WPCE of Valvano et al. (001) Eq. 1: partial CE with class weights ``1 - n_i / n_tot``.

    Shapes as in :func:`partial_cross_entropy`.
    """
    check_logits_target(logits, target)
    return partial_cross_entropy(logits, target, wpce_weights(target, logits.shape[1]))
