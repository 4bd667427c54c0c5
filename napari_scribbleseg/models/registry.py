"""Segmentor architectures by name, so checkpoints can rebuild them from their metadata."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import Registry
from .attention import UNetSSA
from .unet import AAGSegmentor, UNet

SEGMENTORS: Registry[type[nn.Module]] = Registry("segmentor")
SEGMENTORS.register("unet")(UNet)
SEGMENTORS.register("aag")(AAGSegmentor)
SEGMENTORS.register("unet-ssa")(UNetSSA)  # AttenScribble (003): kwargs also level, heads, layers


def build_segmentor(name: str, **kwargs: Any) -> nn.Module:
    """Create the segmentor registered as ``name`` with ``kwargs`` (stored in checkpoints)."""
    return SEGMENTORS.get(name)(**kwargs)
