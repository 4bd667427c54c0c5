"""2D scribble styles: skeletons, random walks, and the paper's mix of the two."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_scribbleseg.errors import ConfigError, DataError
from napari_scribbleseg.labels import check_label_values
from napari_scribbleseg.scribbles import (
    SCRIBBLE_STYLES,
    paper_scribbles,
    random_walk_scribbles,
    skeleton_scribbles,
    thin_structures,
)

N_CLASSES = 4  # background, RV, MYO, LV


def test_skeleton_inside_structures_and_every_structure_scribbled(heart_slice):
    m = heart_slice()
    s = skeleton_scribbles(m, N_CLASSES)
    check_label_values(s, N_CLASSES, kind="scribbles", source="test")
    assert s.shape == m.shape and s.dtype == np.uint8
    for k in (1, 2, 3):
        assert (s == k + 1).any(), f"structure {k} has no scribble"
        assert np.all(m[s == k + 1] == k), f"scribble of {k} outside its mask"
    assert not (s == 1).any()  # no background from the structure generators


def test_skeleton_is_deterministic_and_per_component():
    m = np.zeros((64, 64), np.uint8)
    m[5:15, 5:40] = 1
    m[30:50, 30:36] = 1  # a second component of the same structure
    m[60, 60] = 1  # a single pixel
    s = skeleton_scribbles(m, 2)
    labels, n = ndi.label(m > 0, np.ones((3, 3)))
    assert n == 3
    for lab in range(1, n + 1):
        assert (s[labels == lab] == 2).any()
    np.testing.assert_array_equal(s, skeleton_scribbles(m, 2, rng=123))


def test_skeleton_coverage_small_for_large_structures(heart_slice):
    m = heart_slice(r_lv=25, t_myo=5)
    s = skeleton_scribbles(m, N_CLASSES)
    for k in (1, 3):  # RV and LV are large
        assert (s == k + 1).sum() < 0.3 * (m == k).sum()


def test_random_walk_visits_only_mask_pixels_and_is_seeded(heart_slice):
    m = heart_slice()
    a = random_walk_scribbles(m, N_CLASSES, rng=7)
    b = random_walk_scribbles(m, N_CLASSES, rng=np.random.default_rng(7))
    c = random_walk_scribbles(m, N_CLASSES, rng=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    for k in (1, 2, 3):
        assert (a == k + 1).any()
        assert np.all(m[a == k + 1] == k)


def test_random_walk_is_connected_stroke_in_its_component():
    m = np.zeros((80, 80), np.uint8)
    m[10:20, 10:70] = 1
    m[40:60, 10:70] = 1
    s = random_walk_scribbles(m, 2, rng=0, steps=500) == 2
    _, n = ndi.label(s, np.ones((3, 3)))
    assert n == 1  # 8-neighbour moves: one stroke, which never jumps to the other component


@pytest.mark.parametrize("seed", range(6))
def test_random_walk_on_a_thin_ring_is_a_stroke_not_a_speck(seed):
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(yy - 31.3, xx - 32.6)
    m = ((r >= 14) & (r < 17)).astype(np.uint8)  # 3 px: the pixels 2 px inside break into specks
    s = random_walk_scribbles(m, 2, rng=seed) == 2
    assert s.sum() >= 20  # before: 1 pixel for some starts
    assert np.all(m[s] == 1)


def test_random_walk_length():
    m = np.zeros((200, 200), np.uint8)
    m[20:180, 20:180] = 1
    short = (random_walk_scribbles(m, 2, rng=0, steps=10) == 2).sum()
    long = (random_walk_scribbles(m, 2, rng=0, steps=2500) == 2).sum()
    assert 1 <= short <= 10
    assert long > 100


def test_paper_style_walks_thin_ring_skeletons_the_rest(heart_slice):
    m = heart_slice(r_lv=22, t_myo=3)
    assert thin_structures(m, N_CLASSES) == (2,)
    s = paper_scribbles(m, N_CLASSES, rng=0)
    np.testing.assert_array_equal(s == 4, skeleton_scribbles(m, N_CLASSES) == 4)  # LV: skeleton
    walk = random_walk_scribbles(np.where(m == 2, 2, 0), N_CLASSES, rng=0)
    np.testing.assert_array_equal(s == 3, walk == 3)  # MYO: random walk
    forced = paper_scribbles(m, N_CLASSES, rng=0, thin_classes=())
    np.testing.assert_array_equal(forced, skeleton_scribbles(m, N_CLASSES))


def test_2d_input_checks():
    with pytest.raises(DataError):
        skeleton_scribbles(np.zeros((4, 4, 4), np.uint8), 2)
    with pytest.raises(DataError):
        random_walk_scribbles(np.full((8, 8), 5, np.uint8), 4)


def test_registry_lists_styles_and_suggests():
    assert set(SCRIBBLE_STYLES.names()) == {"skeleton", "random-walk", "paper"}
    with pytest.raises(ConfigError, match="random-walk"):
        SCRIBBLE_STYLES.get("random_walk")
