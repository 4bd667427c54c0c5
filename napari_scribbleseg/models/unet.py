"""UNet segmentor (the baseline of every method) and the AAG segmentor of Valvano et al. (001)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBlock, Encoder, upsample2


class UNet(nn.Module):
    """2D UNet with nearest-neighbour upsampling and skip concatenation.

    Parameters
    ----------
    in_channels, n_classes
        Input channels and classes (background included).
    width, depth
        Channels of the first level (doubled per level) and number of levels.

    ``forward(x)`` with ``x`` of shape (B, in_channels, H, W), H and W divisible by ``2**(depth-1)``,
    returns a dict with ``"logits"`` (B, n_classes, H, W) and ``"features"``: the encoder feature maps,
    finest first (used by methods that attach modules to the encoder).
    """

    has_attention = False

    def __init__(self, in_channels: int = 1, n_classes: int = 2, width: int = 16, depth: int = 5) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.depth = depth
        self.encoder = Encoder(in_channels, width, depth)
        ch = self.encoder.channels
        self.decoder = nn.ModuleList(ConvBlock(ch[i] + ch[i + 1], ch[i]) for i in reversed(range(depth - 1)))
        self.head = nn.Conv2d(ch[0], n_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Logits and encoder features of ``x`` (see the class docstring)."""
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.decoder, reversed(feats[:-1])):
            y = block(torch.cat([upsample2(y), skip], dim=1))
        return {"logits": self.head(y), "features": feats}


class AAGSegmentor(nn.Module):
    """UNet whose decoder levels end in Adversarial Attention Gates (Valvano et al. (001) Sec. III-B, Fig. 3).

    At every decoder level coarser than the output, after the two convolutions producing ``M(d)``:

    1. a classifier (c 1x1 filters, c = classes including background) predicts ``y(d)`` with a
       pixel-wise softmax (no argmax);
    2. the attention map ``a(d)`` is the sum of the non-background channels of ``y(d)``;
    3. ``M(d)`` is gated by ``a(d)`` (Hadamard product) and upsampled with nearest neighbours.

    The soft predictions of every scale are outputs, so the multi-scale discriminator can judge them
    (Adversarial Deep Supervision). With ``depth`` levels there are ``depth - 2`` gates plus the final
    full-resolution classifier, i.e. 4 scales for the default depth 5 (001: d = 1..4).

    ``forward`` returns ``"logits"`` (B, C, H, W), ``"scales"`` (softmax predictions, coarsest first, each
    (B, C, H/2**s, W/2**s)), ``"attention"`` (the maps ``a(d)``, coarsest first, (B, 1, h, w)) and
    ``"features"`` (encoder features, finest first).
    """

    has_attention = True

    def __init__(self, in_channels: int = 1, n_classes: int = 2, width: int = 16, depth: int = 5) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError("the AAG segmentor needs a background and at least one structure")
        self.n_classes = n_classes
        self.depth = depth
        self.encoder = Encoder(in_channels, width, depth)
        ch = self.encoder.channels
        self.decoder = nn.ModuleList(ConvBlock(ch[i] + ch[i + 1], ch[i]) for i in reversed(range(depth - 1)))
        # one AAG classifier per decoder level except the last (full resolution), which is the head
        self.gates = nn.ModuleList(nn.Conv2d(ch[i], n_classes, 1) for i in reversed(range(1, depth - 1)))
        self.head = nn.Conv2d(ch[0], n_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Logits, per-scale predictions, attention maps and features (see the class docstring)."""
        feats = self.encoder(x)
        y = feats[-1]
        scales: list[torch.Tensor] = []
        attention: list[torch.Tensor] = []
        n_gates = len(self.gates)
        for level, (block, skip) in enumerate(zip(self.decoder, reversed(feats[:-1]))):
            y = block(torch.cat([upsample2(y), skip], dim=1))
            if level < n_gates:
                probs = torch.softmax(self.gates[level](y).float(), dim=1)
                a = 1.0 - probs[:, :1]  # = sum of the non-background channels
                scales.append(probs)
                attention.append(a)
                y = y * a.to(y.dtype)
        logits = self.head(y)
        scales.append(torch.softmax(logits.float(), dim=1))
        return {"logits": logits, "scales": scales, "attention": attention, "features": feats}
