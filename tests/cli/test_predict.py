"""``scribbleseg predict`` never overwrites its inputs."""

from __future__ import annotations

from napari_scribbleseg.cli import main


def test_predict_refuses_to_overwrite_inputs(dataset, tmp_path, capsys, tiny_args):
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
                *tiny_args,
            ]
        )
        == 0
    )
    before = (d / "test/images/c0.nii.gz").read_bytes()
    rc = main(
        ["predict", "--model", str(tmp_path / "m"), "--out", str(d / "test/images"), str(d / "test/images")]
    )
    assert rc == 1 and (d / "test/images/c0.nii.gz").read_bytes() == before
