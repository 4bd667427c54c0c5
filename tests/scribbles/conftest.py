"""Cartoon cardiac masks (RV, MYO ring, LV disc) to generate scribbles from."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import disk, ellipse


def _heart_slice(shape=(128, 128), centre=(64, 70), r_lv=18, t_myo=4, rv=True) -> np.ndarray:
    """A cartoon short-axis slice: LV disc (3), MYO ring (2), RV blob on one side (1)."""
    m = np.zeros(shape, np.uint8)
    if rv:
        rr, cc = ellipse(centre[0], centre[1] - r_lv - 6, r_lv + 8, 14, shape=shape)
        m[rr, cc] = 1
    rr, cc = disk(centre, r_lv + t_myo, shape=shape)
    m[rr, cc] = 2
    rr, cc = disk(centre, r_lv, shape=shape)
    m[rr, cc] = 3
    return m


def _heart_volume(n=8) -> np.ndarray:
    """(X, Y, Z) volume; structures shrink toward the last slices, the very last one is empty."""
    slices = [_heart_slice(r_lv=max(3, 20 - 2 * z), rv=z < n - 2) for z in range(n - 1)]
    slices.append(np.zeros_like(slices[0]))
    return np.stack(slices, axis=-1)


def _touching(binary: np.ndarray) -> np.ndarray:
    """The pixels of ``binary`` and their 8-neighbours."""
    return ndi.binary_dilation(binary, np.ones((3, 3), bool))


@pytest.fixture(scope="session")
def heart_slice():
    """``heart_slice(shape, centre, r_lv, t_myo, rv)`` -> a 2D mask with 4 classes (0 background)."""
    return _heart_slice


@pytest.fixture(scope="session")
def heart_volume():
    """``heart_volume(n=8)`` -> an (X, Y, n) mask whose last slice is empty."""
    return _heart_volume


@pytest.fixture(scope="session")
def touching():
    """``touching(binary)`` -> ``binary`` dilated by one pixel (8-connectivity)."""
    return _touching
