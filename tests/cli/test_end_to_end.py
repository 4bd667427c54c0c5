"""The CLI end to end on tiny data: train, predict (geometry kept), evaluate."""

from __future__ import annotations

import json
import re

import nibabel as nib
import numpy as np

from napari_scribbleseg import io
from napari_scribbleseg.cli import main
from napari_scribbleseg.inference import Predictor


def test_train_predict_evaluate(dataset, tmp_path, capsys, tiny_args):
    d = dataset
    rc = main(
        [
            "train",
            str(d / "train/images"),
            "--scribbles",
            str(d / "train/scribbles"),
            "--masks",
            str(d / "train/masks"),
            "--method",
            "aag",
            "--classes",
            "background,ring,disk",
            "--out",
            str(tmp_path / "model"),
            *tiny_args,
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert re.search(r"finished \(max-steps\) after 3 steps.*peak memory \d+ MiB RSS", captured.out)
    meta = json.loads((tmp_path / "model/meta.json").read_text())
    assert meta["class_names"] == ["background", "ring", "disk"] and meta["method"] == "aag"
    assert (
        main(
            [
                "predict",
                "--model",
                str(tmp_path / "model"),
                "--out",
                str(tmp_path / "pred"),
                str(d / "test/images"),
            ]
        )
        == 0
    )
    src = nib.load(d / "test/images/c0.nii.gz")
    out = nib.load(tmp_path / "pred/c0.nii.gz")
    assert out.shape == src.shape
    assert np.allclose(out.affine, src.affine)
    assert int(out.header["qform_code"]) == int(src.header["qform_code"])
    assert int(out.header["sform_code"]) == int(src.header["sform_code"])
    # same voxels as the in-memory prediction
    vol = io.read_image(d / "test/images/c0.nii.gz")
    expected = Predictor.load(tmp_path / "model", device="cpu").predict(vol.data, vol.spacing)
    assert np.array_equal(np.asarray(out.dataobj), expected)
    assert io.read_sidecar(tmp_path / "pred/c0.nii.gz") == ("background", "ring", "disk")
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--pred",
                str(tmp_path / "pred"),
                "--truth",
                str(d / "test/masks"),
                "--json",
                str(tmp_path / "e.json"),
            ]
        )
        == 0
    )
    assert "Dice" in capsys.readouterr().out
    res = json.loads((tmp_path / "e.json").read_text())
    assert set(res["cases"]) == {"c0", "c1"}
