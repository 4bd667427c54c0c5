"""Each loss's defining property."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from napari_scribbleseg.labels import IGNORE
from napari_scribbleseg.losses import (
    lsgan_discriminator_loss,
    lsgan_discriminator_loss_targets,
    lsgan_generator_loss,
    masked_crf_loss,
    partial_cross_entropy,
    soft_dice_loss,
    weighted_partial_cross_entropy,
    wpce_weights,
)


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


def test_lsgan_eq2():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([-1.0, 0.0])
    assert torch.isclose(lsgan_discriminator_loss(real, fake), torch.tensor(0.5 * 0.125 + 0.5 * 0.5))
    assert lsgan_discriminator_loss(torch.ones(3), -torch.ones(3)) == 0
    assert lsgan_generator_loss(torch.ones(3)) == 0
    assert torch.isclose(lsgan_generator_loss(torch.tensor([-1.0])), torch.tensor(2.0))
    scores, targets = torch.cat([real, fake]), torch.tensor([1.0, 1.0, -1.0, -1.0])
    assert torch.isclose(
        2 * lsgan_discriminator_loss_targets(scores, targets), lsgan_discriminator_loss(real, fake)
    )


def _probs(mask, c=2):
    return F.one_hot(mask, c).permute(0, 3, 1, 2).float()


def test_crf_is_zero_for_constant_prediction_and_penalises_cuts_in_flat_regions():
    img = torch.zeros(1, 1, 16, 16)
    m = torch.ones(1, 16, 16)
    const = _probs(torch.zeros(1, 16, 16, dtype=torch.long))
    assert masked_crf_loss(const, img, m, downsample=1).item() == pytest.approx(0.0)
    split = torch.zeros(1, 16, 16, dtype=torch.long)
    split[..., 8:] = 1
    assert masked_crf_loss(_probs(split), img, m, downsample=1) > 0


def test_crf_prefers_cuts_along_intensity_edges():
    img = torch.zeros(1, 1, 16, 16)
    img[..., 8:] = 1.0  # an edge between columns 7 and 8
    m = torch.ones(1, 16, 16)
    on_edge = torch.zeros(1, 16, 16, dtype=torch.long)
    on_edge[..., 8:] = 1
    off_edge = torch.zeros(1, 16, 16, dtype=torch.long)
    off_edge[..., 4:] = 1
    a = masked_crf_loss(_probs(on_edge), img, m, downsample=1, sigma_intensity=0.1)
    b = masked_crf_loss(_probs(off_edge), img, m, downsample=1, sigma_intensity=0.1)
    assert a < 0.05 * b


def test_crf_only_counts_unannotated_pixels():
    img = torch.zeros(1, 1, 16, 16)
    split = torch.zeros(1, 16, 16, dtype=torch.long)
    split[..., 8:] = 1
    m = torch.ones(1, 16, 16)
    m[..., 5:11] = 0  # the cut lies inside the annotated band
    assert masked_crf_loss(_probs(split), img, m, downsample=1, radius=2).item() == pytest.approx(0.0)


def test_crf_matches_brute_force_pairs():
    g = torch.Generator().manual_seed(1)
    p = torch.softmax(torch.randn(1, 3, 6, 7, generator=g), 1)
    img = torch.randn(1, 1, 6, 7, generator=g)
    m = (torch.rand(1, 6, 7, generator=g) > 0.3).float()
    r, si, sxy = 2, 0.5, 3.0
    total = 0.0
    for y in range(6):
        for x in range(7):
            for v in range(6):
                for u in range(7):
                    if (y, x) == (v, u) or max(abs(y - v), abs(x - u)) > r:
                        continue
                    k = torch.exp(
                        -((img[0, 0, y, x] - img[0, 0, v, u]) ** 2) / (2 * si**2)
                        - ((y - v) ** 2 + (x - u) ** 2) / (2 * sxy**2)
                    )
                    dis = 1 - (p[0, :, y, x] * p[0, :, v, u]).sum()
                    total += float(m[0, y, x] * m[0, v, u] * k * dis)
    got = masked_crf_loss(p, img, m, sigma_intensity=si, sigma_xy=sxy, radius=r, downsample=1)
    assert got.item() == pytest.approx(total / float(m.sum()), rel=1e-5)


def test_crf_memory_is_linear_and_has_gradients():
    p = torch.softmax(torch.randn(2, 4, 64, 64, requires_grad=True), 1)
    loss = masked_crf_loss(p, torch.randn(2, 1, 64, 64), torch.ones(2, 64, 64))
    loss.backward()
    assert torch.isfinite(loss)


def test_soft_dice_is_zero_for_perfect_prediction():
    t = torch.randint(0, 3, (2, 8, 8))
    assert soft_dice_loss(_probs(t, 3), t).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_dice_loss(_probs((t + 1) % 3, 3), t).item() == pytest.approx(1.0, abs=1e-4)
