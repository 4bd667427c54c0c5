"""The masked CRF term shared by ``crf`` and ``attenscribble``, and the ``crf`` method (003 Sec. 2.2).

:class:`CRFTermConfig` holds the options of the term and :func:`crf_term` computes it; both methods'
configs inherit the options, so they have the same names, defaults and checks everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from ...data.dataset import Batch
from ...errors import ConfigError
from ...losses import masked_crf_loss
from .base import RegularisedMethod, register_method


@dataclass(frozen=True)
class CRFTermConfig:
    """Options of the masked CRF term ``λ_mcrf · l_mcrf(P, I)`` (003 Eq. 4-5, Sec. 3.1)."""

    crf_weight: float = field(
        default=0.1, metadata={"help": "λ_mcrf, weight of the masked CRF loss (003 Sec. 3.1: 0.1)"}
    )
    crf_sigma_intensity: float = field(
        default=0.15, metadata={"help": "σ of the CRF intensity kernel (normalised units; 003 Eq. 5)"}
    )
    crf_sigma_xy: float = field(
        default=6.0, metadata={"help": "σ of the CRF position kernel (input pixels; 003 Eq. 5)"}
    )
    crf_radius: int = field(
        default=2, metadata={"help": "CRF window radius r at the reduced resolution (003 Eq. 4)"}
    )
    crf_downsample: int = field(
        default=2, metadata={"help": "resolution reduction of the CRF term (2: the window spans ±4 pixels)"}
    )

    #: old option name -> current name (saved ``meta.json`` files and ``--opt`` use the old ones)
    option_aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        if self.crf_weight < 0:
            raise ConfigError(f"crf_weight must be >= 0, got {self.crf_weight}")
        if self.crf_sigma_intensity <= 0 or self.crf_sigma_xy <= 0:
            raise ConfigError("crf_sigma_intensity and crf_sigma_xy must be > 0")
        if self.crf_radius < 1 or self.crf_downsample < 1:
            raise ConfigError("crf_radius and crf_downsample must be >= 1")


def crf_term(
    config: CRFTermConfig, probs: torch.Tensor, image: torch.Tensor, omega_u: torch.Tensor
) -> torch.Tensor:
    """``λ_mcrf · l_mcrf(P, I)`` on the unannotated pixels Ω_U (003 Eq. 3-5).

    Parameters
    ----------
    config
        The term's options.
    probs
        (B, C, H, W) softmax probabilities.
    image
        (B, 1, H, W) normalised intensities.
    omega_u
        (B, H, W) Ω_U: pixels inside the image that no annotator labelled.

    Returns
    -------
    torch.Tensor
        Scalar, the weighted term (see :func:`~napari_scribbleseg.losses.masked_crf_loss`).
    """
    return config.crf_weight * masked_crf_loss(
        probs,
        image,
        omega_u,
        sigma_intensity=config.crf_sigma_intensity,
        sigma_xy=config.crf_sigma_xy,
        radius=config.crf_radius,
        downsample=config.crf_downsample,
    )


@dataclass(frozen=True)
class CRFConfig(CRFTermConfig):
    """Options of the ``crf`` method: the CRF term and its warm-up."""

    warmup_steps: int = field(default=0, metadata={"help": "steps of partial CE alone before the CRF term"})

    option_aliases: ClassVar[dict[str, str]] = {
        "weight": "crf_weight",
        "sigma_intensity": "crf_sigma_intensity",
        "sigma_xy": "crf_sigma_xy",
        "radius": "crf_radius",
        "downsample": "crf_downsample",
    }


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
        return {"crf": crf_term(self.config, probs, batch.image, self.unannotated(batch))}
