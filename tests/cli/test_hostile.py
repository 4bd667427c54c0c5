"""Hostile and broken inputs through the CLI: exit 1, one line naming the file, no traceback, no output.

The closing note of #10 lists these cases and their messages; each ``expect`` below is part of the
message the user reads.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.cli import main


def _image(path, data=None, zooms=(1.0, 1.0, 4.0)):
    data = np.random.default_rng(0).normal(size=(24, 24, 3)).astype(np.float32) if data is None else data
    img = nib.Nifti1Image(data, np.diag([*zooms, 1.0]))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    return path


def _huge(path, lying_file):
    path.parent.mkdir(parents=True, exist_ok=True)
    return lying_file(path, (2000, 2000, 2000))


def _tiny_spacing(path, lying_file):
    return _image(path, zooms=(1e-6, 1e-6, 1e-6))


def _huge_spacing(path, lying_file):
    return _image(path, zooms=(1000.0, 1000.0, 10000.0))


def _truncated(path, lying_file):
    path.parent.mkdir(parents=True, exist_ok=True)
    return lying_file(path, (64, 64, 16), data_bytes=100)


def _four_d(path, lying_file):
    return _image(path, data=np.zeros((8, 8, 3, 2), np.float32))


def _nan(path, lying_file):
    data = np.zeros((24, 24, 3), np.float32)
    data[3, 3, 1] = np.nan
    return _image(path, data=data)


def _garbage(path, lying_file):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a NIfTI file at all" * 10)
    return path


CASES = [
    (_huge, "2000 x 2000 x 2000"),
    (_tiny_spacing, "spacing"),
    (_huge_spacing, "spacing"),
    (_truncated, "truncated"),
    (_four_d, "4D"),
    (_nan, "NaN"),
    (_garbage, "case.nii.gz"),
]


@pytest.mark.parametrize(("make", "expect"), CASES, ids=[m.__name__.strip("_") for m, _ in CASES])
def test_predict_refuses_a_broken_image_in_one_line(
    make, expect, tmp_path, lying_file, untrained_model, capsys
):
    bad = make(tmp_path / "images" / "case.nii.gz", lying_file)
    out = tmp_path / "pred"
    rc = main(["predict", "--model", str(untrained_model), "--out", str(out), str(tmp_path / "images")])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(bad) in err or bad.name in err
    assert expect.lower() in err.lower(), err
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(("make", "expect"), CASES[:4], ids=[m.__name__.strip("_") for m, _ in CASES[:4]])
def test_train_refuses_a_broken_image_before_training(make, expect, tmp_path, lying_file, capsys, tiny_args):
    good = _image(tmp_path / "images" / "a.nii.gz")
    make(tmp_path / "images" / "case.nii.gz", lying_file)
    scribbles = np.zeros((24, 24, 3), np.uint8)
    scribbles[5, 5, 1], scribbles[12, 12, 1] = 1, 2
    ref = io.read_image(good)
    io.write_labels(tmp_path / "scribbles" / "a.nii.gz", scribbles, ref, kind="scribbles")
    io.write_labels(tmp_path / "scribbles" / "case.nii.gz", scribbles, ref, kind="scribbles")
    out = tmp_path / "model"
    args = ["train", str(tmp_path / "images"), "--scribbles", str(tmp_path / "scribbles"), "--out", str(out)]
    rc = main([*args, "--method", "pce", "--classes", "background,a,b", *tiny_args])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "case.nii.gz" in err and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["predict", "--model", "{tmp}/nope", "--out", "{tmp}/p", "{tmp}/images"], "no such model folder"),
        (["predict", "--model", "{model}", "--out", "{tmp}/p", "{tmp}/missing"], "missing"),
        (["predict", "--model", "{model}", "--out", "{tmp}/p", "{tmp}/empty"], "empty"),
        (["evaluate", "--pred", "{tmp}/empty", "--truth", "{tmp}/empty"], "empty"),
    ],
    ids=["missing-model", "missing-images", "empty-folder", "evaluate-empty"],
)
def test_missing_and_empty_folders(args, expect, tmp_path, untrained_model, capsys):
    (tmp_path / "empty").mkdir()
    _image(tmp_path / "images" / "a.nii.gz")
    argv = [a.format(tmp=tmp_path, model=untrained_model) for a in args]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err and expect in err.lower(), err
    assert not (tmp_path / "p").exists()
