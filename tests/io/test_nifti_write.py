"""Writing labels and images: the reference's geometry kept, atomic, inputs never overwritten."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError, LabelError
from napari_scribbleseg.io import NiftiVolume, nifti_write


@pytest.mark.parametrize(("qcode", "scode"), [(1, 2), (2, 0), (0, 4)])
@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_write_labels_round_trip(
    tmp_path, qcode, scode, suffix, make_image, oblique_affine, raw_header, spacing
):
    # the reference has int16 data with a scaling: none of it may leak into the labels
    ref = make_image(tmp_path / "img.nii.gz", qcode=qcode, scode=scode, slope=(3.0, 7.0))
    labels = np.zeros(ref.shape, np.int64)
    labels[3:7, 2:5, 1:4] = 1
    labels[0, 0, 0] = 3
    labels[11, 9, 4] = 2
    out = io.write_labels(
        tmp_path / "out" / f"img{suffix}", labels, ref, class_names=["bg", "RV", "MYO", "LV"]
    )
    assert out == tmp_path / "out" / f"img{suffix}"
    loaded = nib.load(str(out))
    hdr = raw_header(out)
    assert loaded.get_data_dtype() == np.uint8
    assert float(hdr["scl_slope"]) == 1.0 and float(hdr["scl_inter"]) == 0.0
    assert int(hdr["qform_code"]) == qcode and int(hdr["sform_code"]) == scode
    ref_hdr = raw_header(tmp_path / "img.nii.gz")
    for field in ("quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z", "pixdim"):
        np.testing.assert_array_equal(hdr[field], ref_hdr[field])
    for field in ("srow_x", "srow_y", "srow_z"):
        np.testing.assert_array_equal(hdr[field], ref_hdr[field])
    assert hdr.get_xyzt_units() == ("mm", "sec")
    np.testing.assert_allclose(loaded.affine, ref.affine, atol=1e-6)
    np.testing.assert_allclose(loaded.affine, oblique_affine(), atol=1e-4)
    np.testing.assert_array_equal(np.asarray(loaded.dataobj), labels)
    back = io.read_labels(out, kind="mask", n_classes=4, reference=ref)
    np.testing.assert_array_equal(back.data, labels)
    np.testing.assert_allclose(back.spacing, spacing, rtol=1e-6)


def test_write_labels_uint16(tmp_path, make_image, raw_header):
    ref = make_image(tmp_path / "img.nii.gz")
    labels = np.zeros(ref.shape, np.int32)
    labels[1, 1, 1] = 300
    out = io.write_labels(tmp_path / "big.nii.gz", labels, ref)
    assert nib.load(str(out)).get_data_dtype() == np.uint16
    hdr = raw_header(out)
    assert float(hdr["scl_slope"]) == 1.0 and float(hdr["scl_inter"]) == 0.0
    assert io.read_labels(out, kind="mask").data[1, 1, 1] == 300


def test_write_labels_checks_values_against_class_names(tmp_path, make_image):
    ref = make_image(tmp_path / "img.nii.gz")
    labels = np.zeros(ref.shape, np.uint8)
    labels[0, 0, 0] = 3
    with pytest.raises(LabelError, match=r"out.nii.gz: mask value\(s\) \[3\] outside the class list of 3"):
        io.write_labels(tmp_path / "out.nii.gz", labels, ref, class_names=("bg", "a", "b"))
    assert not (tmp_path / "out.nii.gz").exists()


def test_write_is_atomic_no_temp_left(tmp_path, make_image):
    ref = make_image(tmp_path / "img.nii.gz")
    out_dir = tmp_path / "out"
    io.write_labels(out_dir / "a.nii.gz", np.zeros(ref.shape, np.uint8), ref, class_names=("bg", "x"))
    io.write_image(out_dir / "u.nii.gz", np.zeros(ref.shape), ref)
    # overwrite an existing output in place
    io.write_labels(out_dir / "a.nii.gz", np.ones(ref.shape, np.uint8), ref, class_names=("bg", "x"))
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.json", "a.labels.txt", "a.nii.gz", "u.nii.gz"]
    assert io.read_labels(out_dir / "a.nii.gz", kind="mask").data.min() == 1


def test_failed_write_leaves_no_temp(tmp_path, monkeypatch, make_image):
    ref = make_image(tmp_path / "img.nii.gz")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "a.nii.gz").write_bytes(b"previous")

    def boom(img, filename):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(nifti_write.nib, "save", boom)
    with pytest.raises(DataError, match="a.nii.gz: cannot write the file: OSError: disk full"):
        io.write_labels(out_dir / "a.nii.gz", np.zeros(ref.shape, np.uint8), ref)
    assert [p.name for p in out_dir.iterdir()] == ["a.nii.gz"]
    assert (out_dir / "a.nii.gz").read_bytes() == b"previous"


def test_write_refuses_inputs(tmp_path, make_image):
    ref = make_image(tmp_path / "img.nii.gz")
    before = (tmp_path / "img.nii.gz").read_bytes()
    labels = np.zeros(ref.shape, np.uint8)
    with pytest.raises(DataError, match="img.nii.gz: refusing to overwrite an input file"):
        io.write_labels(tmp_path / "img.nii.gz", labels, ref)
    with pytest.raises(DataError, match="refusing to overwrite an input file"):
        io.write_image(tmp_path / "sub" / ".." / "img.nii.gz", labels, ref)
    other = tmp_path / "other.nii.gz"
    io.save_nifti(other, np.ones(ref.shape, np.float32), ref.affine)
    other_bytes = other.read_bytes()
    with pytest.raises(DataError, match="other.nii.gz: refusing to overwrite an input file"):
        io.write_labels(other, labels, ref, protected=[str(other)])
    side = tmp_path / "side.json"
    side.write_text("keep")
    with pytest.raises(DataError, match="side.json: refusing to overwrite an input file"):
        io.write_labels(tmp_path / "side.nii.gz", labels, ref, class_names=("a", "b"), protected=iter([side]))
    assert side.read_text() == "keep" and not (tmp_path / "side.nii.gz").exists()
    assert (tmp_path / "img.nii.gz").read_bytes() == before
    assert other.read_bytes() == other_bytes


def test_write_shape_mismatch(tmp_path, make_image):
    ref = make_image(tmp_path / "img.nii.gz")
    with pytest.raises(
        DataError, match=r"out.nii.gz: the mask has shape \(3, 3, 3\) but the reference .*img.nii.gz"
    ):
        io.write_labels(tmp_path / "out.nii.gz", np.zeros((3, 3, 3), np.uint8), ref)
    with pytest.raises(DataError, match=r"out.nii.gz: the image has shape \(3, 3, 3\)"):
        io.write_image(tmp_path / "out.nii.gz", np.zeros((3, 3, 3)), ref)
    with pytest.raises(DataError, match="must end with .nii or .nii.gz"):
        io.write_labels(tmp_path / "out.png", np.zeros(ref.shape, np.uint8), ref)
    with pytest.raises(DataError, match="labels must be 0 or more"):
        io.write_labels(tmp_path / "out.nii.gz", np.full(ref.shape, -1), ref)


def test_write_image_round_trip(tmp_path, make_image, raw_header):
    ref = make_image(tmp_path / "img.nii.gz", qcode=1, scode=2)
    unc = np.random.default_rng(1).random(ref.shape)
    out = io.write_image(tmp_path / "unc.nii.gz", unc, ref)
    back = io.read_image(out)
    assert nib.load(str(out)).get_data_dtype() == np.float32
    np.testing.assert_allclose(back.data, unc.astype(np.float32))
    hdr = raw_header(out)
    assert (int(hdr["qform_code"]), int(hdr["sform_code"])) == (1, 2)
    np.testing.assert_allclose(back.affine, ref.affine, atol=1e-6)


def test_modified_affine_is_written(tmp_path, make_image):
    ref = make_image(tmp_path / "img.nii.gz", qcode=1, scode=2)
    moved = ref.affine.copy()
    moved[:3, 3] += 5.0
    vol = NiftiVolume(ref.data, moved, ref.header, ref.path)
    out = io.write_labels(tmp_path / "m.nii.gz", np.zeros(ref.shape, np.uint8), vol)
    loaded = nib.load(str(out))
    np.testing.assert_allclose(loaded.affine, moved, atol=1e-4)
    assert (int(loaded.header["qform_code"]), int(loaded.header["sform_code"])) == (1, 2)


def test_save_nifti(tmp_path, oblique_affine, raw_header, spacing):
    labels = np.zeros((6, 7, 3), np.int64)
    labels[1, 2, 0] = 2
    p = io.save_nifti(tmp_path / "new" / "lab.nii.gz", labels, None, spacing=(1.5, 1.5, 8.0))
    img = nib.load(str(p))
    assert img.get_data_dtype() == np.uint8
    assert (int(img.header["qform_code"]), int(img.header["sform_code"])) == (1, 1)
    np.testing.assert_allclose(img.header.get_zooms(), (1.5, 1.5, 8.0))
    hdr = raw_header(p)
    assert float(hdr["scl_slope"]) == 1.0 and float(hdr["scl_inter"]) == 0.0
    q = io.save_nifti(
        tmp_path / "img.nii", np.ones((6, 7, 3)), oblique_affine(spacing=(1, 1, 1)), spacing=spacing
    )
    vol = io.read_image(q)
    assert nib.load(str(q)).get_data_dtype() == np.float32
    np.testing.assert_allclose(vol.affine, oblique_affine(), atol=1e-5)
    np.testing.assert_allclose(vol.spacing, spacing, rtol=1e-6)
    assert [f.name for f in (tmp_path / "new").iterdir()] == ["lab.nii.gz"]
