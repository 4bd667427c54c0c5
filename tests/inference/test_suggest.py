"""'Scribble here next': slices ranked by the uncertainty of a prediction."""

from __future__ import annotations

import numpy as np

from napari_scribbleseg.inference.suggest import rank_slices, uncertain_region


def _confident(shape=(3, 16, 16, 6)) -> np.ndarray:
    """Certain everywhere: background, with a certain structure (class 1) in a square of every slice."""
    p = np.zeros(shape, np.float32)
    p[0] = 1.0
    p[0, 5:10, 5:10, :] = 0.0
    p[1, 5:10, 5:10, :] = 1.0
    return p


def test_the_most_uncertain_slices_come_first_and_scribbled_ones_never():
    p = _confident()
    for z, q in ((4, 0.5), (1, 0.8), (2, 0.7)):  # the structure's class is uncertain on these slices
        p[1, 5:10, 5:10, z] = q
        p[2, 5:10, 5:10, z] = 1 - q
    ranked = rank_slices(p, 2, top=3, gap=0)
    assert [r.slice_index for r in ranked] == [4, 2, 1]
    assert 0 < ranked[-1].score < ranked[0].score <= 1.0
    scribbles = np.zeros(p.shape[1:], np.uint8)
    scribbles[0, 0, 4] = 1  # slice 4 is scribbled already
    assert [r.slice_index for r in rank_slices(p, 2, scribbles=scribbles, top=3, gap=0)] == [2, 1]
    assert [r.slice_index for r in rank_slices(p, 2, top=3, gap=1)] == [4, 2]  # neighbours of 2 passed over


def test_the_slice_axis_is_respected_and_a_certain_prediction_suggests_nothing_there():
    p = np.moveaxis(_confident(), 3, 1)  # slices along axis 0 of the volume
    assert rank_slices(p, 0) == []
    p[1, 3, 5:10, 5:10] = 0.5
    p[0, 3, 5:10, 5:10] = 0.5
    assert rank_slices(p, 0, top=1)[0].slice_index == 3


def test_a_half_seen_structure_away_from_the_prediction_is_in_the_region():
    p = _confident()[:, :, :, 0]
    p[:, 12:15, 0:3] = np.array([0.4, 0.35, 0.25], np.float32)[:, None, None]  # background wins, barely
    region = uncertain_region(p)
    assert region[13, 1] and region[7, 7] and region[6, 4]  # uncertain blob, structure, its border
    assert not region[0, 15]
