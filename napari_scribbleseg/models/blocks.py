"""Building blocks shared by the segmentors."""

from __future__ import annotations

import torch
from torch import nn


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by batch normalisation and ReLU.

    As in the UNet of Ronneberger et al. and Valvano et al. (001) Sec. III-B ("After each convolutional
    layer, we use batch normalization and ReLU").
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Encoder(nn.Module):
    """UNet encoder: ``depth`` levels of :class:`ConvBlock`, 2x2 max-pooling between them.

    Channels are ``width * 2**level``. ``forward`` returns the feature map of every level, finest first.
    """

    def __init__(self, in_channels: int, width: int, depth: int) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        self.channels = [width * 2**i for i in range(depth)]
        chans = [in_channels, *self.channels]
        self.blocks = nn.ModuleList(ConvBlock(chans[i], chans[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features of every level, finest first."""
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else self.pool(x))
            feats.append(x)
        return feats


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling (Valvano et al. (001) Sec. III-B)."""
    return nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
