"""UNet baselines trained on scribbles alone: partial CE and weighted partial CE."""

from __future__ import annotations

import torch

from ...losses import weighted_partial_cross_entropy
from .base import TrainingMethod, register_method


@register_method
class PCE(TrainingMethod):
    """UNet + partial cross-entropy on scribbled pixels (UNet_PCE of 001 Sec. IV-B; 003 Eq. 1)."""

    name = "pce"
    description = "UNet, partial cross-entropy on scribbled pixels (baseline)"


@register_method
class WPCE(TrainingMethod):
    """UNet + class-weighted partial cross-entropy, ``w_i = 1 - n_i/n_tot`` (UNet_WPCE, 001 Eq. 1)."""

    name = "wpce"
    description = "UNet, class-weighted partial cross-entropy (001 Eq. 1)"

    def scribble_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """WPCE on the scribbled pixels."""
        return weighted_partial_cross_entropy(logits, target)
