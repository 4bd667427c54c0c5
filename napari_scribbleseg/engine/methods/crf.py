"""CRF-regularised UNet: partial CE + masked CRF loss (AttenScribble, 003 Sec. 2.2, Eq. 3-5)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ...data.dataset import Batch
from ...losses import masked_crf_loss
from .base import RegularisedMethod, register_method


@dataclass(frozen=True)
class CRFConfig:
    """Options of the CRF loss (003 Eq. 4-5)."""

    weight: float = field(default=0.1, metadata={"help": "λ_mcrf (003 Sec. 3.1: 0.1)"})
    sigma_intensity: float = field(
        default=0.15, metadata={"help": "σ of the intensity kernel (normalised units)"}
    )
    sigma_xy: float = field(default=6.0, metadata={"help": "σ of the position kernel (pixels)"})
    radius: int = field(default=2, metadata={"help": "window radius r at the reduced resolution"})
    downsample: int = field(default=2, metadata={"help": "resolution reduction of the CRF term"})
    warmup_steps: int = field(default=0, metadata={"help": "steps of partial CE alone before the CRF term"})


@register_method
class CRF(RegularisedMethod):
    """UNet trained with partial CE plus the masked CRF loss of AttenScribble (003 Sec. 2.2).

    ``L = pCE + λ_mcrf · l_mcrf(P, I)`` with λ_mcrf = 0.1 (003 Sec. 3.1). The CRF term covers the
    unannotated pixels Ω_U inside the image (scribbled pixels and the padding that augmentation adds
    outside the slice are excluded: 003 keeps rotation margins in, we keep them out because our padding
    is not image content). See :func:`~napari_scribbleseg.losses.masked_crf_loss` for the reduced-resolution
    window that keeps the term cheap on a CPU.
    """

    name = "crf"
    description = "UNet, partial CE + masked CRF loss on unannotated pixels (003 Sec. 2.2)"
    Config = CRFConfig

    def regularisers(self, out: dict, probs: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """λ · masked CRF loss of the batch."""
        c = self.config
        omega_u = self.unannotated(batch)
        crf = masked_crf_loss(
            probs,
            batch.image,
            omega_u,
            sigma_intensity=c.sigma_intensity,
            sigma_xy=c.sigma_xy,
            radius=c.radius,
            downsample=c.downsample,
        )
        return {"crf": c.weight * crf}
