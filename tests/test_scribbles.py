from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import disk, ellipse

from napari_scribbleseg.errors import ConfigError, DataError
from napari_scribbleseg.labels import check_label_values
from napari_scribbleseg.scribbles import (
    SCRIBBLE_STYLES,
    background_scribble,
    paper_scribbles,
    random_walk_scribbles,
    scribble_stats,
    scribbles_from_mask,
    skeleton_scribbles,
    thin_structures,
)

N_CLASSES = 4  # background, RV, MYO, LV


def heart_slice(shape=(128, 128), centre=(64, 70), r_lv=18, t_myo=4, rv=True) -> np.ndarray:
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


def heart_volume(n=8) -> np.ndarray:
    """(X, Y, Z) volume; structures shrink toward the last slices, the very last one is empty."""
    slices = [heart_slice(r_lv=max(3, 20 - 2 * z), rv=z < n - 2) for z in range(n - 1)]
    slices.append(np.zeros_like(slices[0]))
    return np.stack(slices, axis=-1)


def touching(binary: np.ndarray) -> np.ndarray:
    return ndi.binary_dilation(binary, np.ones((3, 3), bool))


# ---------------------------------------------------------------------------------------------- 2D


def test_skeleton_inside_structures_and_every_structure_scribbled():
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


def test_skeleton_coverage_small_for_large_structures():
    m = heart_slice(r_lv=25, t_myo=5)
    s = skeleton_scribbles(m, N_CLASSES)
    for k in (1, 3):  # RV and LV are large
        assert (s == k + 1).sum() < 0.3 * (m == k).sum()


def test_random_walk_visits_only_mask_pixels_and_is_seeded():
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


def test_background_never_touches_structures():
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


def test_paper_style_walks_thin_ring_skeletons_the_rest():
    m = heart_slice(r_lv=22, t_myo=3)
    assert thin_structures(m, N_CLASSES) == (2,)
    s = paper_scribbles(m, N_CLASSES, rng=0)
    np.testing.assert_array_equal(s == 4, skeleton_scribbles(m, N_CLASSES) == 4)  # LV: skeleton
    walk = random_walk_scribbles(np.where(m == 2, 2, 0), N_CLASSES, rng=0)
    np.testing.assert_array_equal(s == 3, walk == 3)  # MYO: random walk
    forced = paper_scribbles(m, N_CLASSES, rng=0, thin_classes=())
    np.testing.assert_array_equal(forced, skeleton_scribbles(m, N_CLASSES))


def test_registry_lists_styles_and_suggests():
    assert set(SCRIBBLE_STYLES.names()) == {"skeleton", "random-walk", "paper"}
    with pytest.raises(ConfigError, match="random-walk"):
        SCRIBBLE_STYLES.get("random_walk")


def test_2d_input_checks():
    with pytest.raises(DataError):
        skeleton_scribbles(np.zeros((4, 4, 4), np.uint8), 2)
    with pytest.raises(DataError):
        random_walk_scribbles(np.full((8, 8), 5, np.uint8), 4)


# ---------------------------------------------------------------------------------------------- 3D


@pytest.mark.parametrize("style", ["skeleton", "random-walk", "paper"])
def test_volume_scribbles_valid(style):
    vol = heart_volume()
    s = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style=style, rng=0)
    assert s.shape == vol.shape and s.dtype == np.uint8
    check_label_values(s, N_CLASSES, kind="scribbles", source="test")
    for k in (1, 2, 3):
        inside = s == k + 1
        assert np.all(vol[inside] == k)
    for z in range(vol.shape[2]):
        m, sc = vol[:, :, z], s[:, :, z]
        for k in np.unique(m[m > 0]):
            assert (sc == k + 1).any(), f"slice {z}: structure {k} not scribbled"
        bg = sc == 1
        assert bg.any(), f"slice {z}: no background scribble"
        assert not (bg & touching(m > 0)).any()
    # the empty last slice gets background only
    assert set(np.unique(s[:, :, -1])) == {0, 1}


def test_volume_deterministic_and_axis():
    vol = heart_volume()
    a = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=3)
    b = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=3)
    np.testing.assert_array_equal(a, b)
    c = scribbles_from_mask(np.moveaxis(vol, 2, 0), N_CLASSES, slice_axis=0, style="skeleton", rng=3)
    d = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=3)
    # structure skeletons do not depend on the axis layout
    np.testing.assert_array_equal(np.moveaxis(c, 0, 2) > 1, d > 1)


def test_volume_paper_style_thin_decision():
    vol = heart_volume()
    assert thin_structures(vol, N_CLASSES, slice_axis=2) == (2,)
    s = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=0, background=False)
    sk = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=0, background=False)
    np.testing.assert_array_equal(s == 4, sk == 4)
    np.testing.assert_array_equal(s == 2, sk == 2)
    assert not np.array_equal(s == 3, sk == 3)  # the ring gets a walk, not its skeleton
    from scipy import ndimage

    for z in range(vol.shape[2]):  # the walk keeps away from the ring's border (001 Sec. IV-A)
        depth = ndimage.distance_transform_edt(vol[..., z] == 2)
        if (s[..., z] == 3).any():
            assert depth[s[..., z] == 3].min() >= min(2.0, depth.max())
    assert not (s == 1).any()


def test_volume_slices_selection():
    vol = heart_volume(n=10)
    s = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="paper", rng=0, slices=3)
    annotated = [z for z in range(vol.shape[2]) if s[:, :, z].any()]
    assert len(annotated) == 3
    assert all(vol[:, :, z].any() for z in annotated)
    assert annotated[0] > 0 and annotated[-1] < 8  # spread, not the extremes
    s2 = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=0, slices=[1, -1])
    assert [z for z in range(vol.shape[2]) if s2[:, :, z].any()] == [1, 9]
    s3 = scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeleton", rng=0, slices=100)
    assert sum(s3[:, :, z].any() for z in range(10)) == 9  # all structure-bearing slices


def test_volume_errors():
    vol = heart_volume()
    with pytest.raises(ConfigError, match="Did you mean"):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="skeletons")
    with pytest.raises(ConfigError):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, slices=0)
    with pytest.raises(ConfigError):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, slices=[50])
    with pytest.raises(ConfigError):
        scribbles_from_mask(vol, N_CLASSES, slice_axis=2, slices="some")
    with pytest.raises(DataError):
        scribbles_from_mask(vol[..., 0], N_CLASSES, slice_axis=0)
    with pytest.raises(DataError):
        scribbles_from_mask(vol, 3, slice_axis=2)  # value 3 outside a 3-class mask


def test_volume_speed():
    vol = np.stack([heart_slice((176, 176), centre=(88, 90)) for _ in range(10)], axis=-1)
    scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="random-walk", rng=0)  # warm-up
    t0 = time.perf_counter()
    scribbles_from_mask(vol, N_CLASSES, slice_axis=2, style="random-walk", rng=0)
    assert time.perf_counter() - t0 < 1.0


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
