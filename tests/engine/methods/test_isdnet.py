"""ISDNet: the importance network, discriminator rates, autocast, the semi-supervised loss."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.methods.isdnet import ISDNet, ISDNetConfig
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.losses import class_weighted_dice_loss


def test_importance_network_sends_no_gradient_into_the_encoder(method_context):
    torch.manual_seed(0)
    method = ISDNet(ISDNetConfig(), method_context())
    seg = method.segmentor
    z_l = method.forward(torch.randn(2, 1, 32, 32))["features"][-1]
    z_u = method.forward(torch.randn(2, 1, 32, 32))["features"][-1]
    seg.zero_grad(set_to_none=True)
    method.importance_loss(z_l, z_u).backward()
    assert all(p.grad is None or not p.grad.any() for p in seg.encoder.parameters())
    assert all(p.grad is not None for p in method.networks["importance"].parameters())
    w = method.importance_weights(z_u)
    assert w.shape == (2,) and not w.requires_grad and torch.all((w >= 0) & (w <= 1))


def test_isdnet_discriminators_learn_at_a_tenth_of_the_segmentor_rate(method_context):
    method = ISDNet(ISDNetConfig(), method_context())
    lr = {n: o.param_groups[0]["lr"] for n, o in method.optimizers.items()}
    assert lr["confidence"] == pytest.approx(0.1 * lr["segmentor"]) == pytest.approx(lr["importance"])
    with pytest.raises(ConfigError, match="disc_lr_scale"):
        ISDNetConfig(disc_lr_scale=0)


def test_extra_networks_run_like_the_segmentor(method_context):
    method = ISDNet(ISDNetConfig(), method_context(autocast_dtype=torch.bfloat16))
    conv = method.networks["confidence"].body[0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)  # CPU: channels-last, as the UNet
    maps = torch.softmax(torch.randn(2, 3, 16, 16), 1)
    assert method.run("confidence", maps).dtype == torch.bfloat16  # under the run's autocast
    logits = method.confidence(maps)
    assert logits.dtype == torch.float32 and logits.shape == (2, 1, 16, 16)  # losses see float32


def test_semi_loss_uses_confident_pixels_only(method_context):
    method = ISDNet(ISDNetConfig(), method_context())
    probs = torch.softmax(torch.randn(2, 3, 8, 8), 1)
    none = method.semi_loss(probs, torch.full((2, 1, 8, 8), -10.0))  # confidence ~0 < T_semi
    assert torch.all(none == 0)
    all_ = method.semi_loss(probs, torch.full((2, 1, 8, 8), 10.0))
    ref = class_weighted_dice_loss(probs, probs.argmax(1), method.dice_weights, per_sample=True)
    assert torch.allclose(all_, ref)


def test_isdnet_without_real_label_maps_fails_clearly(pre, classes, train_config, make_cases):
    no_pseudo = dataclasses.replace(pre, pseudo_labels=False)
    last = list(Trainer(make_cases(), classes, train_config("isdnet"), None, no_pseudo).fit())[-1]
    assert isinstance(last, ev.Failed) and "--masks" in last.message and "--full-masks" in last.message
    assert "--pseudo-labels true" in last.message
