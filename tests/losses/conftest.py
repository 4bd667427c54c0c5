"""Fixtures of the loss tests."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F


def _one_hot(mask: torch.Tensor, c: int = 2) -> torch.Tensor:
    """(B, H, W) class indices -> (B, C, H, W) float one-hot probabilities."""
    return F.one_hot(mask, c).permute(0, 3, 1, 2).float()


@pytest.fixture(scope="session")
def one_hot():
    """``one_hot(mask, c=2)`` -> certain probabilities for a (B, H, W) mask."""
    return _one_hot
