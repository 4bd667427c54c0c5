"""The class-name sidecar written next to a label file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError
from napari_scribbleseg.io import NiftiVolume


def test_write_labels_sidecar(tmp_path, make_image):
    ref = make_image(tmp_path / "case07.nii.gz")
    labels = np.zeros(ref.shape, np.uint8)
    labels[2, 2, 2] = 2
    out = io.write_labels(
        tmp_path / "pred" / "case07.nii.gz", labels, ref, class_names=("background", "RV", "LV")
    )
    side = tmp_path / "pred" / "case07.json"
    assert json.loads(side.read_text()) == {
        "encoding": "mask",
        "classes": {"0": "background", "1": "RV", "2": "LV"},
        "source": "case07.nii.gz",
    }
    assert io.read_sidecar(out) == ("background", "RV", "LV")
    mem = NiftiVolume(ref.data, ref.affine, ref.header)  # no source file
    io.write_labels(tmp_path / "pred" / "mem.nii", labels, mem, class_names=("background", "RV", "LV"))
    assert json.loads((tmp_path / "pred" / "mem.json").read_text())["source"] is None
    assert io.read_sidecar(tmp_path / "pred" / "nosidecar.nii.gz") is None
    (tmp_path / "pred" / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json: the class-name sidecar cannot be read"):
        io.read_sidecar(tmp_path / "pred" / "bad.nii.gz")
