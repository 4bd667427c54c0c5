"""Partial cross-entropy and its class-weighted form (001 Eq. 1)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from napari_scribbleseg.labels import IGNORE
from napari_scribbleseg.losses import partial_cross_entropy, weighted_partial_cross_entropy, wpce_weights


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 3, 8, 8, generator=g, requires_grad=True)
    target = torch.full((2, 8, 8), IGNORE)
    target[:, 2, 2:6] = 0
    target[:, 5, 1:3] = 1
    target[0, 6, 6] = 2
    return logits, target


def test_partial_ce_ignores_unannotated_pixels():
    logits, target = _data()
    loss = partial_cross_entropy(logits, target)
    ann = target != IGNORE
    ref = F.cross_entropy(logits.permute(0, 2, 3, 1)[ann], target[ann])
    assert torch.allclose(loss, ref)
    loss.backward()
    grad = logits.grad.abs().sum(1)
    assert torch.all(grad[~ann] == 0) and torch.all(grad[ann] > 0)


def test_partial_ce_of_nothing_annotated_is_zero():
    logits, _ = _data()
    assert partial_cross_entropy(logits, torch.full((2, 8, 8), IGNORE)).item() == 0.0


def test_wpce_weights_follow_eq1():
    _, target = _data()
    w = wpce_weights(target, 3)
    n = torch.tensor([8.0, 4.0, 1.0])
    assert torch.allclose(w, 1 - n / n.sum())


def test_wpce_with_one_class_does_not_vanish():
    logits, _ = _data()
    target = torch.full((2, 8, 8), IGNORE)
    target[:, 0, :] = 1
    assert torch.equal(wpce_weights(target, 3), torch.ones(3))
    assert weighted_partial_cross_entropy(logits, target) > 0


def test_wpce_equals_weighted_sum_over_annotated():
    logits, target = _data()
    ann = target != IGNORE
    w = wpce_weights(target, 3)
    ce = F.cross_entropy(logits.permute(0, 2, 3, 1)[ann], target[ann], reduction="none")
    assert torch.allclose(
        weighted_partial_cross_entropy(logits, target), (w[target[ann]] * ce).sum() / ann.sum()
    )


def test_shape_errors_print_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 8\).*\(2, 7, 7\)"):
        partial_cross_entropy(torch.zeros(2, 3, 8, 8), torch.zeros(2, 7, 7, dtype=torch.long))
