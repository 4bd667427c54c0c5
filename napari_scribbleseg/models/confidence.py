"""The two discriminators of ISDNet (Ning, Zhao, Qian (002) Sec. 2.2-2.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConfidenceNetwork(nn.Module):
    """FCN discriminator ``D`` producing a per-pixel confidence map (002 Sec. 2.2).

    Input: class probability maps (a segmentor's softmax or one-hot masks), output: one logit per pixel
    (sigmoid = probability that the pixel comes from a real label map). The layout follows the FCN
    discriminator of Hung et al. that 002 builds on (4 × 4 stride-2 convolutions, leaky ReLU 0.2,
    upsampling to the input size), with fewer filters (``width * 2**i``) and a 1/8 (not 1/32) output
    resolution so the confidence map keeps local detail on small patches.

    Parameters
    ----------
    n_classes
        Channels of the input maps (background included).
    width
        Filters of the first layer.
    n_down
        Stride-2 layers (input sides must be divisible by ``2**n_down``).

    ``forward(maps)`` with ``maps`` (B, n_classes, H, W) returns logits (B, 1, H, W).
    """

    def __init__(self, n_classes: int, width: int = 16, n_down: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = n_classes
        for i in range(n_down):
            layers += [nn.Conv2d(ch, width * 2**i, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            ch = width * 2**i
        layers += [nn.Conv2d(ch, 2 * ch, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(2 * ch, 1, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Per-pixel confidence logits (B, 1, H, W)."""
        y = self.body(maps)
        return F.interpolate(y, size=maps.shape[-2:], mode="bilinear", align_corners=False)


class ImportanceWeightNetwork(nn.Module):
    """Importance weight network ``D0``: is an image labelled (1) or unlabeled (0)? (002 Sec. 2.3, Eq. 6).

    A small classifier on encoder features ``Z(X)`` (two 3 × 3 convolutions with leaky ReLU, global
    average pooling, a linear layer). The method gives it *detached* features, so its loss never reaches
    the encoder (002: "we will not update the encoder with the gradient of D0").

    ``forward(z)`` with ``z`` (B, in_channels, h, w) returns logits (B,).
    """

    def __init__(self, in_channels: int, width: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(width, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits (B,) of "comes from the labelled data"."""
        return self.fc(self.body(z).flatten(1)).squeeze(1)
