"""Shape checks shared by the losses (errors that print the shapes)."""

from __future__ import annotations

import torch


def check_logits_target(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``logits`` is (B, C, H, W) and ``target`` (B, H, W) of the same B, H, W."""
    if (
        logits.ndim != 4
        or target.ndim != 3
        or logits.shape[0] != target.shape[0]
        or (logits.shape[2:] != target.shape[1:])
    ):
        raise ValueError(
            f"expected logits (B, C, H, W) and target (B, H, W), got {tuple(logits.shape)} and "
            f"{tuple(target.shape)}"
        )
