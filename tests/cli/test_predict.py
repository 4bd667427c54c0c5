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


def test_predict_with_scribbles_keeps_them_and_reads_them_as_inputs(
    dataset, untrained_model, tmp_path, capsys
):
    import nibabel as nib
    import numpy as np

    from napari_scribbleseg.metrics import dice_per_class

    d = dataset
    out = tmp_path / "pred"
    args = ["predict", "--model", str(untrained_model), str(d / "train/images")]
    assert main([*args, "--out", str(out), "--scribbles", str(d / "train/scribbles")]) == 0
    assert capsys.readouterr().out.count("with its scribbles") == 3
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    for i in range(3):
        scr = np.asarray(nib.load(d / f"train/scribbles/c{i}.nii.gz").dataobj)
        truth = np.asarray(nib.load(d / f"train/masks/c{i}.nii.gz").dataobj)
        fused = np.asarray(nib.load(out / f"c{i}.nii.gz").dataobj)
        plain = np.asarray(nib.load(tmp_path / "plain" / f"c{i}.nii.gz").dataobj)
        assert (fused[scr > 0] == scr[scr > 0] - 1).all()
        assert dice_per_class(fused, truth, 3)[1:].mean() > dice_per_class(plain, truth, 3)[1:].mean()
    # the scribbles are inputs: predicting into their folder is refused even with --overwrite
    before = (d / "train/scribbles/c0.nii.gz").read_bytes()
    rc = main(
        [*args, "--out", str(d / "train/scribbles"), "--scribbles", str(d / "train/scribbles"), "--overwrite"]
    )
    assert rc == 1 and (d / "train/scribbles/c0.nii.gz").read_bytes() == before
