"""The least-squares GAN losses (001 Eq. 2)."""

from __future__ import annotations

import torch

from napari_scribbleseg.losses import (
    lsgan_discriminator_loss,
    lsgan_discriminator_loss_targets,
    lsgan_generator_loss,
)


def test_lsgan_eq2():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([-1.0, 0.0])
    assert torch.isclose(lsgan_discriminator_loss(real, fake), torch.tensor(0.5 * 0.125 + 0.5 * 0.5))
    assert lsgan_discriminator_loss(torch.ones(3), -torch.ones(3)) == 0
    assert lsgan_generator_loss(torch.ones(3)) == 0
    assert torch.isclose(lsgan_generator_loss(torch.tensor([-1.0])), torch.tensor(2.0))
    scores, targets = torch.cat([real, fake]), torch.tensor([1.0, 1.0, -1.0, -1.0])
    assert torch.isclose(
        2 * lsgan_discriminator_loss_targets(scores, targets), lsgan_discriminator_loss(real, fake)
    )
