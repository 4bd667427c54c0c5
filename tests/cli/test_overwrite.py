"""No command replaces a file the user made without ``--overwrite``; inputs never; own outputs freely."""

from __future__ import annotations

import json

import pytest

from napari_scribbleseg import io
from napari_scribbleseg.cli import main

CLASSES = "background,ring,disk"


@pytest.fixture
def model(dataset, tmp_path, tiny_args):
    d = dataset
    args = ["train", str(d / "train/images"), "--scribbles", str(d / "train/scribbles"), "--method", "pce"]
    assert main([*args, "--classes", CLASSES, "--out", str(tmp_path / "m"), *tiny_args]) == 0
    return tmp_path / "m"


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_predict_into_the_scribble_folder_is_refused_before_any_work(dataset, model, capsys):
    """The defect of #10: predict --out data/scribbles replaced the hand-drawn scribbles."""
    d = dataset
    scribbles = d / "train/scribbles"
    before = _snapshot(scribbles)
    rc = main(["predict", "--model", str(model), "--out", str(scribbles), str(d / "train/images")])
    err = capsys.readouterr()
    assert rc == 1 and _snapshot(scribbles) == before
    assert "c0.nii.gz: already exists and was not written by scribbleseg" in err.err
    assert "--overwrite" in err.err and "->" not in err.out  # failed before predicting anything
    # told to, it replaces them (they are not inputs of this command)
    rc = main(
        ["predict", "--model", str(model), "--out", str(scribbles), str(d / "train/images"), "--overwrite"]
    )
    assert rc == 0 and _snapshot(scribbles) != before


def test_predict_replaces_its_own_earlier_output(dataset, model, tmp_path):
    d = dataset
    out = tmp_path / "pred"
    args = ["predict", "--model", str(model), "--out", str(out), str(d / "test/images")]
    assert main(args) == 0
    assert io.is_own_output(out / "c0.nii.gz") and io.is_own_output(out / "c0.json")
    assert main(args) == 0  # again: its own files, no --overwrite needed


def test_inputs_are_never_overwritten_even_with_overwrite(dataset, model, capsys):
    d = dataset
    before = _snapshot(d / "test/images")
    rc = main(
        [
            "predict",
            "--model",
            str(model),
            "--out",
            str(d / "test/images"),
            str(d / "test/images"),
            "--overwrite",
        ]
    )
    assert rc == 1 and _snapshot(d / "test/images") == before
    assert "is an input of this command" in capsys.readouterr().err


def test_evaluate_does_not_replace_a_mask_with_json(dataset, model, tmp_path, capsys):
    d = dataset
    pred = tmp_path / "pred"
    assert main(["predict", "--model", str(model), "--out", str(pred), str(d / "test/images")]) == 0
    truth = d / "test/masks/c0.nii.gz"
    before = truth.read_bytes()
    rc = main(["evaluate", "--pred", str(pred), "--truth", str(d / "test/masks"), "--json", str(truth)])
    assert rc == 1 and truth.read_bytes() == before
    assert "is an input of this command" in capsys.readouterr().err
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    evaluate = ["evaluate", "--pred", str(pred), "--truth", str(d / "test/masks"), "--json"]
    assert main([*evaluate, str(notes)]) == 1 and json.loads(notes.read_text()) == {"mine": True}
    assert main([*evaluate, str(tmp_path / "r.json")]) == 0 and io.is_own_output(tmp_path / "r.json")
    # an evaluate JSON is its own output: written again without --overwrite
    assert main([*evaluate, str(tmp_path / "r.json")]) == 0


def test_scribbles_and_propagate_follow_the_same_rule(dataset, tmp_path, capsys):
    d = dataset
    masks = d / "train/masks"
    rc = main(["scribbles", "--masks", str(masks), "--out", str(d / "train/scribbles")])
    assert rc == 1 and "already exists and was not written by scribbleseg" in capsys.readouterr().err
    assert main(["scribbles", "--masks", str(masks), "--out", str(tmp_path / "gen")]) == 0
    assert main(["scribbles", "--masks", str(masks), "--out", str(tmp_path / "gen")]) == 0
    args = [
        "propagate",
        str(d / "train/images"),
        "--scribbles",
        str(d / "train/scribbles"),
        "--classes",
        CLASSES,
    ]
    rc = main([*args, "--out", str(d / "train/masks")])
    assert rc == 1 and "already exists" in capsys.readouterr().err


def test_train_checks_the_model_folder_before_loading(dataset, tmp_path, capsys, tiny_args):
    d = dataset
    args = ["train", str(d / "train/images"), "--scribbles", str(d / "train/scribbles"), *tiny_args]
    (tmp_path / "file").write_text("x")
    assert main([*args, "--out", str(tmp_path / "file")]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.docx").write_text("x")
    assert main([*args, "--out", str(tmp_path / "busy")]) == 1
    assert "holds other files (thesis.docx)" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["thesis.docx"]
    assert main([*args, "--out", str(tmp_path / "m"), "--resume", str(tmp_path / "nope")]) == 1
    assert "no such model folder" in capsys.readouterr().err


def test_sample_data_rewrites_a_sample_but_not_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["sample-data", "cardiac", "--out", str(out), "--subjects", "3"]) == 0
    assert main(["sample-data", "cardiac", "--out", str(out), "--subjects", "3"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "scan.nii.gz").write_bytes(b"x")
    assert main(["sample-data", "cardiac", "--out", str(mine), "--subjects", "3"]) == 1
    assert "holds no sample dataset" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["scan.nii.gz"]
