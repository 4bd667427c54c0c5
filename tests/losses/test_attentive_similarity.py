"""The attentive similarity (003 Sec. 2.4), the distance decay map and the Eq. 6 loss."""

from __future__ import annotations

import numpy as np
import torch

from napari_scribbleseg.losses import attentive_similarity, attentive_similarity_loss, distance_decay_map
from napari_scribbleseg.models.attention import AttentiveSimilarity


def _attention(b=2, m=3, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(b, m, n, n, generator=g), dim=-1)


def test_attentive_similarity_is_symmetric_in_0_1_and_neutral_for_uniform_attention():
    att = _attention()
    w = torch.softmax(torch.tensor([0.3, -1.0, 2.0]), 0)
    s = attentive_similarity(att, w)
    assert s.shape == (2, 12, 12)
    assert torch.allclose(s, s.transpose(1, 2))
    assert torch.all(s > 0) and torch.all(s < 1)
    uniform = torch.full((1, 3, 12, 12), 1 / 12)
    assert torch.allclose(attentive_similarity(uniform, w), torch.full((1, 12, 12), 0.5))
    mod = AttentiveSimilarity(3)
    w_mod = mod()
    assert torch.all(w_mod >= 0) and torch.isclose(w_mod.sum(), torch.tensor(1.0))
    assert torch.allclose(mod.matrix(att), mod.matrix(att).transpose(1, 2))


def test_distance_decay_map():
    m = distance_decay_map(3, 4, sigma=1.5)
    assert m.shape == (12, 12)
    assert torch.allclose(m.diagonal(), torch.ones(12))
    assert torch.allclose(m, m.T)
    assert torch.all(m > 0) and torch.all(m <= 1)
    # positions row-major: 0 = (0, 0), 5 = (1, 1), 11 = (2, 3)
    assert torch.isclose(m[0, 5], torch.exp(torch.tensor(-2 / (2 * 1.5**2))))
    assert m[0, 1] > m[0, 5] > m[0, 11]  # decays with distance


def _brute_force_atn_loss(probs, att, w, mask, sigma, radius):
    b, c, h, w_ = probs.shape
    s = attentive_similarity(att, w)
    dm = distance_decay_map(h, w_, sigma)
    ys, xs = np.divmod(np.arange(h * w_), w_)
    cheb = torch.from_numpy(np.maximum(abs(ys[:, None] - ys[None]), abs(xs[:, None] - xs[None])))
    window = ((cheb > 0) & (cheb <= radius)).float()
    pf = probs.reshape(b, c, -1)
    disagree = 1 - torch.einsum("bcp,bcq->bpq", pf, pf)
    m = mask.reshape(b, -1).float()
    total = (dm * window * s * disagree * m[:, :, None] * m[:, None, :]).sum()
    return total / m.sum()


def test_attentive_similarity_loss_matches_eq6_and_reaches_prediction_attention_and_weights():
    torch.manual_seed(0)
    h, w_ = 3, 4
    logits = torch.randn(2, 3, h, w_, requires_grad=True)
    att_logits = torch.randn(2, 2, h * w_, h * w_, requires_grad=True)
    mix = torch.zeros(2, requires_grad=True)
    mask = torch.ones(2, h, w_, dtype=torch.bool)
    mask[0, 0, :2] = False  # scribbled pixels are not in Ω_U
    probs, att, weights = torch.softmax(logits, 1), torch.softmax(att_logits, -1), torch.softmax(mix, 0)
    loss = attentive_similarity_loss(probs, att, weights, mask, sigma=1.3, radius=2)
    ref = _brute_force_atn_loss(probs, att, weights, mask, 1.3, 2)
    assert torch.isclose(loss, ref, rtol=1e-5)
    loss.backward()
    assert logits.grad.abs().sum() > 0 and att_logits.grad.abs().sum() > 0 and mix.grad.abs().sum() > 0
    # predictions that agree everywhere cost nothing
    same = torch.zeros(2, 3, h, w_)
    same[:, 1] = 1
    assert attentive_similarity_loss(same, att.detach(), weights.detach(), mask) == 0
