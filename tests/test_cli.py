"""The CLI end to end on tiny data: train, predict (geometry kept), evaluate; clear errors."""

from __future__ import annotations

import json
import re

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg.cli import main
from napari_scribbleseg.data import io
from napari_scribbleseg.inference import Predictor

from .conftest import scribbles_from, tiny_volume

TINY = [
    "--width",
    "4",
    "--depth",
    "3",
    "--batch-size",
    "2",
    "--patch-size",
    "32",
    "--max-steps",
    "3",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--threads",
    "1",
]


@pytest.fixture
def dataset(tmp_path):
    affine = np.array([[0.0, -1.5, 0.1, 10.0], [1.5, 0.0, 0.0, -20.0], [0.0, 0.0, 6.0, 3.0], [0, 0, 0, 1]])
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            img, mask = tiny_volume(i + (10 if split == "test" else 0))
            io.save_nifti(tmp_path / split / "images" / f"c{i}.nii.gz", img, affine, kind="image")
            io.save_nifti(tmp_path / split / "masks" / f"c{i}.nii.gz", mask, affine, kind="labels")
            if split == "train":
                io.save_nifti(
                    tmp_path / split / "scribbles" / f"c{i}.nii.gz",
                    scribbles_from(mask, i),
                    affine,
                    kind="labels",
                )
    return tmp_path


def test_train_predict_evaluate(dataset, tmp_path, capsys):
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
            *TINY,
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


def test_config_file_form(dataset, tmp_path):
    d = dataset
    cfg = tmp_path / "train.json"
    cfg.write_text(
        json.dumps(
            {
                "images": [str(d / "train/images")],
                "scribbles": [str(d / "train/scribbles")],
                "method": "crf",
                "out": str(tmp_path / "m"),
                "classes": "background,ring,disk",
                "width": 4,
                "depth": 3,
                "batch_size": 2,
                "patch_size": 32,
                "max_steps": 2,
                "device": "cpu",
                "method_options": {"weight": 0.2},
            }
        )
    )
    assert main(["train", "--config", str(cfg)]) == 0
    meta = json.loads((tmp_path / "m/meta.json").read_text())
    assert meta["method"] == "crf" and meta["method_config"]["weight"] == 0.2 and meta["step"] == 2


def test_unknown_method_fails_at_once_listing_valid_ones(dataset, tmp_path, capsys):
    d = dataset
    rc = main(
        [
            "train",
            str(d / "train/images"),
            "--scribbles",
            str(d / "train/scribbles"),
            "--method",
            "cfr",
            "--out",
            str(tmp_path / "m"),
            *TINY,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "unknown method 'cfr'" in err and "Did you mean 'crf'" in err and "aag" in err


def test_bad_scribbles_are_named(dataset, tmp_path, capsys):
    d = dataset
    img = nib.load(d / "train/scribbles/c1.nii.gz")
    bad = np.asarray(img.dataobj).copy()
    bad[0, 0, 0] = 9
    nib.save(nib.Nifti1Image(bad, img.affine, img.header), d / "train/scribbles/c1.nii.gz")
    rc = main(
        [
            "train",
            str(d / "train/images"),
            "--scribbles",
            str(d / "train/scribbles"),
            "--method",
            "pce",
            "--classes",
            "background,ring,disk",
            "--out",
            str(tmp_path / "m"),
            *TINY,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "c1.nii.gz" in err and "9" in err


def test_training_without_background_scribbles_warns(dataset, tmp_path, capsys):
    d = dataset
    for f in sorted((d / "train/scribbles").glob("*.nii.gz")):
        img = nib.load(f)
        s = np.asarray(img.dataobj)
        nib.save(nib.Nifti1Image(np.where(s == 1, 0, s).astype(s.dtype), img.affine, img.header), f)
    args = ["train", str(d / "train/images"), "--scribbles", str(d / "train/scribbles")]
    args += ["--classes", "background,ring,disk", "--out", str(tmp_path / "m"), *TINY]
    assert main([*args, "--method", "pce"]) == 0
    err = capsys.readouterr().err
    assert "warning: nobody scribbled background" in err and "train size" in err
    assert main([*args, "--method", "size"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_predict_refuses_to_overwrite_inputs(dataset, tmp_path, capsys):
    d = dataset
    assert (
        main(
            [
                "train",
                str(d / "train/images"),
                "--scribbles",
                str(d / "train/scribbles"),
                "--method",
                "pce",
                "--classes",
                "background,ring,disk",
                "--out",
                str(tmp_path / "m"),
                *TINY,
            ]
        )
        == 0
    )
    before = (d / "test/images/c0.nii.gz").read_bytes()
    rc = main(
        ["predict", "--model", str(tmp_path / "m"), "--out", str(d / "test/images"), str(d / "test/images")]
    )
    assert rc == 1 and (d / "test/images/c0.nii.gz").read_bytes() == before


def test_scribbles_and_sample_data_commands(tmp_path):
    assert main(["sample-data", "cardiac", "--out", str(tmp_path / "s"), "--subjects", "3"]) == 0
    assert (tmp_path / "s/train/images").is_dir()
    assert (
        main(
            [
                "scribbles",
                "--masks",
                str(tmp_path / "s/test/masks"),
                "--out",
                str(tmp_path / "sc"),
                "--style",
                "skeleton",
                "--slices",
                "3",
            ]
        )
        == 0
    )
    files = sorted((tmp_path / "sc").glob("*.nii.gz"))
    assert files
    s = io.read_labels(files[0], kind="scribbles", n_classes=4)
    slices = np.flatnonzero((s.data > 1).reshape(-1, s.shape[2]).any(0))
    assert len(slices) == 3
