"""Mask discriminators of Valvano et al. (001) Sec. III-B."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class MultiScaleDiscriminator(nn.Module):
    """Convolutional encoder judging segmentation masks at several scales (001 Sec. III-B, Fig. 2).

    At every depth: a 4x4 stride-2 convolution (spectral normalisation, tanh), then compression to 12
    channels with 1x1 convolutions (tanh); the mask of the next lower resolution is concatenated to the
    compressed features. A fully connected layer gives the scalar output. Filters follow the segmentor's
    encoder (``width * 2**d``).

    Parameters
    ----------
    mask_channels
        Channels of each input mask (classes without background, 001: "removing the channel associated to
        the background").
    n_scales
        How many masks the discriminator receives (1 = the single-scale UNetD baseline of 001 Sec. IV-B).
    input_size
        Side of the full-resolution masks (fixed: the output layer is fully connected).
    width, depth
        Filters of the first level and number of stride-2 levels (``depth >= n_scales``).

    ``forward(masks)`` takes a list of tensors, finest first, ``masks[s]`` of shape
    (B, mask_channels, input_size / 2**s, input_size / 2**s), and returns (B,) scores.
    """

    def __init__(
        self, mask_channels: int, n_scales: int = 4, input_size: int = 128, width: int = 16, depth: int = 5
    ) -> None:
        super().__init__()
        if depth < n_scales:
            raise ValueError(f"depth ({depth}) must be >= n_scales ({n_scales})")
        if input_size % 2**depth:
            raise ValueError(f"input_size {input_size} must be divisible by 2**depth = {2**depth}")
        self.n_scales = n_scales
        self.input_size = input_size
        self.mask_channels = mask_channels
        downs, squeezes = [], []
        in_ch = mask_channels
        for d in range(depth):
            filters = width * 2**d
            downs.append(spectral_norm(nn.Conv2d(in_ch, filters, 4, stride=2, padding=1)))
            squeezes.append(spectral_norm(nn.Conv2d(filters, 12, 1)))
            in_ch = 12 + (mask_channels if d + 1 < n_scales else 0)
        self.downs = nn.ModuleList(downs)
        self.squeezes = nn.ModuleList(squeezes)
        side = input_size // 2**depth
        self.fc = spectral_norm(nn.Linear(12 * side * side, 1))

    def forward(self, masks: list[torch.Tensor]) -> torch.Tensor:
        """Scores (B,) of the masks given finest first."""
        if len(masks) != self.n_scales:
            raise ValueError(f"expected {self.n_scales} masks, got {len(masks)}")
        x = masks[0]
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            raise ValueError(f"expected {self.input_size}x{self.input_size} masks, got {tuple(x.shape)}")
        for d, (down, squeeze) in enumerate(zip(self.downs, self.squeezes)):
            x = torch.tanh(squeeze(torch.tanh(down(x))))
            if d + 1 < self.n_scales:
                x = torch.cat([x, masks[d + 1].to(x.dtype)], dim=1)
        return self.fc(x.flatten(1)).squeeze(1)
