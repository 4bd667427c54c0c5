"""Adversarial methods: the multi-scale Adversarial Attention Gate GAN and the single-scale UNetD baseline.

Valvano, Leo, Tsaftaris, "Learning to Segment from Scribbles using Multi-scale Adversarial Attention
Gates" (001), Sec. III.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from ...data.dataset import Batch
from ...errors import ConfigError
from ...losses import (
    lsgan_discriminator_loss_targets,
    lsgan_generator_loss,
    weighted_partial_cross_entropy,
)
from ...models.discriminator import MultiScaleDiscriminator
from .base import MethodContext, StepData, TrainingMethod, register_method


@dataclass(frozen=True)
class AdversarialConfig:
    """Loss weights and GAN tricks of 001 Sec. III-B/C (defaults are the paper's)."""

    adv_weight: float = field(
        default=0.1,
        metadata={"help": "weight of the adversarial loss on scribbled batches (a1 in 001 Sec. III-C: 0.1)"},
    )
    disc_weight: float = field(
        default=0.2, metadata={"help": "weight of the discriminator loss (a2 in 001 Sec. III-C: 0.2)"}
    )
    adv_unlabeled_weight: float = field(
        default=0.2,
        metadata={"help": "weight of the adversarial loss on unlabeled batches (a3 in 001 Sec. III-C: 0.2)"},
    )
    label_flip: float = field(default=0.1, metadata={"help": "probability of flipping real/fake labels"})
    instance_noise: float = field(default=0.2, metadata={"help": "σ of Gaussian noise on the finest input"})
    dynamic_sup_weight: bool = field(
        default=True,
        metadata={
            "help": "weight the supervised loss by |V_LS(S)| / |L_SUP| (dynamic a0 of 001 Sec. III-C; else 1)"
        },
    )

    #: old option name -> current name (saved ``meta.json`` files and ``--opt`` use the old ones)
    option_aliases: ClassVar[dict[str, str]] = {
        "a1": "adv_weight",
        "a2": "disc_weight",
        "a3": "adv_unlabeled_weight",
        "dynamic_a0": "dynamic_sup_weight",
    }


def one_hot_scales(mask: torch.Tensor, n_classes: int, n_scales: int) -> list[torch.Tensor]:
    """Real masks as the discriminator sees them: one-hot without background, finest first.

    Lower resolutions are area averages, which makes their boundaries soft like the segmentor's
    downsampled predictions.
    """
    oh = F.one_hot(mask, n_classes).permute(0, 3, 1, 2).float()[:, 1:]
    out = [oh]
    for _ in range(n_scales - 1):
        out.append(F.avg_pool2d(out[-1], 2))
    return out


class _AdversarialBase(TrainingMethod):
    """Shared training strategy of 001 Sec. III-C; subclasses choose the segmentor and discriminator."""

    Config = AdversarialConfig
    uses_unpaired_masks = True
    uses_unlabeled = True
    n_scales = 4  # 001 Sec. III-B: d = 1..4

    def __init__(self, config: AdversarialConfig, ctx: MethodContext) -> None:
        if not ctx.has_unpaired_masks:
            raise ConfigError(
                f"method {self.name!r} learns a shape prior from unpaired masks: give some with --masks DIR "
                "(CLI) or a mask layer (napari)"
            )
        super().__init__(config, ctx)

    def build(self) -> None:
        """The mask discriminator with its own Adam optimiser."""
        t = self.ctx.train
        if self.n_scales > 1:  # one scale per AAG plus the output (4 for the default depth 5)
            self.n_scales = t.depth - 1
        disc = MultiScaleDiscriminator(
            self.ctx.n_classes - 1,
            n_scales=self.n_scales,
            input_size=self.ctx.pre.patch_size,
            width=t.width,
            depth=t.depth,
        )
        self.add_network("discriminator", disc)

    def fake_scales(self, out: dict) -> list[torch.Tensor]:
        """The segmentor's soft predictions without background, finest first."""
        return [p[:, 1:] for p in reversed(out["scales"])][: self.n_scales]

    def scribble_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """WPCE (001 Eq. 1)."""
        return weighted_partial_cross_entropy(logits, target)

    def _disc(self, masks: list[torch.Tensor]) -> torch.Tensor:
        return self.run("discriminator", masks).float()

    def _noisy(self, masks: list[torch.Tensor]) -> list[torch.Tensor]:
        """Instance noise on the highest-resolution input (001 Sec. III-B)."""
        sigma = self.config.instance_noise
        if sigma <= 0:
            return masks
        return [masks[0] + sigma * torch.randn_like(masks[0]), *masks[1:]]

    def _labels(self, n: int, real: bool, data: StepData) -> torch.Tensor:
        """+1 (real) / -1 (fake) with a fraction ``label_flip`` flipped (label noise, 001 Sec. III-B)."""
        flip = torch.from_numpy(data.rng.random(n) < self.config.label_flip).to(self.ctx.device)
        base = torch.full((n,), 1.0 if real else -1.0, device=self.ctx.device)
        return torch.where(flip, -base, base)

    def discriminator_step(self, fake: list[torch.Tensor], data: StepData) -> float:
        """Minimise ``disc_weight`` · V_LS(Δ) (a2 of 001) on unpaired (real) masks vs detached predictions."""
        n = fake[0].shape[0]
        real = one_hot_scales(data.unpaired_masks(n), self.ctx.n_classes, self.n_scales)
        self.set_trainable("discriminator", True)
        scores = self._disc(self._noisy([torch.cat([r, f.detach()]) for r, f in zip(real, fake)]))
        targets = torch.cat([self._labels(n, True, data), self._labels(n, False, data)])
        # V_LS(Δ) = 1/2 E[(Δ(y)-1)²] + 1/2 E[(Δ(ỹ)+1)²]: the mean over the 2n samples times 2 · 1/2
        loss = self.config.disc_weight * 2.0 * lsgan_discriminator_loss_targets(scores, targets)
        self.step_optimizer("discriminator", loss)
        return float(loss.detach())

    def train_step(self, batch: Batch, data: StepData) -> dict[str, float]:
        """One round of the alternating game of 001 Sec. III-C.

        1. Scribbled batch: ``L = a0 L_SUP + a1 V_LS(Σ)`` with ``a0 = ‖V_LS(Σ)‖ / ‖L_SUP‖``
           (``dynamic_sup_weight``) and ``a1`` = ``adv_weight``; segmentor step.
        2. Discriminator step ``a2 V_LS(Δ)`` (``a2`` = ``disc_weight``) with unpaired masks as real samples.
        3. With unlabeled images: their predictions are the fake samples of step 2, then a segmentor step
           on ``a3 V_LS(Σ)`` (``a3`` = ``adv_unlabeled_weight``) with the updated discriminator.

        Without unlabeled images, step 2 uses the (detached) predictions of the scribbled batch as fake
        samples: the scribbled images serve as the unlabeled set, which saves a segmentor pass per step
        on a CPU. This is our deviation from the paper's separate unlabeled batch.
        """
        c = self.config
        out = self.forward(batch.image)
        sup = self.supervised_loss(out["logits"], batch)
        fake = self.fake_scales(out)
        self.set_trainable("discriminator", False)
        adv = lsgan_generator_loss(self._disc(fake))
        a0 = (adv.detach() / sup.detach().clamp_min(1e-8)) if c.dynamic_sup_weight else torch.ones(())
        loss = a0 * sup + c.adv_weight * adv
        self.step_optimizer("segmentor", loss)
        losses = {"sup": float(sup.detach()), "adv": float(adv.detach()), "loss": float(loss.detach())}

        if data.unlabeled is None:
            losses["disc"] = self.discriminator_step(fake, data)
            return losses
        unl = data.unlabeled(batch.image.shape[0])
        out_u = self.forward(unl)
        fake_u = self.fake_scales(out_u)
        losses["disc"] = self.discriminator_step(fake_u, data)
        self.set_trainable("discriminator", False)
        adv_u = c.adv_unlabeled_weight * lsgan_generator_loss(self._disc(fake_u))
        self.step_optimizer("segmentor", adv_u)
        losses["adv_unlabeled"] = float(adv_u.detach())
        return losses


@register_method
class AAG(_AdversarialBase):
    """Segmentor with Adversarial Attention Gates + multi-scale mask discriminator (001 Sec. III).

    WPCE on scribbles, LSGAN against unpaired masks at 4 scales, dynamic weight a0, a1 = 0.1,
    a2 = a3 = 0.2 (options ``adv_weight``, ``disc_weight``, ``adv_unlabeled_weight``), 10 % label flips,
    instance noise σ = 0.2. The cyclical learning rate of the paper
    (10⁻⁴-10⁻⁵, period 20 epochs) is ``--lr-schedule cyclical``; the default schedule is the trainer's
    cosine decay from 10⁻³, because the paper's rates converge over hours on a GPU while our budget is
    minutes on a CPU.
    """

    name = "aag"
    description = "Adversarial Attention Gates + multi-scale discriminator on unpaired masks (001)"
    segmentor_name = "aag"


@register_method
class UNetD(_AdversarialBase):
    """UNet + a mask discriminator of the same capacity that sees only the full-resolution mask.

    The UNetD baseline of 001 Sec. IV-B, trained with the same losses and strategy as :class:`AAG`.
    """

    name = "unetd"
    description = "UNet + single-scale mask discriminator (001 Sec. IV-B baseline)"
    segmentor_name = "unet"
    n_scales = 1

    def fake_scales(self, out: dict) -> list[torch.Tensor]:
        """Full-resolution soft prediction without background."""
        return [torch.softmax(out["logits"].float(), dim=1)[:, 1:]]
