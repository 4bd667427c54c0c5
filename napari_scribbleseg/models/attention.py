"""The pluggable spatial self-attention module of AttenScribble and the UNet it is grafted on.

Tian, Yang, Gao, "AttenScribble: attentive similarity learning for scribble-supervised medical image
segmentation" (003), Sec. 2.3-2.4.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..losses import attentive_similarity
from .blocks import ConvBlock, Encoder, upsample2

#: In inference (no autograd), attention rows are processed in chunks of at most this many
#: (batch x heads x query rows x keys) elements, so whole slices never materialise the full attention.
CHUNK_ELEMENTS = 1 << 23


class AttentionLayer(nn.Module):
    """One multi-head self-attention layer over flattened positions (003 Sec. 2.3).

    ``Q_i, K_i, V_i`` are linear maps of the tokens, ``A_i = Q_i K_iᵀ / √d_k``, the heads' outputs
    ``softmax(A_i) V_i`` are concatenated and followed by ``a = a + MLP(LayerNorm(a))``.

    Parameters
    ----------
    in_dim
        Token dimension ``d`` of the input.
    heads
        Number of heads ``n``.
    head_dim
        ``d_q = d_k = d_v`` of every head; the output has ``heads * head_dim`` channels.
    """

    def __init__(self, in_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim
        inner = heads * head_dim
        self.qkv = nn.Linear(in_dim, 3 * inner)
        self.norm = nn.LayerNorm(inner)
        self.mlp = nn.Sequential(nn.Linear(inner, inner), nn.GELU(), nn.Linear(inner, inner))

    def forward(
        self, tokens: torch.Tensor, keep_attention: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Attend.

        Parameters
        ----------
        tokens
            (B, N, in_dim).
        keep_attention
            Compute the full row-softmaxed attention at once and return it (training: the attentive
            similarity loss needs it); otherwise rows are processed in chunks and it is not returned.

        Returns
        -------
        tuple
            Output tokens (B, N, heads * head_dim); the attention ``softmax(A)`` (B, heads, N, N) float32 or
            ``None``; the attention each position receives, ``Σ_p softmax(A)[p, q]`` averaged over heads
            (B, N) float32.
        """
        b, n, _ = tokens.shape
        qkv = self.qkv(tokens).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, N, head_dim)
        q = q * (1.0 / math.sqrt(self.head_dim))  # scale the small factor, not the N x N logits
        kt = k.transpose(-1, -2)
        if keep_attention:
            probs = torch.softmax((q @ kt).float(), dim=-1)
            out = probs.to(v.dtype) @ v
            with torch.no_grad():
                received = probs.sum(dim=2).mean(dim=1)
        else:
            probs = None
            rows = max(1, CHUNK_ELEMENTS // max(b * self.heads * n, 1))
            outs = []
            received = tokens.new_zeros((b, n), dtype=torch.float32)
            for start in range(0, n, rows):
                p = torch.softmax((q[:, :, start : start + rows] @ kt).float(), dim=-1)
                outs.append(p.to(v.dtype) @ v)
                received = received + p.sum(dim=2).mean(dim=1)
            out = torch.cat(outs, dim=2)
        a = out.transpose(1, 2).reshape(b, n, self.heads * self.head_dim)
        a = a + self.mlp(self.norm(a))
        return a, probs, received


class SpatialSelfAttention(nn.Module):
    """Pluggable spatial self-attention on a (B, C, h, w) feature map (003 Sec. 2.3).

    ``layers`` :class:`AttentionLayer` in sequence on the flattened positions, then a linear projection
    back to the ``C`` channels (``a = MLP_{n d_v -> d}(a)``). The result is *added* to the input feature
    map (a residual, as in the non-local block of Wang et al. that 003 cites); the projection starts at
    zero, so the grafted network starts as the plain CNN and learns how much global context to mix in.
    No positional encoding is added: 003 encodes position only in the distance-decay map of the loss.

    Cost: ``O((hw)² · heads · head_dim)`` multiply-adds per layer plus a handful of memory-bound passes
    over the ``heads × (hw)²`` attention (softmax, its gradient, gathers). At 003's level (1/4
    resolution) of a 128 × 128 training patch that is 32 × 32 = 1024 positions: a 1024 × 1024 attention
    per head and image, 4 MB in float32 (with 2 heads and a batch of 12, ~100 MB kept for backward). On
    a 2-core CPU this adds roughly +50-100 % to a UNet training step (measured under load, 1-4 heads;
    memory traffic grows with the number of heads, the multiply-adds do not); one level deeper (1/8)
    makes it 16x cheaper. Whole slices at inference are processed in chunks of query rows (see
    :data:`CHUNK_ELEMENTS`), so memory stays bounded; compute grows with the square of the slice area.

    Parameters
    ----------
    channels
        ``C`` (``d`` in 003).
    heads
        Heads per layer (``n``).
    layers
        Identical attention layers in sequence (``L``).
    head_dim
        Per-head dimension; default ``max(C // heads, 8)``.
    """

    def __init__(self, channels: int, heads: int = 2, layers: int = 1, head_dim: int | None = None) -> None:
        super().__init__()
        if heads < 1 or layers < 1:
            raise ValueError(f"heads and layers must be >= 1, got {heads} and {layers}")
        head_dim = head_dim or max(channels // heads, 8)
        inner = heads * head_dim
        self.heads, self.n_layers = heads, layers
        self.layers = nn.ModuleList(
            AttentionLayer(channels if i == 0 else inner, heads, head_dim) for i in range(layers)
        )
        self.proj = nn.Linear(inner, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    @property
    def n_maps(self) -> int:
        """Number of attention maps (``n · L``) the attentive similarity combines."""
        return self.heads * self.n_layers

    def forward(self, x: torch.Tensor, keep_attention: bool | None = None) -> dict[str, torch.Tensor]:
        """Attend over the positions of ``x``.

        Parameters
        ----------
        x
            (B, C, h, w) feature map.
        keep_attention
            Return the full attention (default: when autograd is recording, i.e. in training).

        Returns
        -------
        dict
            ``"features"`` (B, C, h, w) = ``x`` + projected attended features; ``"received"`` (B, 1, h, w)
            the attention each position receives (mean over heads and layers), divided by its maximum per
            image so it is in [0, 1]; with ``keep_attention`` also ``"attention"`` (B, n·L, hw, hw): the
            row-softmaxed attention of every head and layer, float32.
        """
        if keep_attention is None:
            keep_attention = torch.is_grad_enabled()
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        maps, received = [], x.new_zeros((b, h * w), dtype=torch.float32)
        for layer in self.layers:
            tokens, probs, rec = layer(tokens, keep_attention)
            received = received + rec / self.n_layers
            if probs is not None:
                maps.append(probs)
        y = self.proj(tokens).transpose(1, 2).reshape(b, c, h, w)
        received = received.detach()
        received = received / received.amax(dim=1, keepdim=True).clamp_min(1e-12)
        out = {"features": x + y.to(x.dtype), "received": received.view(b, 1, h, w)}
        if keep_attention:
            out["attention"] = maps[0] if len(maps) == 1 else torch.cat(maps, dim=1)
        return out


class AttentiveSimilarity(nn.Module):
    """The learnable 1 × 1 mixing of 003 Sec. 2.4: ``S = sigmoid(Conv¹ˣ¹(Ā))`` with ``Ā = A + Aᵀ``.

    ``A`` is the row-softmaxed attention of every head and layer. To keep the loss from collapsing we
    constrain the 1 × 1 convolution (deviation from 003, which leaves it free): its weights are a softmax
    over the ``n·L`` maps (non-negative, summing to one; the learnable part), and gain and offset are fixed,
    ``S = sigmoid(hw · Σ_m π_m Ā_m − 2)``. Every summand of the attentive similarity loss is non-negative,
    so a free bias or gain only ever receives gradients that lower ``S`` everywhere (``S → 0`` switches the
    loss off, a negative weight inverts it); 003's argument that the softmax prevents ``S = 0`` holds for
    ``A`` but not for those parameters. The factor ``hw`` makes uniform attention (``Ā = 2 / hw``) map to
    ``sigmoid(0) = 0.5`` at any resolution; pairs that attend to each other get ``S → 1``, pairs that
    ignore each other ``S → sigmoid(-2) ≈ 0.12``.
    """

    offset: float = 2.0

    def __init__(self, n_maps: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_maps))

    def forward(self) -> torch.Tensor:
        """The mixing weights ``π`` (n_maps,), non-negative and summing to one.

        (A forward without input, so that the weights go through ``DistributedDataParallel``.)
        """
        return torch.softmax(self.logits, dim=0)

    def matrix(self, attention: torch.Tensor) -> torch.Tensor:
        """Full similarity matrix (B, N, N) from the attention (B, n_maps, N, N) (small N: tests, display)."""
        return attentive_similarity(attention, self(), self.offset)


class UNetSSA(nn.Module):
    """UNet with the spatial self-attention module grafted on one encoder level (003 Sec. 2.3, 3.2).

    The module sits on the output of encoder level ``level`` (0 = full resolution; 003 uses "the third
    convolutional layer of the encoder", ``level=2``, 1/4 resolution); its output replaces that feature map
    for both the skip connection and the deeper levels, so the global context reaches the decoder.

    ``forward(x)`` returns ``"logits"`` (B, n_classes, H, W), ``"features"`` (encoder features, finest
    first, the attended one included), ``"attention"`` (a list with one (B, 1, h, w) map in [0, 1]: the
    attention each position receives, for previews) and, while autograd records (training),
    ``"attention_probs"`` (B, heads·layers, hw, hw) for the attentive similarity loss.

    Parameters
    ----------
    in_channels, n_classes, width, depth
        As in :class:`~napari_scribbleseg.models.unet.UNet`.
    level
        Encoder level the module attends on (``0 <= level < depth``).
    heads, layers
        Heads and attention layers of the module.
    """

    has_attention = True

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 2,
        width: int = 16,
        depth: int = 5,
        level: int = 2,
        heads: int = 2,
        layers: int = 1,
    ) -> None:
        super().__init__()
        if not 0 <= level < depth:
            raise ValueError(f"attention level must be in [0, depth - 1] = [0, {depth - 1}], got {level}")
        self.n_classes, self.depth, self.level = n_classes, depth, level
        self.encoder = Encoder(in_channels, width, depth)
        ch = self.encoder.channels
        self.attention = SpatialSelfAttention(ch[level], heads=heads, layers=layers)
        self.decoder = nn.ModuleList(ConvBlock(ch[i] + ch[i + 1], ch[i]) for i in reversed(range(depth - 1)))
        self.head = nn.Conv2d(ch[0], n_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Logits, features and attention (see the class docstring)."""
        feats: list[torch.Tensor] = []
        att: dict[str, torch.Tensor] = {}
        for i, block in enumerate(self.encoder.blocks):
            x = block(x if i == 0 else self.encoder.pool(x))
            if i == self.level:
                att = self.attention(x)
                x = att["features"]
            feats.append(x)
        y = feats[-1]
        for block, skip in zip(self.decoder, reversed(feats[:-1])):
            y = block(torch.cat([upsample2(y), skip], dim=1))
        out: dict[str, torch.Tensor | list[torch.Tensor]] = {
            "logits": self.head(y),
            "features": feats,
            "attention": [att["received"]],
        }
        if "attention" in att:
            out["attention_probs"] = att["attention"]
        return out
