"""The plain scribble-supervised methods: how dense masks weigh against scribbles."""

from __future__ import annotations

import torch

from napari_scribbleseg.data.dataset import Batch
from napari_scribbleseg.engine.methods.base import NoOptions
from napari_scribbleseg.engine.methods.simple import PCE
from napari_scribbleseg.labels import IGNORE
from napari_scribbleseg.losses import partial_cross_entropy, weighted_partial_cross_entropy


def test_a_dense_patch_counts_like_a_scribbled_one(method_context):
    torch.manual_seed(0)
    method = PCE(NoOptions(), method_context())
    targets = torch.full((2, 4, 32, 32), IGNORE)
    targets[0, :, 10:12, 10:20] = 1  # scribbles on every patch
    targets[1, 0] = torch.randint(0, 3, (32, 32))  # a dense mask on the first of 4 patches
    dense = torch.tensor([[False] * 4, [True, False, False, False]])
    batch = Batch(torch.randn(4, 1, 32, 32), targets, dense, torch.ones(4, 32, 32, dtype=bool))
    logits = method.forward(batch.image)["logits"]
    dense_t = torch.full_like(targets[1], IGNORE)
    dense_t[0] = targets[1, 0]
    dense_term = weighted_partial_cross_entropy(logits, dense_t)
    expected = partial_cross_entropy(logits, targets[0]) + 0.25 * dense_term  # 1 dense patch of 4
    assert torch.isclose(method.supervised_loss(logits, batch), expected)
