"""A crafted or damaged ``meta.json``: one message naming the folder and the field, before any build."""

from __future__ import annotations

import json
import math

import pytest

from napari_scribbleseg.cli import main
from napari_scribbleseg.errors import CheckpointError
from napari_scribbleseg.inference import Predictor

torch = pytest.importorskip("torch")


@pytest.fixture
def model(untrained_model):
    """A real, tiny model folder whose meta.json the tests spoil."""
    assert Predictor.load(untrained_model, device="cpu").n_classes == 3  # the untouched folder loads
    return untrained_model


def _edit(folder, change) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta = change(meta)
    (folder / "meta.json").write_text(json.dumps(meta))


def _set(path: str, value):
    def change(meta):
        *parents, last = path.split(".")
        d = meta
        for p in parents:
            d = d[p]
        d[last] = value
        return meta

    return change


def _drop(key: str):
    return lambda meta: {k: v for k, v in meta.items() if k != key}


HOSTILE = [
    (lambda meta: [meta], "expected a JSON object, got list"),
    (_set("format_version", "abc"), "format_version must be a whole number"),
    (_drop("class_names"), "class_names must be a list of 2 to 256 names"),
    (_set("class_names", ["background"]), "class_names must be a list of 2 to 256 names"),
    (_set("preprocess.target_spacing", math.nan), "preprocess.target_spacing must be a spacing between"),
    (_set("preprocess.target_spacing", 1e-5), "preprocess.target_spacing must be a spacing between"),
    (_set("segmentor.kwargs.depth", -3), "segmentor.kwargs.depth must be a whole number from 2 to 8, got -3"),
    (
        _set("segmentor.kwargs.width", 1_000_000),
        "segmentor.kwargs.width must be a whole number from 2 to 256",
    ),
    (_set("segmentor.kwargs.n_classes", 5), "segmentor.kwargs.n_classes (5) differs from the 3 class names"),
    (_set("train_config", {"depth": -3}), "train_config is invalid: TrainConfig.depth must be in"),
    (_set("preprocess.patch_size", 1e9), "preprocess is invalid: PreprocessConfig.patch_size must be in"),
    (_drop("segmentor"), "segmentor must name the network"),
    (_set("step", -1), "step must be a whole number of 0 or more"),
    (_set("format_version", 99), "written by a newer napari-scribbleseg"),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_meta_is_refused_naming_the_folder_and_field(model, change, message):
    _edit(model, change)
    with pytest.raises(CheckpointError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        Predictor.load(model, device="cpu")
    assert str(model) in str(info.value) and "\n" not in str(info.value)


def test_the_cli_reports_it_in_one_line_without_a_traceback(model, tmp_path, capsys, tiny_volume):
    from napari_scribbleseg import io

    img, _ = tiny_volume(0)
    io.save_nifti(tmp_path / "images" / "c0.nii.gz", img, spacing=(1.0, 1.0, 4.0), kind="image")
    _edit(model, _set("segmentor.kwargs.width", 1_000_000))
    rc = main(["predict", "--model", str(model), "--out", str(tmp_path / "pred"), str(tmp_path / "images")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "segmentor.kwargs.width" in err and "Traceback" not in err
    assert not (tmp_path / "pred").exists()  # nothing written
