"""The masked dense-CRF loss: flat regions, intensity edges, annotated pixels, brute force."""

from __future__ import annotations

import pytest
import torch

from napari_scribbleseg.losses import masked_crf_loss


def test_crf_is_zero_for_constant_prediction_and_penalises_cuts_in_flat_regions(one_hot):
    img = torch.zeros(1, 1, 16, 16)
    m = torch.ones(1, 16, 16)
    const = one_hot(torch.zeros(1, 16, 16, dtype=torch.long))
    assert masked_crf_loss(const, img, m, downsample=1).item() == pytest.approx(0.0)
    split = torch.zeros(1, 16, 16, dtype=torch.long)
    split[..., 8:] = 1
    assert masked_crf_loss(one_hot(split), img, m, downsample=1) > 0


def test_crf_prefers_cuts_along_intensity_edges(one_hot):
    img = torch.zeros(1, 1, 16, 16)
    img[..., 8:] = 1.0  # an edge between columns 7 and 8
    m = torch.ones(1, 16, 16)
    on_edge = torch.zeros(1, 16, 16, dtype=torch.long)
    on_edge[..., 8:] = 1
    off_edge = torch.zeros(1, 16, 16, dtype=torch.long)
    off_edge[..., 4:] = 1
    a = masked_crf_loss(one_hot(on_edge), img, m, downsample=1, sigma_intensity=0.1)
    b = masked_crf_loss(one_hot(off_edge), img, m, downsample=1, sigma_intensity=0.1)
    assert a < 0.05 * b


def test_crf_only_counts_unannotated_pixels(one_hot):
    img = torch.zeros(1, 1, 16, 16)
    split = torch.zeros(1, 16, 16, dtype=torch.long)
    split[..., 8:] = 1
    m = torch.ones(1, 16, 16)
    m[..., 5:11] = 0  # the cut lies inside the annotated band
    assert masked_crf_loss(one_hot(split), img, m, downsample=1, radius=2).item() == pytest.approx(0.0)


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
