"""Every registered segmentor: output shapes and gradients."""

from __future__ import annotations

import pytest
import torch

from napari_scribbleseg.models.registry import SEGMENTORS, build_segmentor


@pytest.mark.parametrize("name", SEGMENTORS.names())
def test_segmentor_shapes_and_gradients(name):
    torch.manual_seed(0)
    net = build_segmentor(name, in_channels=1, n_classes=4, width=4, depth=4)
    x = torch.randn(2, 1, 32, 48, requires_grad=True)
    out = net(x)
    assert out["logits"].shape == (2, 4, 32, 48)
    assert [f.shape[1] for f in out["features"]] == [4, 8, 16, 32]
    out["logits"].sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in net.parameters())
