"""Spatial self-attention (chunked inference) and the UNet with self-attention of AttenScribble."""

from __future__ import annotations

import pytest
import torch

from napari_scribbleseg.models import attention as attention_mod
from napari_scribbleseg.models.attention import SpatialSelfAttention, UNetSSA


def test_self_attention_shapes_gradients_and_chunked_inference(monkeypatch):
    torch.manual_seed(0)
    m = SpatialSelfAttention(8, heads=2, layers=2)
    x = torch.randn(2, 8, 5, 6, requires_grad=True)
    out = m(x)
    assert out["features"].shape == x.shape and torch.allclose(out["features"], x)  # zero-initialised
    assert out["attention"].shape == (2, 4, 30, 30) and m.n_maps == 4
    assert torch.allclose(out["attention"].sum(-1), torch.ones(2, 4, 30))  # rows are softmax-normalised
    r = out["received"]
    assert r.shape == (2, 1, 5, 6) and r.min() >= 0 and torch.allclose(r.amax(dim=(2, 3)), torch.ones(2, 1))
    # the attention alone carries gradient into Q/K and the input (what the attentive similarity loss uses)
    out["attention"].pow(2).sum().backward()
    assert m.layers[0].qkv.weight.grad.abs().sum() > 0 and x.grad.abs().sum() > 0
    with torch.no_grad():
        m.proj.weight.normal_()
    full = m(x.detach(), keep_attention=True)
    monkeypatch.setattr(attention_mod, "CHUNK_ELEMENTS", 64)  # a few rows per chunk
    with torch.no_grad():
        chunked = m(x.detach())
    assert "attention" not in chunked
    assert torch.allclose(chunked["features"], full["features"], atol=1e-5)
    assert torch.allclose(chunked["received"], full["received"], atol=1e-5)
    assert not torch.allclose(chunked["features"], x)


def test_unet_ssa_outputs_previewable_attention():
    net = UNetSSA(1, 3, width=4, depth=4, level=2, heads=2)
    assert net.has_attention
    out = net(torch.randn(2, 1, 32, 48))
    assert out["attention_probs"].shape == (2, 2, 96, 96)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(1, 1, 32, 48))
    assert "attention_probs" not in out
    (a,) = out["attention"]
    assert a.shape == (1, 1, 8, 12) and 0 <= a.min() and a.max() <= 1
    with pytest.raises(ValueError, match="level"):
        UNetSSA(1, 3, width=4, depth=3, level=3)
