"""Background strokes: off every structure, also on empty slices."""

from __future__ import annotations

import numpy as np

from napari_scribbleseg.scribbles import background_scribble


def test_background_never_touches_structures(heart_slice, touching):
    m = heart_slice()
    for seed in range(5):
        bg = background_scribble(m, rng=seed)
        assert bg.dtype == bool and bg.any()
        assert not (bg & touching(m > 0)).any()
        cov = bg.mean()
        assert 0.005 < cov < 0.25


def test_background_on_empty_slice():
    bg = background_scribble(np.zeros((64, 64), np.uint8), rng=0)
    assert bg.any()
