"""AttenScribble: spatial self-attention, masked CRF and attentive similarity loss (003 Sec. 2.2-2.4).

Tian, Yang, Gao, "AttenScribble: attentive similarity learning for scribble-supervised medical image
segmentation" (003).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from ...data.dataset import Batch
from ...errors import ConfigError
from ...losses import attentive_similarity_loss
from ...models.attention import AttentiveSimilarity
from .base import MethodContext, RegularisedMethod, register_method
from .crf import CRFTermConfig, crf_term


@dataclass(frozen=True)
class AttenScribbleConfig(CRFTermConfig):
    """Options of AttenScribble: the masked CRF term (:class:`CRFTermConfig`) and the attention terms.

    Defaults from 003 Sec. 3.2 where it gives them.
    """

    atn_weight: float = field(
        default=0.1, metadata={"help": "λ_atn, weight of the attentive similarity loss (003: 0.1)"}
    )
    level: int | None = field(
        default=None,
        metadata={
            "help": "encoder level the self-attention sits on (0 = full resolution; 003: the third, 2); "
            "default 3 (16x cheaper on a CPU), or the deepest level of a shallower network"
        },
    )
    heads: int = field(
        default=2, metadata={"help": "attention heads of the self-attention module (003 does not say)"}
    )
    atn_sigma: float = field(
        default=8.0, metadata={"help": "σ of the distance-decay map M, in input pixels (003 does not say)"}
    )
    atn_radius: int = field(
        default=12,
        metadata={"help": "window radius of the attentive similarity loss, in input pixels (003: not given)"},
    )
    warmup_steps: int = field(
        default=0, metadata={"help": "steps of partial CE alone before the CRF and attention terms"}
    )

    option_aliases: ClassVar[dict[str, str]] = {
        "sigma_intensity": "crf_sigma_intensity",
        "sigma_xy": "crf_sigma_xy",
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.atn_weight < 0:
            raise ConfigError(f"atn_weight must be >= 0, got {self.atn_weight}")
        if self.level is not None and self.level < 0:
            raise ConfigError(f"level must be >= 0, got {self.level}")
        if self.heads < 1:
            raise ConfigError(f"heads must be >= 1, got {self.heads}")
        if self.atn_sigma <= 0:
            raise ConfigError(f"atn_sigma must be > 0, got {self.atn_sigma}")
        if self.atn_radius < 1:
            raise ConfigError(f"atn_radius must be >= 1, got {self.atn_radius}")


@register_method
class AttenScribble(RegularisedMethod):
    """UNet + spatial self-attention, trained with pCE + λ_mcrf masked CRF + λ_atn attentive similarity.

    003 Eq. 7: ``l = l_seg(P, Y_s) + λ_mcrf l_mcrf(P, I) + λ_atn l_atn(P, S)``, λ_mcrf = λ_atn = 0.1.

    - ``l_seg``: partial CE on the scribbles (003 Eq. 1), summed over annotators; dense-mask rows (mixed
      supervision) use weighted CE like every method (:meth:`TrainingMethod.supervised_loss`).
    - ``l_mcrf``: the masked CRF term of 003 Sec. 2.2 (Eq. 4-5) on unannotated pixels inside the image,
      the same term and options as the ``crf`` method
      (:func:`~napari_scribbleseg.engine.methods.crf.crf_term`).
    - The segmentor is :class:`~napari_scribbleseg.models.attention.UNetSSA` ("unet-ssa"): the
      multi-head self-attention module of 003 Sec. 2.3 on encoder level ``level``, its output added to
      that feature map.
    - ``l_atn`` (003 Eq. 6): ``S = sigmoid(Conv¹ˣ¹(softmax(A) + softmax(A)ᵀ))`` over all heads, times the
      distance decay ``M[p,q] = exp(-‖p-q‖²/2σ²)``, as the pairwise kernel over ``P̃`` (the prediction
      area-averaged to the attention grid), on the pairs of a ``(2r+1)²`` window inside ``Ω_U`` at that
      grid (a low-resolution pixel is in ``Ω_U`` when all the pixels it covers are). Gradients reach the
      prediction, the attention (Q, K and the encoder) and the 1 × 1 mixing weights.

    Deviations from 003, and why (measurements in ``docs/methods/attenscribble.md``):

    - The 1 × 1 convolution producing ``S`` has learnable non-negative mixing weights summing to one, with
      a fixed gain (the number of positions) and offset (``-2``) (see
      :class:`~napari_scribbleseg.models.attention.AttentiveSimilarity`): a free bias or gain receives only
      gradients that lower ``S`` everywhere, which switches the loss off (or inverts it) over a long run.
    - The module is added to the encoder feature (residual, projection initialised at zero) rather than
      replacing it, so training starts from the plain UNet.
    - ``level=3`` (1/8 resolution) instead of 003's 2 (1/4), for CPU time: the attention is 16x cheaper;
      at level 2 a training step takes 2.4x that of ``pce`` on a 2-core CPU. ``--opt level=2`` restores
      the paper's placement (e.g. on a GPU).
    - σ and r of ``l_atn`` are not given in 003; they are set in input pixels (σ = 8, r = 12: 2 and 3
      grid pixels at 003's level 2) and converted to the attention grid, so that the attention level does
      not change the loss's reach (0.858 mean Dice on the cardiac sample at 300 s, ``bench/methods.py``;
      0.816 with σ and r fixed in grid pixels). The window is ``‖q-p‖∞ <= r`` as in the masked CRF.
    - Partial CE is the mean over scribbled pixels (003 Eq. 1); optimiser and schedule are the trainer's
      (Adam, cosine) instead of SGD with polynomial decay (003 Sec. 3.2).

    Cost: at 128-pixel patches and ``level=2`` the attention is 1024 × 1024 per head and image (2 heads,
    batch 12: ~100 MB of attention probabilities kept for backward); ``level=3`` (256 × 256) is 16x
    cheaper (see :class:`~napari_scribbleseg.models.attention.SpatialSelfAttention`). 003 does not give
    the number of heads; we use 2 (more heads cost memory traffic, not multiply-adds). At inference whole
    slices are processed in row chunks. The attention each position receives is streamed as a preview map
    (``"scale 1/8"`` at level 3) like the AAG attention maps.
    """

    name = "attenscribble"
    description = "UNet + spatial self-attention, partial CE + masked CRF + attentive similarity loss (003)"
    Config = AttenScribbleConfig
    segmentor_name = "unet-ssa"

    def __init__(self, config: AttenScribbleConfig, ctx: MethodContext) -> None:
        self.level = min(3, ctx.train.depth - 1) if config.level is None else config.level
        if self.level >= ctx.train.depth:
            raise ConfigError(
                f"attenscribble: attention level {self.level} does not exist in a network of depth "
                f"{ctx.train.depth} (levels 0..{ctx.train.depth - 1})"
            )
        super().__init__(config, ctx)

    def segmentor_options(self) -> dict[str, int]:
        """Attention level and heads of the "unet-ssa" segmentor."""
        return {"level": self.level, "heads": self.config.heads}

    updated_networks = ("segmentor", "similarity")

    def build(self) -> None:
        """The 1 × 1 mixing of the attention maps into ``S`` (trained with the segmentor's loss)."""
        self.add_network("similarity", AttentiveSimilarity(self.segmentor.attention.n_maps))

    def regularisers(self, out: dict, probs: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """``λ_mcrf l_mcrf`` and ``λ_atn l_atn`` of a batch (``probs``: (B, C, H, W) softmax)."""
        c = self.config
        omega_u = self.unannotated(batch)
        terms = {}
        if c.crf_weight > 0:
            terms["crf"] = crf_term(c, probs, batch.image, omega_u)
        if c.atn_weight > 0:
            factor = 2**self.level
            p_small = F.avg_pool2d(probs, factor) if factor > 1 else probs
            m = omega_u[:, None].float()
            m_small = (-F.max_pool2d(-m, factor) if factor > 1 else m)[:, 0]
            terms["atn"] = c.atn_weight * attentive_similarity_loss(
                p_small,
                out["attention_probs"],
                self.net("similarity")(),
                m_small,
                sigma=c.atn_sigma / factor,  # input pixels -> attention-grid pixels
                radius=max(1, round(c.atn_radius / factor)),
            )
        return terms
