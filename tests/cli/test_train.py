"""``scribbleseg train``: the config-file form, and clear errors and warnings about the data."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from napari_scribbleseg.cli import main


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
    # the old option name ``weight`` still loads; the model stores the current name ``crf_weight``
    assert meta["method"] == "crf" and meta["method_config"]["crf_weight"] == 0.2 and meta["step"] == 2


def test_unknown_method_fails_at_once_listing_valid_ones(dataset, tmp_path, capsys, tiny_args):
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
            *tiny_args,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "unknown method 'cfr'" in err and "Did you mean 'crf'" in err and "aag" in err
    assert "or auto" in err


def test_without_a_method_auto_chooses_and_says_so(dataset, tmp_path, capsys, tiny_args):
    d = dataset
    args = ["train", str(d / "train/images"), "--scribbles", str(d / "train/scribbles")]
    assert main([*args, "--out", str(tmp_path / "m"), *tiny_args]) == 0
    out = capsys.readouterr().out
    assert (
        "method auto -> aag: 12 annotated slice(s) in 3 volume(s), no unpaired masks: the shape prior" in out
    )
    assert json.loads((tmp_path / "m/meta.json").read_text())["method"] == "aag"


def test_bad_scribbles_are_named(dataset, tmp_path, capsys, tiny_args):
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
            *tiny_args,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "c1.nii.gz" in err and "9" in err


def test_training_without_background_scribbles_warns(dataset, tmp_path, capsys, tiny_args):
    d = dataset
    for f in sorted((d / "train/scribbles").glob("*.nii.gz")):
        img = nib.load(f)
        s = np.asarray(img.dataobj)
        nib.save(nib.Nifti1Image(np.where(s == 1, 0, s).astype(s.dtype), img.affine, img.header), f)
    args = ["train", str(d / "train/images"), "--scribbles", str(d / "train/scribbles")]
    args += ["--classes", "background,ring,disk", "--out", str(tmp_path / "m"), *tiny_args]
    assert main([*args, "--method", "pce"]) == 0
    err = capsys.readouterr().err
    assert "warning: nobody scribbled background" in err and "train size" in err
    assert main([*args, "--method", "size"]) == 0
    assert "warning" not in capsys.readouterr().err
