import numpy as np

from napari_scribbleseg import io
from napari_scribbleseg.cli import main


def test_propagate_writes_a_named_mask_per_image(dataset, capsys):
    out = dataset / "prop"
    rc = main(
        [
            "propagate",
            str(dataset / "train/images"),
            "--scribbles",
            str(dataset / "train/scribbles"),
            "--classes",
            "background,ring,disk",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    for i in range(3):
        truth = io.read_labels(dataset / f"train/masks/c{i}.nii.gz", kind="mask")
        pred = io.read_labels(out / f"c{i}.nii.gz", kind="mask", reference=truth)
        assert np.allclose(pred.affine, truth.affine)
        assert io.read_sidecar(out / f"c{i}.nii.gz") == ("background", "ring", "disk")
        disk_p, disk_t = pred.data == 2, truth.data == 2
        assert 2 * (disk_p & disk_t).sum() / (disk_p.sum() + disk_t.sum()) > 0.8


def test_propagate_never_writes_over_its_scribbles(dataset, capsys):
    before = (dataset / "train/scribbles/c0.nii.gz").read_bytes()
    rc = main(
        [
            "propagate",
            str(dataset / "train/images"),
            "--scribbles",
            str(dataset / "train/scribbles"),
            "--out",
            str(dataset / "train/scribbles"),
        ]
    )
    assert rc == 1
    assert "c0" in capsys.readouterr().err
    assert (dataset / "train/scribbles/c0.nii.gz").read_bytes() == before


def test_propagate_names_an_image_without_scribbles(dataset, capsys):
    (dataset / "empty").mkdir()
    rc = main(
        ["propagate", str(dataset / "test/images"), "--scribbles", str(dataset / "empty"), "--out", "x"]
    )
    assert rc == 1
    assert "no scribbles named c0.nii.gz" in capsys.readouterr().err


def _propagate(dataset, out, *extra):
    args = ["propagate", str(dataset / "train/images"), "--scribbles", str(dataset / "train/scribbles")]
    return main([*args, "--classes", "background,ring,disk", "--out", str(out), *extra])


def test_propagate_fills_convex_structures_but_keeps_the_scribbles(dataset, capsys):
    assert _propagate(dataset, dataset / "plain") == 0
    assert _propagate(dataset, dataset / "hull", "--convex", "ring") == 0
    plain = io.read_labels(dataset / "plain/c0.nii.gz", kind="mask").data
    hull = io.read_labels(dataset / "hull/c0.nii.gz", kind="mask").data
    scr = io.read_labels(dataset / "train/scribbles/c0.nii.gz", kind="scribbles").data
    # the ring's hull is the whole disk: only the disk voxels someone scribbled stay disk
    assert (plain == 2).sum() > 3 * (scr == 3).sum()
    np.testing.assert_array_equal(hull == 2, scr == 3)
    assert ((hull == 1) >= (plain > 0) & (scr != 3)).all()


def test_propagate_names_an_unknown_convex_structure(dataset, capsys):
    assert _propagate(dataset, dataset / "hull", "--convex", "LV") == 1
    assert "convex: 'LV' is not a structure (structures: ring, disk)" in capsys.readouterr().err
    assert not (dataset / "hull").exists()
