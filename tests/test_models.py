"""Shapes and gradients of every model; the defining properties of the AAG segmentor and discriminator."""

from __future__ import annotations

import pytest
import torch

from napari_scribbleseg.models.discriminator import MultiScaleDiscriminator
from napari_scribbleseg.models.registry import SEGMENTORS, build_segmentor
from napari_scribbleseg.models.unet import AAGSegmentor


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


def test_aag_scales_are_softmax_and_attention_gates_features():
    torch.manual_seed(0)
    net = AAGSegmentor(1, 4, width=4, depth=5).eval()
    out = net(torch.randn(1, 1, 64, 64))
    assert [s.shape[-1] for s in out["scales"]] == [8, 16, 32, 64]  # coarsest first, 4 scales (001: d=1..4)
    for s in out["scales"]:
        assert torch.allclose(s.sum(1), torch.ones_like(s[:, 0]), atol=1e-5)
    for a, s in zip(out["attention"], out["scales"]):
        assert torch.allclose(a[:, 0], s[:, 1:].sum(1), atol=1e-5)  # a(d) = sum of non-background channels


def test_aag_gate_zero_attention_blocks_the_features():
    torch.manual_seed(0)
    net = AAGSegmentor(1, 3, width=4, depth=3).eval()
    with torch.no_grad():  # the gate classifier says "background everywhere": a(d) ~ 0
        net.gates[0].weight.zero_()
        net.gates[0].bias.copy_(torch.tensor([50.0, -50.0, -50.0]))
    x1, x2 = torch.randn(1, 1, 16, 16), torch.randn(1, 1, 16, 16)
    feats = {}

    def hook(module, inputs, output):
        feats["in"] = inputs[0]

    net.decoder[1].register_forward_hook(hook)
    for x in (x1, x2):
        feats.clear()
        assert net(x)["attention"][0].max() < 1e-6
        # the gated, upsampled features entering the next level are all zero (only the skip carries signal)
        gated = feats["in"][:, : net.encoder.channels[1]]
        assert gated.abs().max() < 1e-5


def test_discriminator_shapes_spectral_norm_and_gradients():
    torch.manual_seed(0)
    d = MultiScaleDiscriminator(3, n_scales=4, input_size=64, width=4, depth=5)
    masks = [torch.rand(2, 3, 64 // 2**s, 64 // 2**s, requires_grad=True) for s in range(4)]
    y = d(masks)
    assert y.shape == (2,)
    y.sum().backward()
    assert all(m.grad is not None and m.grad.abs().sum() > 0 for m in masks)  # every scale is used
    assert any("parametrizations" in k for k in d.state_dict())  # spectral normalisation
    assert d.squeezes[0].parametrizations.weight.original.shape[0] == 12  # 1x1 compression to 12 channels


def test_discriminator_rejects_wrong_sizes():
    d = MultiScaleDiscriminator(2, n_scales=1, input_size=32, width=4, depth=3)
    with pytest.raises(ValueError, match="32x32"):
        d([torch.rand(1, 2, 16, 16)])
