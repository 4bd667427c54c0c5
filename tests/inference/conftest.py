"""A tiny deterministic segmentor and a volume on which keep_largest changes the mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

CLASSES = ("background", "big", "core")


class ThresholdSegmentor(torch.nn.Module):
    """A 1x1 convolution with fixed weights: class 1 on medium, class 2 on bright normalised intensity.

    Deterministic (no training, no random init), so the masks of the tests are known to have a stray
    blob that ``keep_largest`` removes.
    """

    depth = 3
    has_attention = False

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([0.0, 20.0, 60.0]).view(3, 1, 1, 1))
            self.conv.bias.copy_(torch.tensor([0.0, -5.0, -40.0]))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.conv(x)}


def _blob_volume(shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask) of shape (32, 32, 4): a big structure with a bright core, and a small far blob.

    The mask holds the big structure and its core only, so the far blob is a false positive.
    """
    image = np.zeros((32, 32, 4), np.float32)
    mask = np.zeros(image.shape, np.uint8)
    image[4 + shift : 18 + shift, 4:18] = 1.0
    mask[4 + shift : 18 + shift, 4:18] = 1
    image[8 + shift : 14 + shift, 8:14] = 2.0
    mask[8 + shift : 14 + shift, 8:14] = 2
    image[26:29, 26:29, 1:3] = 1.0  # far away, not in the mask
    return image, mask


@pytest.fixture
def threshold_segmentor() -> ThresholdSegmentor:
    return ThresholdSegmentor().eval()


@pytest.fixture(scope="session")
def blob_classes() -> tuple[str, ...]:
    """The class names of :func:`blob_volume`'s masks."""
    return CLASSES


@pytest.fixture(scope="session")
def blob_volume():
    """``blob_volume(shift=0)`` -> (image, mask) with a far blob that only ``keep_largest`` removes."""
    return _blob_volume
