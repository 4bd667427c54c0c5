"""The size penalty (004 Eq. 3 and 5) and the normalised size-constraint loss."""

from __future__ import annotations

import torch

from napari_scribbleseg.losses import size_constraint_loss, size_penalty


def test_size_penalty_is_zero_inside_and_quadratic_outside():
    a, b = torch.tensor(10.0), torch.tensor(20.0)
    v = torch.tensor([0.0, 5.0, 10.0, 15.0, 20.0, 23.0, 30.0], requires_grad=True)
    c = size_penalty(v, a, b)
    assert torch.allclose(c, torch.tensor([100.0, 25.0, 0.0, 0.0, 0.0, 9.0, 100.0]))
    c.sum().backward()
    g = v.grad
    # below a: dC/dV = 2(V - a) < 0 (descent grows the region); above b: > 0; inside: 0
    assert torch.allclose(g, torch.tensor([-20.0, -10.0, 0.0, 0.0, 0.0, 6.0, 20.0]))
    # absence (004 Eq. 5): a = b = 0 penalises any size quadratically
    assert torch.allclose(
        size_penalty(torch.tensor(3.0), torch.tensor(0.0), torch.tensor(0.0)), torch.tensor(9.0)
    )
    # no upper bound
    assert size_penalty(torch.tensor(1e6), torch.tensor(1.0), torch.tensor(float("inf"))) == 0


def test_size_constraint_loss_soft_size_normalisation_and_gradient_sign():
    probs = torch.full((1, 2, 4, 5), 0.5, requires_grad=True)  # V = 10 per class over |Ω| = 20 pixels
    lower = torch.tensor([[0.0, 14.0]])
    upper = torch.tensor([[float("inf"), 16.0]])
    loss = size_constraint_loss(probs, lower, upper)
    assert torch.isclose(loss, torch.tensor((14.0 - 10.0) ** 2 / 20))
    loss.backward()
    assert torch.all(probs.grad[:, 0] == 0) and torch.all(probs.grad[:, 1] < 0)  # class 1 must grow
    valid = torch.zeros(1, 4, 5, dtype=torch.bool)
    valid[:, :2] = True  # 10 pixels: V = 5
    loss2 = size_constraint_loss(probs.detach(), lower, upper, valid)
    assert torch.isclose(loss2, torch.tensor((14.0 - 5.0) ** 2 / 10))
    inside = size_constraint_loss(probs.detach(), torch.tensor([[0.0, 5.0]]), torch.tensor([[20.0, 15.0]]))
    assert inside == 0
