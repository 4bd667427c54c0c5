"""Label files: how a file's label kind is decided, and scribbles written with their sidecar."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import LabelError


def save(path, data, *, intent=None):
    img = nib.Nifti1Image(data, np.eye(4))
    if intent is not None:
        img.header.set_intent(intent)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    return path


def test_kind_from_sidecar_intent_dtype_and_name(tmp_path):
    # (the path words are matched in the whole path, so this test name must not contain them)
    ints = np.zeros((4, 4, 2), np.uint8)
    floats = np.zeros((4, 4, 2), np.float32)
    # integer data: the path decides
    assert io.label_kind(save(tmp_path / "scribbles" / "c1.nii.gz", ints)) == "scribbles"
    assert io.label_kind(save(tmp_path / "masks" / "c1.nii.gz", ints)) == "mask"
    assert io.label_kind(save(tmp_path / "images" / "c1.nii.gz", ints)) is None
    # float data needs the label intent
    assert io.label_kind(save(tmp_path / "pred" / "f.nii.gz", floats)) is None
    assert io.label_kind(save(tmp_path / "other" / "f.nii.gz", floats, intent="label")) == "mask"
    # a sidecar wins, and its encoding decides
    img = save(tmp_path / "images" / "c2.nii.gz", floats)
    (tmp_path / "images" / "c2.json").write_text(json.dumps({"encoding": "scribbles", "classes": ["a", "b"]}))
    assert io.label_kind(img) == "scribbles"
    # unreadable file: not labels (the image reader reports it)
    bad = tmp_path / "masks" / "bad.nii.gz"
    bad.write_bytes(b"not nifti")
    assert io.label_kind(bad) is None


def test_scribbles_written_with_their_encoding(tmp_path):
    ref = io.NiftiVolume.from_array(np.zeros((5, 6, 3), np.float32), spacing=(1.0, 1.0, 4.0))
    scribbles = np.zeros(ref.shape, np.uint8)
    scribbles[1, 1, 0] = 1
    scribbles[2, 2, 1] = 3
    out = io.write_labels(
        tmp_path / "s" / "c1.nii.gz", scribbles, ref, class_names=("bg", "a", "b"), kind="scribbles"
    )
    side = json.loads(io.sidecar_path(out).read_text())
    assert side == {"encoding": "scribbles", "classes": {"0": "bg", "1": "a", "2": "b"}, "source": None}
    assert io.label_kind(out) == "scribbles"
    assert io.read_sidecar(out) == ("bg", "a", "b")
    np.testing.assert_array_equal(io.read_labels(out, kind="scribbles", n_classes=3).data, scribbles)
    # scribble value 4 is outside 3 classes; value 3 would be a valid scribble but not a valid mask
    with pytest.raises(LabelError, match="scribbles value"):
        io.write_labels(
            tmp_path / "s" / "c2.nii.gz", scribbles + 1, ref, class_names=("bg", "a", "b"), kind="scribbles"
        )
    with pytest.raises(LabelError, match="mask value"):
        io.write_labels(tmp_path / "m" / "c1.nii.gz", scribbles, ref, class_names=("bg", "a", "b"))
    # empty scribbles are allowed (a layer the user has not painted yet)
    io.write_labels(
        tmp_path / "s" / "c3.nii.gz",
        np.zeros(ref.shape, np.uint8),
        ref,
        class_names=("bg", "a"),
        kind="scribbles",
    )


def test_dataset_classes_round_trip(tmp_path):
    io.write_dataset_classes(tmp_path, ("background", "RV"), {"masks": "0 = background"})
    content = json.loads((tmp_path / "classes.json").read_text())
    assert content["classes"] == ["background", "RV"] and content["encoding"] == {"masks": "0 = background"}
    assert io.is_own_output(tmp_path / "classes.json")  # a later sample-data may rewrite it
    nested = tmp_path / "train" / "scribbles" / "c1.nii.gz"
    assert io.dataset_class_names(nested) == ("background", "RV")
    assert io.dataset_class_names(tmp_path / "a" / "b" / "c" / "c1.nii.gz") is None  # more than 3 levels up
