"""One geometry convention whatever the format: one volume written by SimpleITK as NIfTI, NRRD, MetaImage
and a DICOM series reads back through ours as the same array and the same world coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError

SITK = pytest.importorskip("SimpleITK")

SPACING = (1.3, 0.9, 7.5)
ORIGIN_LPS = (-91.5, 12.25, 40.0)


def _direction() -> np.ndarray:
    a, b = np.deg2rad(17.0), np.deg2rad(-31.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


@pytest.fixture
def volume(tmp_path, sitk_image, write_dicom_series):
    """One oblique int16 volume written in every format by SimpleITK; returns (array, image, paths)."""
    arr = np.random.default_rng(3).integers(-200, 1200, size=(16, 12, 6)).astype(np.int16)
    image = sitk_image(arr, SPACING, ORIGIN_LPS, _direction())
    paths = {}
    for name in ("vol.nii.gz", "vol.nii", "vol.nrrd", "vol.nhdr", "vol.mha", "vol.mhd"):
        SITK.WriteImage(image, str(tmp_path / name), useCompression=name.endswith(("gz", "nrrd", "mha")))
        paths[name] = tmp_path / name
    write_dicom_series(tmp_path / "dicom" / "vol", image)
    paths["dicom"] = tmp_path / "dicom" / "vol"
    paths["dicom file"] = sorted((tmp_path / "dicom" / "vol").iterdir())[2]
    return arr, image, paths


def _ras(point_lps) -> np.ndarray:
    x, y, z = point_lps
    return np.array([-x, -y, z])


def test_every_format_gives_the_same_array_and_world_coordinates(volume):
    arr, image, paths = volume
    far = [s - 1 for s in image.GetSize()]
    corner0 = _ras(image.TransformIndexToPhysicalPoint((0, 0, 0)))
    corner1 = _ras(image.TransformIndexToPhysicalPoint(far))
    for name, path in paths.items():
        vol = io.read_image(path)
        assert vol.data.dtype == np.float32 and np.array_equal(vol.data, arr), name
        world0 = vol.affine @ [0, 0, 0, 1]
        world1 = vol.affine @ [*far, 1]
        assert np.allclose(world0[:3], corner0, atol=1e-3), name
        assert np.allclose(world1[:3], corner1, atol=1e-3), name
        assert np.allclose(vol.spacing, SPACING, atol=1e-4), name
        assert vol.source.format == io.file_format(path)
    dicom = io.read_image(paths["dicom"])
    assert dicom.path == paths["dicom"] and len(dicom.source.files) == 6
    assert dicom.source.files == tuple(sorted(paths["dicom"].iterdir()))
    assert io.case_name(paths["dicom"]) == "vol" and io.case_name(paths["dicom file"]) == "vol"


def test_labels_from_nrrd_and_metaimage_keep_their_integers(tmp_path, sitk_image):
    mask = np.zeros((8, 7, 3), np.uint8)
    mask[2:5, 1:4, 1] = 2
    mask[0, 0, 0] = 1
    for name in ("seg_a.nrrd", "seg_b.mha"):
        SITK.WriteImage(sitk_image(mask, (1, 1, 2), (0, 0, 0)), str(tmp_path / name))
        lab = io.read_labels(tmp_path / name, kind="mask", n_classes=3)
        assert lab.data.dtype == np.uint8 and np.array_equal(lab.data, mask)
        assert io.label_kind(tmp_path / name) == "mask"
    SITK.WriteImage(
        sitk_image(mask.astype(np.float32) + 0.5, (1, 1, 2), (0, 0, 0)), str(tmp_path / "half.nrrd")
    )
    with pytest.raises(DataError, match=r"half.nrrd: label values must be whole numbers"):
        io.read_labels(tmp_path / "half.nrrd", kind="mask")


def test_4d_nrrd_and_metaimage_read_one_frame(tmp_path):
    data = np.arange(5 * 4 * 3 * 6, dtype=np.float32).reshape(6, 3, 4, 5)  # t, z, y, x
    image = SITK.JoinSeries([SITK.GetImageFromArray(f) for f in data])
    for name in ("cine.nrrd", "cine.mha"):
        SITK.WriteImage(image, str(tmp_path / name))
        with pytest.raises(DataError, match=rf"{name}: is 4D with 6 frames .*--frame N"):
            io.read_image(tmp_path / name)
        vol = io.read_image(tmp_path / name, frame=4)
        assert vol.shape == (5, 4, 3) and np.array_equal(vol.data, data[4].transpose(2, 1, 0))
        assert io.count_frames(tmp_path / name) == 6 and vol.source.frame == 4
        frames = io.read_image_frames(tmp_path / name)
        assert [f.source.frame for f in frames] == list(range(6))
        assert np.array_equal(frames[2].data, data[2].transpose(2, 1, 0))


def test_bad_inputs_name_the_file_and_the_problem(tmp_path, sitk_image):
    (tmp_path / "junk.nrrd").write_bytes(b"NRRD0004\nthis is not a header\n")
    with pytest.raises(DataError, match=r"junk.nrrd: cannot be read as NRRD"):
        io.read_image(tmp_path / "junk.nrrd")
    (tmp_path / "junk.mha").write_bytes(b"\x00\x01garbage")
    with pytest.raises(DataError, match=r"junk.mha: cannot be read as MetaImage"):
        io.read_image(tmp_path / "junk.mha")
    with pytest.raises(DataError, match=r"missing.mha: file not found"):
        io.read_image(tmp_path / "missing.mha")
    rgb = SITK.Image([4, 4, 2], SITK.sitkVectorUInt8, 3)
    SITK.WriteImage(rgb, str(tmp_path / "rgb.nrrd"))
    with pytest.raises(DataError, match=r"rgb.nrrd: has 3 values per voxel"):
        io.read_image(tmp_path / "rgb.nrrd")
    SITK.WriteImage(SITK.Image([4, 4], SITK.sitkInt16), str(tmp_path / "flat.mha"))
    with pytest.raises(DataError, match=r"flat.mha: is 2D"):
        io.read_image(tmp_path / "flat.mha")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"notes.txt: is not a supported volume \(expected NIfTI"):
        io.read_image(tmp_path / "notes.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"empty: is a folder without DICOM files"):
        io.read_image(empty)


def test_limits_apply_to_nrrd_and_metaimage_before_reading(tmp_path, monkeypatch):
    # a 60-byte header that declares 2000^3 voxels, and one that declares 300^3 in a few bytes
    (tmp_path / "huge.nhdr").write_text(
        "NRRD0004\ntype: short\ndimension: 3\nsizes: 2000 2000 2000\nendian: little\nencoding: raw\n"
        "data file: huge.raw\n"
    )
    (tmp_path / "huge.raw").write_bytes(b"\0" * 16)
    with pytest.raises(
        DataError, match=r"huge.nhdr: the header declares 2000 x 2000 x 2000 = .* over the limit"
    ):
        io.read_image(tmp_path / "huge.nhdr")
    (tmp_path / "liar.mha").write_bytes(
        b"ObjectType = Image\nNDims = 3\nDimSize = 300 300 300\nElementType = MET_SHORT\n"
        b"ElementDataFile = LOCAL\n" + b"\0" * 64
    )
    with pytest.raises(
        DataError, match=r"liar.mha: the data cannot be read \(truncated file or wrong header\)"
    ):
        io.read_image(tmp_path / "liar.mha")
    (tmp_path / "thin.mha").write_bytes(
        b"ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 1 1e-05\n"
        b"ElementType = MET_UCHAR\nElementDataFile = LOCAL\n" + b"\0" * 8
    )
    with pytest.raises(DataError, match=r"thin.mha: voxel spacing \(1, 1, 1e-05\) mm .*outside the accepted"):
        io.read_image(tmp_path / "thin.mha")
    monkeypatch.setenv("SCRIBBLESEG_MAX_VOXELS", "100")
    SITK.WriteImage(SITK.Image([8, 8, 8], SITK.sitkInt16), str(tmp_path / "cube.nrrd"))
    with pytest.raises(
        DataError, match=r"cube.nrrd: the header declares 8 x 8 x 8 = 512 voxels.*SCRIBBLESEG_MAX"
    ):
        io.read_image(tmp_path / "cube.nrrd")


def test_listing_and_pairing_accept_every_format(tmp_path, volume):
    _, _, paths = volume
    root = paths["vol.nii.gz"].parent
    found = io.list_volumes([root / "dicom"])
    assert found == [root / "dicom" / "vol"]
    scr = tmp_path / "scribbles"
    scr.mkdir()
    (scr / "vol.seg.nrrd").write_bytes(b"")
    assert io.pair_by_name(found, scr) == [scr / "vol.seg.nrrd"]
    (scr / "vol.nii.gz").write_bytes(b"")
    assert io.pair_by_name(found, scr) == [scr / "vol.nii.gz"]  # NIfTI first
    assert io.case_name("a/b/case7.seg.nrrd") == "case7" and io.case_name("c.MHD") == "c"
    with pytest.raises(DataError, match="share a case name.*vol"):
        io.list_volumes([root])  # vol.nii.gz, vol.nrrd, ... and the DICOM folder are one case
