from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg.data import io
from napari_scribbleseg.data.io import NiftiVolume
from napari_scribbleseg.errors import DataError, LabelError

SPACING = (1.3, 0.9, 7.5)


def oblique_affine(spacing=SPACING, offset=(-91.5, 12.25, 40.0)) -> np.ndarray:
    """Rotation about two axes, anisotropic spacing and an offset."""
    a, b = np.deg2rad(17.0), np.deg2rad(-31.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    aff = np.eye(4)
    aff[:3, :3] = rz @ rx @ np.diag(spacing)
    aff[:3, 3] = offset
    return aff


def raw_header(path: Path) -> nib.Nifti1Header:
    """The header exactly as stored on disk (nibabel's loaded header hides scl_slope/inter)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        return nib.Nifti1Header.from_fileobj(f)


def make_image(
    path: Path, shape=(12, 10, 5), *, qcode=1, scode=2, dtype=np.int16, slope=None, seed=0
) -> NiftiVolume:
    """Write an oblique image whose qform and sform codes differ, then read it back."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 1000, size=shape).astype(dtype)
    img = nib.Nifti1Image(data, None)
    aff = oblique_affine()
    img.header.set_qform(aff, code=qcode)
    img.header.set_sform(aff, code=scode)
    img.header.set_xyzt_units("mm", "sec")
    if slope is not None:
        img.header.set_slope_inter(*slope)
    nib.save(img, str(path))
    return io.read_image(path)


def save_raw(path: Path, data: np.ndarray, affine=None) -> Path:
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


# ------------------------------------------------------------------------------------------------------
# names, listing, pairing
# ------------------------------------------------------------------------------------------------------


def test_case_name():
    assert io.case_name("/a/b/case01.nii.gz") == "case01"
    assert io.case_name("case02.nii") == "case02"
    assert io.case_name(Path("x.y.NII.GZ")) == "x.y"


def test_list_nifti_files_and_folders(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for name in ("b.nii.gz", "a.nii", "notes.txt", ".hidden.nii.gz"):
        (d / name).write_bytes(b"")
    extra = tmp_path / "c.nii.gz"
    extra.write_bytes(b"")
    out = io.list_nifti([extra, d, d / "a.nii"])
    assert [p.name for p in out] == ["a.nii", "b.nii.gz", "c.nii.gz"]


def test_list_nifti_errors(tmp_path):
    with pytest.raises(DataError, match=r"images: .*nope does not exist"):
        io.list_nifti([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"folder .*empty contains no NIfTI file"):
        io.list_nifti([empty])
    txt = empty / "readme.txt"
    with pytest.raises(DataError, match=r"masks: .*readme.txt is not a NIfTI file"):
        io.list_nifti([txt], what="masks")
    with pytest.raises(DataError, match="no file or folder given"):
        io.list_nifti([])
    (empty / "case1.nii").write_bytes(b"")
    (empty / "case1.nii.gz").write_bytes(b"")
    with pytest.raises(DataError, match="share a case name.*case1"):
        io.list_nifti([empty])


def test_pair_by_name(tmp_path):
    imgs = tmp_path / "images"
    scr = tmp_path / "scribbles"
    imgs.mkdir()
    scr.mkdir()
    for n in ("case01.nii.gz", "case02.nii.gz", "case03.nii"):
        (imgs / n).write_bytes(b"")
    (scr / "case01.nii.gz").write_bytes(b"")
    (scr / "case02.nii").write_bytes(b"")  # .nii partner of a .nii.gz image
    images = io.list_nifti([imgs])
    pairs = io.pair_by_name(images, scr, required=False)
    assert pairs == [scr / "case01.nii.gz", scr / "case02.nii", None]
    with pytest.raises(DataError, match=r"scribbles: no file in .*scribbles for 1 of 3 image\(s\): case03"):
        io.pair_by_name(images, scr)
    with pytest.raises(DataError, match="scribbles: .*case01.nii.gz is the image itself"):
        io.pair_by_name(images, imgs)
    with pytest.raises(DataError, match="masks: the folder .*missing does not exist"):
        io.pair_by_name(images, tmp_path / "missing", what="masks")


# ------------------------------------------------------------------------------------------------------
# reading images
# ------------------------------------------------------------------------------------------------------


def test_read_image_geometry_and_scaling(tmp_path):
    vol = make_image(tmp_path / "img.nii.gz", slope=(2.0, -5.0))
    assert vol.data.dtype == np.float32
    assert vol.shape == (12, 10, 5)
    np.testing.assert_allclose(vol.spacing, SPACING, rtol=1e-6)
    np.testing.assert_allclose(vol.affine, oblique_affine(), atol=1e-4)
    assert vol.affine.dtype == np.float64
    raw = np.asarray(nib.load(str(tmp_path / "img.nii.gz")).dataobj.get_unscaled())
    np.testing.assert_allclose(vol.data, raw * 2.0 - 5.0)
    assert vol.path == tmp_path / "img.nii.gz"
    assert "shape=(12, 10, 5)" in repr(vol)


def test_read_image_squeezes_trailing_singleton(tmp_path):
    p = save_raw(tmp_path / "t.nii.gz", np.ones((4, 5, 6, 1), np.float32))
    vol = io.read_image(p)
    assert vol.shape == (4, 5, 6)
    assert tuple(vol.header.get_data_shape()) == (4, 5, 6)


def test_like_keeps_geometry(tmp_path):
    vol = make_image(tmp_path / "img.nii.gz")
    other = vol.like(np.zeros(vol.shape, np.uint8))
    assert other.shape == vol.shape and other.path == vol.path
    np.testing.assert_array_equal(other.affine, vol.affine)
    with pytest.raises(DataError, match="does not fit"):
        vol.like(np.zeros((2, 2, 2)))


def test_read_image_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere.nii.gz: file not found"):
        io.read_image(tmp_path / "nothere.nii.gz")


def test_read_image_garbage_file(tmp_path):
    p = tmp_path / "garbage.nii.gz"
    p.write_bytes(b"this is not a nifti file at all" * 20)
    with pytest.raises(DataError, match=r"garbage.nii.gz: cannot be read as NIfTI"):
        io.read_image(p)
    q = tmp_path / "garbage.nii"
    q.write_bytes(bytes(range(256)) * 3)
    with pytest.raises(DataError, match=r"garbage.nii: cannot be read as NIfTI"):
        io.read_image(q)


def test_read_image_truncated_file(tmp_path):
    p = save_raw(tmp_path / "trunc.nii", np.ones((20, 20, 20), np.float32))
    p.write_bytes(p.read_bytes()[:2000])
    with pytest.raises(DataError, match=r"trunc.nii: the image data cannot be read"):
        io.read_image(p)


def test_read_image_4d(tmp_path):
    p = save_raw(tmp_path / "cine.nii.gz", np.zeros((4, 5, 6, 3), np.float32))
    with pytest.raises(DataError, match=r"cine.nii.gz: is 4D with 3 volumes .*Extract one"):
        io.read_image(p)


def test_read_image_2d(tmp_path):
    p = save_raw(tmp_path / "flat.nii.gz", np.zeros((8, 9), np.float32))
    with pytest.raises(DataError, match=r"flat.nii.gz: is 2D \(shape \(8, 9\)\); a 3D volume is needed"):
        io.read_image(p)


def test_read_image_nan_inf(tmp_path):
    data = np.ones((4, 5, 6), np.float32)
    data[0, 0, :3] = np.nan
    data[1, 1, 1] = np.inf
    p = save_raw(tmp_path / "nan.nii.gz", data)
    with pytest.raises(DataError, match=r"nan.nii.gz: 4 of 120 voxels have non-finite .*3 NaN, 1 Inf"):
        io.read_image(p)


def test_read_image_empty(tmp_path):
    p = save_raw(tmp_path / "empty.nii", np.zeros((4, 0, 6), np.float32))
    with pytest.raises(DataError, match=r"empty.nii: the volume is empty"):
        io.read_image(p)


def test_read_image_folder(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        io.read_image(tmp_path)


# ------------------------------------------------------------------------------------------------------
# reading labels
# ------------------------------------------------------------------------------------------------------


def test_read_labels_checks_against_reference(tmp_path):
    img = make_image(tmp_path / "img.nii.gz")
    scr = np.zeros(img.shape, np.uint8)
    scr[2:4, 2:4, 1] = 1
    scr[6, 6, 2] = 3
    io.write_labels(tmp_path / "s" / "img.nii.gz", scr, img)
    vol = io.read_labels(tmp_path / "s" / "img.nii.gz", kind="scribbles", n_classes=3, reference=img)
    np.testing.assert_array_equal(vol.data, scr)
    assert np.issubdtype(vol.data.dtype, np.integer)


def test_read_labels_shape_mismatch(tmp_path):
    img = make_image(tmp_path / "img.nii.gz")
    p = save_raw(tmp_path / "scr.nii.gz", np.ones((12, 10, 4), np.uint8), oblique_affine())
    with pytest.raises(
        DataError,
        match=r"scribbles .*scr.nii.gz has shape \(12, 10, 4\) but the image .*img.nii.gz "
        r"has shape \(12, 10, 5\)",
    ):
        io.read_labels(p, kind="scribbles", reference=img)


def test_read_labels_affine_mismatch(tmp_path):
    img = make_image(tmp_path / "img.nii.gz")
    shifted = oblique_affine(offset=(-91.5, 12.25, 42.0))
    p = save_raw(tmp_path / "scr.nii.gz", np.ones(img.shape, np.uint8), shifted)
    with pytest.raises(
        DataError, match=r"(?s)scr.nii.gz and the image .*img.nii.gz have different affines.*42\."
    ):
        io.read_labels(p, kind="scribbles", reference=img)
    # a difference below the tolerance passes
    close = oblique_affine(offset=(-91.5, 12.25, 40.0002))
    q = save_raw(tmp_path / "ok.nii.gz", np.ones(img.shape, np.uint8), close)
    io.read_labels(q, kind="scribbles", reference=img)


def test_affines_match_rotation_tolerance():
    a = oblique_affine()
    b = a.copy()
    b[:3, :3] = oblique_affine(spacing=SPACING)[:3, :3] @ np.array(
        [[1, 0, 0], [0, np.cos(1e-3), -np.sin(1e-3)], [0, np.sin(1e-3), np.cos(1e-3)]]
    )
    c = a.copy()
    c[:3] += 1e-5
    assert io.affines_match(a, c)
    assert not io.affines_match(a, b)


def test_read_labels_no_annotation(tmp_path):
    p = save_raw(tmp_path / "blank.nii.gz", np.zeros((4, 5, 6), np.uint8))
    with pytest.raises(LabelError, match=r"blank.nii.gz: the scribbles contain no annotated voxel"):
        io.read_labels(p, kind="scribbles", n_classes=4)
    with pytest.raises(DataError, match=r"blank.nii.gz: the scribbles contain no annotated voxel"):
        io.read_labels(p, kind="scribbles")
    # the same all-zero file is a valid mask (all background)
    assert io.read_labels(p, kind="mask", n_classes=4).data.max() == 0


def test_read_labels_value_outside_classes(tmp_path):
    data = np.zeros((4, 5, 6), np.uint8)
    data[0, 0, 0] = 1
    data[1, 1, 1] = 5
    p = save_raw(tmp_path / "s.nii.gz", data)
    with pytest.raises(DataError, match=r"s.nii.gz: scribbles value\(s\) \[5\] outside the class list of 4"):
        io.read_labels(p, kind="scribbles", n_classes=4)
    data[1, 1, 1] = 4  # valid scribble (structure 3) but invalid mask value
    p = save_raw(tmp_path / "m.nii.gz", data)
    io.read_labels(p, kind="scribbles", n_classes=4)
    with pytest.raises(DataError, match=r"m.nii.gz: mask value\(s\) \[4\] outside the class list of 4"):
        io.read_labels(p, kind="mask", n_classes=4)


def test_read_labels_negative(tmp_path):
    p = save_raw(tmp_path / "neg.nii.gz", np.full((4, 5, 6), -1, np.int16))
    with pytest.raises(DataError, match="neg.nii.gz: mask hold negative values"):
        io.read_labels(p, kind="mask")


def test_read_labels_raw_values_not_rescaled(tmp_path):
    # A label file saved with nibabel's automatic scaling of float data: raw ints + slope.
    data = np.zeros((4, 5, 6), np.int16)
    data[0, 0, 0] = 3
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_slope_inter(1.0, 0.0)
    nib.save(img, str(tmp_path / "plain.nii.gz"))
    vol = io.read_labels(tmp_path / "plain.nii.gz", kind="mask", n_classes=4)
    assert vol.data.dtype == np.int16 and vol.data[0, 0, 0] == 3
    # a whole-number scaling is applied...
    img.header.set_slope_inter(2.0, 1.0)
    nib.save(img, str(tmp_path / "scaled.nii.gz"))
    vol = io.read_labels(tmp_path / "scaled.nii.gz", kind="mask", n_classes=8)
    assert np.issubdtype(vol.data.dtype, np.integer)
    assert vol.data[0, 0, 0] == 7 and vol.data[1, 1, 1] == 1
    # ...a fractional one is refused
    img.header.set_slope_inter(0.5, 0.0)
    nib.save(img, str(tmp_path / "frac.nii.gz"))
    with pytest.raises(
        DataError, match=r"frac.nii.gz: label values must be whole numbers after applying scl_slope=0.5"
    ):
        io.read_labels(tmp_path / "frac.nii.gz", kind="mask")


def test_read_labels_float_stored(tmp_path):
    data = np.zeros((4, 5, 6), np.float32)
    data[1, 2, 3] = 2.0
    p = save_raw(tmp_path / "f.nii.gz", data)
    vol = io.read_labels(p, kind="mask", n_classes=3)
    assert vol.data.dtype == np.uint8 and vol.data[1, 2, 3] == 2
    data[0, 0, 0] = 0.5
    p = save_raw(tmp_path / "g.nii.gz", data)
    with pytest.raises(DataError, match=r"g.nii.gz: label values must be whole numbers"):
        io.read_labels(p, kind="mask")


# ------------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("qcode", "scode"), [(1, 2), (2, 0), (0, 4)])
@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_write_labels_round_trip(tmp_path, qcode, scode, suffix):
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
    np.testing.assert_allclose(back.spacing, SPACING, rtol=1e-6)


def test_write_labels_uint16(tmp_path):
    ref = make_image(tmp_path / "img.nii.gz")
    labels = np.zeros(ref.shape, np.int32)
    labels[1, 1, 1] = 300
    out = io.write_labels(tmp_path / "big.nii.gz", labels, ref)
    assert nib.load(str(out)).get_data_dtype() == np.uint16
    hdr = raw_header(out)
    assert float(hdr["scl_slope"]) == 1.0 and float(hdr["scl_inter"]) == 0.0
    assert io.read_labels(out, kind="mask").data[1, 1, 1] == 300


def test_write_labels_sidecar(tmp_path):
    ref = make_image(tmp_path / "case07.nii.gz")
    labels = np.zeros(ref.shape, np.uint8)
    labels[2, 2, 2] = 2
    out = io.write_labels(
        tmp_path / "pred" / "case07.nii.gz", labels, ref, class_names=("background", "RV", "LV")
    )
    side = tmp_path / "pred" / "case07.json"
    assert json.loads(side.read_text()) == {
        "encoding": "mask",
        "classes": {"0": "background", "1": "RV", "2": "LV"},
        "source": "case07.nii.gz",
    }
    assert io.read_sidecar(out) == ("background", "RV", "LV")
    mem = NiftiVolume(ref.data, ref.affine, ref.header)  # no source file
    io.write_labels(tmp_path / "pred" / "mem.nii", labels, mem, class_names=("background", "RV", "LV"))
    assert json.loads((tmp_path / "pred" / "mem.json").read_text())["source"] is None
    assert io.read_sidecar(tmp_path / "pred" / "nosidecar.nii.gz") is None
    (tmp_path / "pred" / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json: the class-name sidecar cannot be read"):
        io.read_sidecar(tmp_path / "pred" / "bad.nii.gz")


def test_write_labels_checks_values_against_class_names(tmp_path):
    ref = make_image(tmp_path / "img.nii.gz")
    labels = np.zeros(ref.shape, np.uint8)
    labels[0, 0, 0] = 3
    with pytest.raises(LabelError, match=r"out.nii.gz: mask value\(s\) \[3\] outside the class list of 3"):
        io.write_labels(tmp_path / "out.nii.gz", labels, ref, class_names=("bg", "a", "b"))
    assert not (tmp_path / "out.nii.gz").exists()


def test_write_is_atomic_no_temp_left(tmp_path):
    ref = make_image(tmp_path / "img.nii.gz")
    out_dir = tmp_path / "out"
    io.write_labels(out_dir / "a.nii.gz", np.zeros(ref.shape, np.uint8), ref, class_names=("bg", "x"))
    io.write_image(out_dir / "u.nii.gz", np.zeros(ref.shape), ref)
    # overwrite an existing output in place
    io.write_labels(out_dir / "a.nii.gz", np.ones(ref.shape, np.uint8), ref, class_names=("bg", "x"))
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.json", "a.nii.gz", "u.nii.gz"]
    assert io.read_labels(out_dir / "a.nii.gz", kind="mask").data.min() == 1


def test_failed_write_leaves_no_temp(tmp_path, monkeypatch):
    ref = make_image(tmp_path / "img.nii.gz")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "a.nii.gz").write_bytes(b"previous")

    def boom(img, filename):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(io.nib, "save", boom)
    with pytest.raises(DataError, match="a.nii.gz: cannot write the file: OSError: disk full"):
        io.write_labels(out_dir / "a.nii.gz", np.zeros(ref.shape, np.uint8), ref)
    assert [p.name for p in out_dir.iterdir()] == ["a.nii.gz"]
    assert (out_dir / "a.nii.gz").read_bytes() == b"previous"


def test_write_refuses_inputs(tmp_path):
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


def test_write_shape_mismatch(tmp_path):
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


def test_write_image_round_trip(tmp_path):
    ref = make_image(tmp_path / "img.nii.gz", qcode=1, scode=2)
    unc = np.random.default_rng(1).random(ref.shape)
    out = io.write_image(tmp_path / "unc.nii.gz", unc, ref)
    back = io.read_image(out)
    assert nib.load(str(out)).get_data_dtype() == np.float32
    np.testing.assert_allclose(back.data, unc.astype(np.float32))
    hdr = raw_header(out)
    assert (int(hdr["qform_code"]), int(hdr["sform_code"])) == (1, 2)
    np.testing.assert_allclose(back.affine, ref.affine, atol=1e-6)


def test_modified_affine_is_written(tmp_path):
    ref = make_image(tmp_path / "img.nii.gz", qcode=1, scode=2)
    moved = ref.affine.copy()
    moved[:3, 3] += 5.0
    vol = NiftiVolume(ref.data, moved, ref.header, ref.path)
    out = io.write_labels(tmp_path / "m.nii.gz", np.zeros(ref.shape, np.uint8), vol)
    loaded = nib.load(str(out))
    np.testing.assert_allclose(loaded.affine, moved, atol=1e-4)
    assert (int(loaded.header["qform_code"]), int(loaded.header["sform_code"])) == (1, 2)


def test_save_nifti(tmp_path):
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
        tmp_path / "img.nii", np.ones((6, 7, 3)), oblique_affine(spacing=(1, 1, 1)), spacing=SPACING
    )
    vol = io.read_image(q)
    assert nib.load(str(q)).get_data_dtype() == np.float32
    np.testing.assert_allclose(vol.affine, oblique_affine(), atol=1e-5)
    np.testing.assert_allclose(vol.spacing, SPACING, rtol=1e-6)
    assert [f.name for f in (tmp_path / "new").iterdir()] == ["lab.nii.gz"]


def test_from_array_in_memory_volume(tmp_path):
    aff = oblique_affine(spacing=(1, 1, 1))
    vol = NiftiVolume.from_array(np.zeros((6, 7, 3), bool), aff, spacing=SPACING)
    assert vol.path is None
    np.testing.assert_allclose(vol.spacing, SPACING, rtol=1e-6)
    np.testing.assert_allclose(vol.affine, oblique_affine(), atol=1e-12)
    labels = np.zeros(vol.shape, np.uint8)
    labels[1, 1, 1] = 2
    out = io.write_labels(tmp_path / "m.nii.gz", labels, vol, class_names=("bg", "a", "b"))
    back = io.read_labels(out, kind="mask", n_classes=3)
    np.testing.assert_allclose(back.affine, oblique_affine(), atol=1e-4)
    hdr = raw_header(out)
    assert (int(hdr["qform_code"]), int(hdr["sform_code"])) == (1, 1)
    with pytest.raises(DataError, match="spacing must be three positive numbers"):
        NiftiVolume.from_array(np.zeros((2, 2, 2)), spacing=(1.0, 0.0, 1.0))
    with pytest.raises(DataError, match="must be 3D"):
        NiftiVolume.from_array(np.zeros((2, 2)))
