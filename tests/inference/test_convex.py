"""Structures declared convex: filled to their convex hull per slice in pseudo-labels and predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_scribbleseg.config import PreprocessConfig, to_dict
from napari_scribbleseg.errors import CheckpointError, ConfigError
from napari_scribbleseg.inference import Predictor
from napari_scribbleseg.inference.postprocess import convex_classes, fill_convex

SPACING = (1.0, 1.0, 3.0)


def _c_shape(n_slices: int = 3) -> np.ndarray:
    """(n_slices, 12, 12): structure 2 as a square with a notch of structure 1 cut into one side."""
    m = np.zeros((n_slices, 12, 12), np.uint8)
    m[:, 2:9, 2:9] = 2
    m[:, 4:7, 6:9] = 1  # the notch: another structure (like papillary muscles called myocardium)
    return m


def test_the_hull_fills_the_notch_in_every_slice_along_the_axis():
    m = _c_shape()
    out = fill_convex(m, (2,), axis=0)
    assert (out[:, 2:9, 2:9] == 2).all() and (out == 2).sum() == 3 * 49
    assert (out[:, 9:] == 0).all()  # nothing outside the hull changes
    along_rows = fill_convex(m, (2,), axis=1)  # slices across the notch: each row's piece is a segment
    assert (along_rows[:, 4:7, 6:9] == 1).all()
    np.testing.assert_array_equal(fill_convex(m[1], (2,), axis=0), out[1])  # 2D: one slice


def test_locked_voxels_and_smaller_pieces_keep_their_labels():
    m = _c_shape(1)
    m[0, 10:12, 0:2] = 2  # a second, smaller piece: not joined into the hull
    locked = np.zeros(m.shape, bool)
    locked[0, 5, 7] = True  # the user scribbled structure 1 there
    out = fill_convex(m, (2,), axis=0, locked=locked)
    assert out[0, 5, 7] == 1 and out[0, 4, 7] == 2
    assert (out[0, 10:12, 0:2] == 2).all() and (out[0, 9:12, 2:9] == 0).all()
    assert (m == _c_shape(1)).sum() == m.size - 4  # the input is not modified in place


def test_convex_classes_are_named_structures():
    names = ("background", "RV", "MYO", "LV")
    assert convex_classes("", names) == ()
    assert convex_classes(" LV, RV ,LV", names) == (3, 1)
    with pytest.raises(ConfigError, match="'Lv' is not a structure"):
        convex_classes("Lv", names)
    with pytest.raises(ConfigError, match="'background' is not a structure"):
        convex_classes("background", names)


def _predictor(segmentor, class_names, convex: str) -> Predictor:
    pre = {**to_dict(PreprocessConfig(patch_size=32, convex=convex)), "target_spacing": None}
    meta = {"class_names": list(class_names), "preprocess": pre, "train_config": {"precision": "fp32"}}
    return Predictor(segmentor, meta, torch.device("cpu"))


def test_a_model_with_a_convex_structure_predicts_its_hull(threshold_segmentor, blob_volume, blob_classes):
    image, _ = blob_volume()
    image[9:13, 12:18] = 0.0  # a notch of background cut into the side of "big" (class 1)
    plain = _predictor(threshold_segmentor, blob_classes, "").segment(image, SPACING)[0]
    assert (plain[9:13, 12:18] == 0).all() and (plain[10, 9] == 2).all()
    convex = _predictor(threshold_segmentor, blob_classes, "big")
    mask = convex.segment(image, SPACING)[0]
    # the hull takes every voxel inside it, the "core" structure too: it is the user's declaration
    assert (mask[4:18, 4:18] == 1).all() and (mask[18:] == 0).all()
    scribbles = np.zeros(image.shape, np.uint8)
    scribbles[10, 14, :] = 1  # the user marked background in the notch: it stays background
    fused = convex.segment(image, SPACING, scribbles=scribbles)[0]
    assert (fused[10, 14] == 0).all() and (fused[11, 14] == 1).all()


def test_a_model_naming_an_unknown_convex_structure_is_refused(threshold_segmentor, blob_classes):
    with pytest.raises(CheckpointError, match="meta.json.*'LV' is not a structure"):
        _predictor(threshold_segmentor, blob_classes, "LV")


def test_the_training_preview_fills_the_convex_structures(threshold_segmentor, blob_volume, blob_classes):
    from napari_scribbleseg.data.dataset import Case, prepare_case
    from napari_scribbleseg.engine.preview import make_preview

    image, _ = blob_volume()
    image[9:13, 12:18] = 0.0  # the notch of background in the side of "big"
    scribbles = np.zeros(image.shape, np.uint8)
    scribbles[0, 0, :] = 1
    case = Case(image, SPACING, [scribbles], name="blob")
    pc = prepare_case(case, PreprocessConfig(patch_size=32), 1.0)
    args = (threshold_segmentor, [pc], (0, 0), torch.device("cpu"), None, 0, 0.0)  # no far blob there
    plain, convex = make_preview(*args), make_preview(*args, convex=(1,))
    assert (plain.prediction[9:13, 12:18] == 0).all()
    assert (convex.prediction[4:18, 4:18] == 1).all() and (convex.prediction[18:] == 0).all()
