"""The AAG segmentor: softmax scales and attention gates (001)."""

from __future__ import annotations

import torch

from napari_scribbleseg.models.unet import AAGSegmentor


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
