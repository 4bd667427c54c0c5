"""The multi-scale discriminator: shapes, spectral norm, every scale used, size checks."""

from __future__ import annotations

import pytest
import torch

from napari_scribbleseg.models.discriminator import MultiScaleDiscriminator


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
