"""Soft Dice and the class-weighted Dice of ISDNet."""

from __future__ import annotations

import pytest
import torch

from napari_scribbleseg.labels import IGNORE
from napari_scribbleseg.losses import class_weighted_dice_loss, soft_dice_loss


def test_soft_dice_is_zero_for_perfect_prediction(one_hot):
    t = torch.randint(0, 3, (2, 8, 8))
    assert soft_dice_loss(one_hot(t, 3), t).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_dice_loss(one_hot((t + 1) % 3, 3), t).item() == pytest.approx(1.0, abs=1e-4)


def test_class_weighted_dice_loss():
    target = torch.tensor([[[0, 1], [2, IGNORE]]])
    perfect = torch.nn.functional.one_hot(target.clamp_min(0), 3).permute(0, 3, 1, 2).float()
    perfect[0, :, 1, 1] = torch.tensor([0.0, 0.0, 1.0])  # wrong where unannotated: ignored
    assert class_weighted_dice_loss(perfect, target) < 1e-5
    probs = torch.softmax(torch.randn(2, 3, 2, 2), 1)
    t2 = torch.cat([target, torch.full_like(target, IGNORE)])
    per = class_weighted_dice_loss(probs, t2, torch.tensor([0.2, 1.0, 1.0]), per_sample=True)
    assert per.shape == (2,) and per[1] == 0  # no valid pixel: no loss
    w = torch.tensor([0.2, 1.0, 1.0])
    valid = (t2[0] != IGNORE).float()
    oh = torch.nn.functional.one_hot(t2[0].clamp_min(0), 3).permute(2, 0, 1).float() * valid
    p = probs[0] * valid
    ref = 1 - 2 * (w * (p * oh).sum((1, 2))).sum() / (w * (p + oh).sum((1, 2))).sum()
    assert torch.isclose(per[0], ref, atol=1e-4)
