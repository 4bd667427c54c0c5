"""Clinical files through the CLI: a DICOM series trained on and segmented into DICOM-SEG, NRRD in and
``.seg.nrrd`` out, MetaImage in and NIfTI out, cine frames, folders with several series."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.cli import main

pytest.importorskip("SimpleITK")
nrrd = pytest.importorskip("nrrd")

CLASSES = "background,ring,disk"


def _phantom(shape=(16, 16, 6), seed=0) -> tuple[np.ndarray, np.ndarray]:
    """An MR-like int16 image (a bright disk in a dark ring) and its mask."""
    rng = np.random.default_rng(seed)
    xx, yy = np.mgrid[: shape[0], : shape[1]]
    d = np.hypot(xx - shape[0] / 2 + 0.5, yy - shape[1] / 2 + 0.5)
    mask2d = np.where(d < 3.2, 2, np.where(d < 5.5, 1, 0)).astype(np.uint8)
    mask = np.repeat(mask2d[..., None], shape[2], axis=2)
    image = np.where(mask == 2, 900, np.where(mask == 1, 150, 450)) + rng.normal(0, 30, shape)
    return image.astype(np.int16), mask


def _scribbles(mask: np.ndarray) -> np.ndarray:
    """Dense scribbles (scribble encoding) on two slices."""
    s = np.zeros(mask.shape, np.uint8)
    for z in (1, mask.shape[2] - 2):
        s[..., z] = mask[..., z] + 1
    return s


def test_dicom_series_train_predict_dicom_seg(tmp_path, sitk_image, write_dicom_series, tiny_args):
    hd = pytest.importorskip("highdicom")
    pydicom = pytest.importorskip("pydicom")
    image, mask = _phantom()
    series = tmp_path / "images" / "case01"
    write_dicom_series(series, sitk_image(image, (1.5, 1.5, 6.0), (-20.0, -30.0, 15.0)))
    vol = io.read_image(series)
    io.write_labels(tmp_path / "scribbles" / "case01.nii.gz", _scribbles(mask), vol, kind="scribbles")
    model = tmp_path / "model"
    args = ["train", str(tmp_path / "images"), "--scribbles", str(tmp_path / "scribbles"), "--method", "pce"]
    assert main([*args, "--classes", CLASSES, "--out", str(model), *tiny_args]) == 0
    out = tmp_path / "pred"
    assert main(["predict", "--model", str(model), "--out", str(out), str(tmp_path / "images")]) == 0
    seg_file = out / "case01.dcm"  # DICOM in -> DICOM-SEG out
    assert sorted(p.name for p in out.iterdir()) == ["case01.dcm"] and io.is_own_output(seg_file)
    seg = hd.seg.segread(str(seg_file))
    uids = [pydicom.dcmread(str(f)).SOPInstanceUID for f in vol.source.files]
    pixels = seg.get_pixels_by_source_instance(uids, combine_segments=True).transpose(2, 1, 0)
    ours = io.read_labels(seg_file, kind="mask", n_classes=3, reference=vol)
    assert np.array_equal(ours.data, pixels) and pixels.shape == mask.shape
    assert [seg.get_segment_description(k).segment_label for k in (1, 2)] == ["ring", "disk"]
    # again: its own output is replaced without --overwrite; other formats on request
    assert main(["predict", "--model", str(model), "--out", str(out), str(series)]) == 0
    for fmt, files in (("nifti", ["case01.labels.txt", "case01.json", "case01.nii.gz"]), ("seg.nrrd", [])):
        dest = tmp_path / fmt
        assert main(["predict", "--model", str(model), "--out", str(dest), "--format", fmt, str(series)]) == 0
        names = sorted(p.name for p in dest.iterdir())
        assert names == sorted(files or ["case01.seg.nrrd"])
        back = io.read_labels(dest / names[-1 if fmt == "nifti" else 0], kind="mask", reference=vol)
        assert np.array_equal(back.data, pixels)


def test_nrrd_and_metaimage_in_seg_nrrd_and_nifti_out(tmp_path, sitk_image, capsys):
    import SimpleITK as sitk

    image, mask = _phantom(seed=1)
    direction = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]], float)
    (tmp_path / "images").mkdir()
    for name in ("a.nrrd", "b.mha"):
        sitk.WriteImage(
            sitk_image(image, (1.2, 1.2, 5.0), (10.0, 20.0, -5.0), direction), str(tmp_path / "images" / name)
        )
        ref = io.read_image(tmp_path / "images" / name)
        io.write_mask(
            tmp_path / "scribbles" / f"{name[0]}.seg.nrrd",
            _scribbles(mask),
            ref,
            class_names=CLASSES.split(","),
            kind="scribbles",
        )
    out = tmp_path / "pred"
    args = [
        "propagate",
        str(tmp_path / "images"),
        "--scribbles",
        str(tmp_path / "scribbles"),
        "--out",
        str(out),
    ]
    assert main([*args, "--classes", CLASSES]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["a.seg.nrrd", "b.json", "b.labels.txt", "b.nii.gz"]
    data, header = nrrd.read(str(out / "a.seg.nrrd"))
    assert header["Segment0_Name"] == "ring" and header["Segment1_Name"] == "disk"
    assert (data == mask).mean() > 0.9
    for name, result in (("a.nrrd", "a.seg.nrrd"), ("b.mha", "b.nii.gz")):
        ref = io.read_image(tmp_path / "images" / name)
        assert io.read_labels(out / result, kind="mask", reference=ref).shape == mask.shape
        assert io.read_class_names(out / result) == tuple(CLASSES.split(","))
        io.write_labels(tmp_path / "truth" / f"{name[0]}.nii.gz", mask, ref)
    capsys.readouterr()
    assert main(["evaluate", "--pred", str(out), "--truth", str(tmp_path / "truth")]) == 0
    table = capsys.readouterr().out
    assert "ring" in table and "disk" in table  # class names from the .seg.nrrd and the sidecar


def test_4d_cine_needs_a_frame(tmp_path, tiny_args, capsys):
    image, mask = _phantom(seed=2)
    frames = np.stack([image * (1 + 0.1 * t) for t in range(3)], axis=-1).astype(np.float32)
    import nibabel as nib

    (tmp_path / "images").mkdir()
    nib.save(nib.Nifti1Image(frames, np.diag([1.5, 1.5, 6, 1])), str(tmp_path / "images" / "cine.nii.gz"))
    ref = io.read_image(tmp_path / "images" / "cine.nii.gz", frame=1)
    io.write_labels(tmp_path / "scribbles" / "cine.nii.gz", _scribbles(mask), ref, kind="scribbles")
    base = [
        "propagate",
        str(tmp_path / "images"),
        "--scribbles",
        str(tmp_path / "scribbles"),
        "--classes",
        CLASSES,
    ]
    assert main([*base, "--out", str(tmp_path / "p")]) == 1
    err = capsys.readouterr().err
    assert "cine.nii.gz: is 4D with 3 frames" in err and "--frame N" in err
    assert main([*base, "--out", str(tmp_path / "p"), "--frame", "1"]) == 0
    side = io.read_sidecar_content(tmp_path / "p" / "cine.nii.gz")
    assert side["frame"] == 1
    train = ["train", str(tmp_path / "images"), "--scribbles", str(tmp_path / "scribbles"), "--method", "pce"]
    assert main([*train, "--classes", CLASSES, "--out", str(tmp_path / "m"), "--frame", "2", *tiny_args]) == 0
    pred = ["predict", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "q"), "--frame", "0"]
    assert main([*pred, str(tmp_path / "images")]) == 0
    assert io.read_labels(tmp_path / "q" / "cine.nii.gz", kind="mask").shape == mask.shape


def test_several_series_and_wrong_formats_fail_before_any_work(
    tmp_path, sitk_image, write_dicom_series, untrained_model, capsys, monkeypatch
):
    image, _ = _phantom(seed=3)
    study = tmp_path / "study"
    uid_a = write_dicom_series(study, sitk_image(image, (1.5, 1.5, 6.0), (0, 0, 0)), description="first")
    write_dicom_series(
        tmp_path / "other", sitk_image(image, (1.5, 1.5, 6.0), (0, 0, 0)), description="second"
    )
    for f in (tmp_path / "other").iterdir():
        f.rename(study / f"X{f.name}")
    out = tmp_path / "pred"
    predict = ["predict", "--model", str(untrained_model), "--out", str(out)]
    assert main([*predict, str(study)]) == 1
    err = capsys.readouterr().err
    assert "study: holds 2 DICOM series; choose one with --series UID" in err and uid_a in err
    assert not out.exists()
    monkeypatch.setitem(sys.modules, "highdicom", None)  # the dicom extra missing
    assert main([*predict, str(study), "--series", uid_a]) == 1
    assert "pip install 'napari-scribbleseg[dicom]'" in capsys.readouterr().err and not out.exists()
    assert main([*predict, str(study), "--series", uid_a, "--format", "nifti"]) == 0
    assert (out / "study.nii.gz").is_file() and (out / "study.labels.txt").is_file()
    io.save_nifti(tmp_path / "nii" / "c.nii.gz", image.astype(np.float32), np.diag([1.5, 1.5, 6, 1]))
    assert main([*predict, str(tmp_path / "nii"), "--format", "dicom-seg"]) == 1
    assert "c.nii.gz: DICOM-SEG output needs a DICOM series as input" in capsys.readouterr().err
    (out / "c.seg.nrrd").write_bytes(b"my own segmentation")  # not ours: kept without --overwrite
    assert main([*predict, str(tmp_path / "nii"), "--format", "seg.nrrd"]) == 1
    assert "c.seg.nrrd: already exists and was not written by scribbleseg" in capsys.readouterr().err
    assert (out / "c.seg.nrrd").read_bytes() == b"my own segmentation"
