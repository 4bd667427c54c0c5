"""Scribble statistics per class and slice."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.scribbles import scribble_stats


def test_stats():
    s = np.zeros((10, 10, 2), np.uint8)
    s[0, :, 0] = 1  # 10 background pixels
    s[1, :5, 0] = 3  # 5 pixels of class 2
    st = scribble_stats(s, 3, class_names=("background", "a", "b"), slice_axis=2)
    assert st["pixels"] == {"background": 10, "a": 0, "b": 5}
    assert st["coverage_percent"]["background"] == pytest.approx(5.0)
    assert st["annotated_percent"] == pytest.approx(7.5)
    assert st["annotated_slices"] == 1
    assert st["slice_coverage_percent"]["b"] == pytest.approx([5.0, 0.0])
    default = scribble_stats(s, 3)
    assert list(default["pixels"]) == ["background", "structure1", "structure2"]
    with pytest.raises(ConfigError):
        scribble_stats(s, 3, class_names=("a", "b"))
