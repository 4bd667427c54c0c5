"""The label encoding (scribbles, training targets, masks) and class-name lists."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.errors import LabelError
from napari_scribbleseg.labels import (
    IGNORE,
    check_label_values,
    mask_to_scribbles,
    parse_class_names,
    scribbles_to_target,
    target_to_scribbles,
)


def test_scribble_encoding_round_trip():
    s = np.array([0, 1, 2, 3], np.uint8)
    t = scribbles_to_target(s)
    assert list(t) == [IGNORE, 0, 1, 2]
    assert list(target_to_scribbles(t)) == [0, 1, 2, 3]
    assert list(mask_to_scribbles(np.array([0, 1, 2]))) == [1, 2, 3]


def test_check_label_values_errors_name_the_source():
    with pytest.raises(LabelError, match=r"case7.*\[5\].*0\.\.3"):
        check_label_values(np.array([0, 1, 5]), 3, kind="scribbles", source="case7")
    with pytest.raises(LabelError, match="no annotated voxel"):
        check_label_values(np.zeros(4, int), 3, kind="scribbles", source="x")
    with pytest.raises(LabelError, match=r"\[3\]"):
        check_label_values(np.array([0, 3]), 3, kind="mask", source="m")
    check_label_values(np.array([0, 2]), 3, kind="mask", source="m")


def test_class_names():
    assert parse_class_names("background, RV,MYO ,LV") == ("background", "RV", "MYO", "LV")
    with pytest.raises(LabelError):
        parse_class_names("background")
    with pytest.raises(LabelError, match="repeat"):
        parse_class_names("a,b,a")
