"""Least-squares GAN losses of the adversarial shape prior (001 Eq. 2)."""

from __future__ import annotations

import torch


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``V_LS(D) = 1/2 E[(D(y) - 1)^2] + 1/2 E[(D(S(x)) + 1)^2]`` (001 Eq. 2)."""
    return 0.5 * ((real_scores.float() - 1) ** 2).mean() + 0.5 * ((fake_scores.float() + 1) ** 2).mean()


def lsgan_discriminator_loss_targets(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Least-squares loss against per-sample targets in {+1 (real), -1 (fake)}.

    Equals :func:`lsgan_discriminator_loss` when the targets are +1 for real and -1 for fake samples; per
    sample targets are what label noise (001 Sec. III-B: 10% of labels flipped) needs.
    """
    return 0.5 * ((scores.float() - targets.float()) ** 2).mean()


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """``V_LS(S) = 1/2 E[(D(S(x)) - 1)^2]`` (001 Eq. 2)."""
    return 0.5 * ((fake_scores.float() - 1) ** 2).mean()
