"""ISDNet's confidence and importance-weight networks."""

from __future__ import annotations

import torch

from napari_scribbleseg.models.confidence import ConfidenceNetwork, ImportanceWeightNetwork


def test_confidence_map_shape_and_range():
    d = ConfidenceNetwork(3, width=4)
    probs = torch.softmax(torch.randn(2, 3, 32, 48), 1)
    logits = d(probs)
    assert logits.shape == (2, 1, 32, 48)
    cm = torch.sigmoid(logits)
    assert torch.all(cm > 0) and torch.all(cm < 1)
    assert ImportanceWeightNetwork(16, width=8)(torch.randn(3, 16, 4, 4)).shape == (3,)
