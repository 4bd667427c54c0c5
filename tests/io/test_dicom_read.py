"""DICOM series: choosing one of several, cine frames, broken stacks, limits; every error names the folder."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError

pytest.importorskip("SimpleITK")


def _volume(seed: int, shape=(10, 8, 5)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 900, size=shape).astype(np.int16)


def test_a_folder_with_several_series_lists_them_and_lets_the_user_choose(
    tmp_path, sitk_image, write_dicom_series
):
    folder = tmp_path / "study"
    a, b = _volume(0), _volume(1)
    uid_a = write_dicom_series(folder, sitk_image(a, (1, 1, 3), (0, 0, 0)), description="T2 axial")
    uid_b = write_dicom_series(
        folder / "tmp", sitk_image(b, (1, 1, 3), (5, 0, 0)), description="cine SAX", modality="MR"
    )
    for f in (folder / "tmp").iterdir():  # same folder, other file names
        f.rename(folder / f"B{f.name}")
    (folder / "tmp").rmdir()
    with pytest.raises(DataError) as err:
        io.read_image(folder)
    text = str(err.value)
    assert "study: holds 2 DICOM series; choose one with --series UID" in text
    assert uid_a in text and uid_b in text and "T2 axial" in text and "cine SAX" in text and "5 files" in text
    assert np.array_equal(io.read_image(folder, series=uid_b).data, b)
    assert np.array_equal(io.read_image(folder / "IM00003.dcm").data, a)  # a file picks its series
    assert np.array_equal(io.read_image(folder / "BIM00002.dcm").data, b)
    with pytest.raises(DataError, match=r"study: has no image series 1\.2\.3; its series are:\n"):
        io.read_image(folder, series="1.2.3")
    with pytest.raises(DataError, match=r"IM00001.dcm: belongs to series .*, not to the series 1\.2\.3"):
        io.read_image(folder / "IM00001.dcm", series="1.2.3")


def test_cine_series_reads_one_frame(tmp_path, sitk_image, write_dicom_series):
    frames = [_volume(t) for t in range(3)]
    images = [sitk_image(f, (1.5, 1.5, 8), (-10, 20, 30)) for f in frames]
    write_dicom_series(tmp_path / "cine", images)
    with pytest.raises(DataError, match=r"cine: is 4D with 3 frames .*--frame N"):
        io.read_image(tmp_path / "cine")
    assert io.count_frames(tmp_path / "cine") == 3
    vol = io.read_image(tmp_path / "cine", frame=1)
    assert np.array_equal(vol.data, frames[1]) and vol.source.frame == 1 and len(vol.source.files) == 5
    all_frames = io.read_image_frames(tmp_path / "cine")
    assert [np.array_equal(v.data, f) for v, f in zip(all_frames, frames)] == [True] * 3
    assert all(np.allclose(v.affine, vol.affine) for v in all_frames)


def test_a_missing_slice_is_refused(tmp_path, sitk_image, write_dicom_series):
    write_dicom_series(tmp_path / "gap", sitk_image(_volume(0, (8, 8, 6)), (1, 1, 2), (0, 0, 0)))
    (tmp_path / "gap" / "IM00003.dcm").unlink()
    with pytest.raises(
        DataError, match=r"gap: the slices are unevenly spaced \(gaps from 2.000 to 4.000 mm\)"
    ):
        io.read_image(tmp_path / "gap")


def test_mixed_orientations_are_refused(tmp_path, sitk_image, write_dicom_series):
    folder = tmp_path / "mixed"
    uid = write_dicom_series(folder, sitk_image(_volume(0, (8, 8, 3)), (1, 1, 2), (0, 0, 0)))
    tilted = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)  # a coronal localiser in the series
    write_dicom_series(
        tmp_path / "loc", sitk_image(_volume(1, (8, 8, 1)), (1, 1, 2), (0, 0, 50), tilted), series_uid=uid
    )
    (tmp_path / "loc" / "IM00001.dcm").rename(folder / "LOC.dcm")
    with pytest.raises(DataError, match=r"mixed: the slices have different orientations"):
        io.read_image(folder)


def test_limits_apply_before_the_pixels_are_read(tmp_path, sitk_image, write_dicom_series, monkeypatch):
    write_dicom_series(tmp_path / "ct", sitk_image(_volume(0, (8, 8, 4)), (0.5, 0.5, 1), (0, 0, 0)))
    monkeypatch.setenv("SCRIBBLESEG_MAX_VOXELS", "200")
    with pytest.raises(
        DataError, match=r"ct: the header declares 8 x 8 x 4 = 256 voxels, over the limit of 200"
    ):
        io.read_image(tmp_path / "ct")
    monkeypatch.delenv("SCRIBBLESEG_MAX_VOXELS")
    monkeypatch.setenv("SCRIBBLESEG_MIN_SPACING_MM", "0.8")
    with pytest.raises(
        DataError, match=r"ct: voxel spacing \(0.5, 0.5, 1\) mm is outside the accepted range"
    ):
        io.read_image(tmp_path / "ct")


def test_a_dicom_folder_is_not_labels_and_a_segmentation_is_not_an_image(
    tmp_path, sitk_image, write_dicom_series
):
    write_dicom_series(tmp_path / "mr", sitk_image(_volume(0, (8, 8, 3)), (1, 1, 2), (0, 0, 0)))
    with pytest.raises(DataError, match=r"mr: is a DICOM image series, not labels"):
        io.read_labels(tmp_path / "mr", kind="mask")
    write_dicom_series(
        tmp_path / "seg", sitk_image(_volume(0, (8, 8, 1)), (1, 1, 2), (0, 0, 0)), modality="SEG"
    )
    with pytest.raises(DataError, match=r"IM00001.dcm: is a DICOM SEG object, not an image \(a segmentation"):
        io.read_image(tmp_path / "seg" / "IM00001.dcm")
    with pytest.raises(DataError, match=r"seg: holds no DICOM image series"):
        io.read_image(tmp_path / "seg")
    (tmp_path / "fake.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x01" * 40)
    with pytest.raises(DataError, match=r"fake.dcm: cannot be read as DICOM"):
        io.read_image(tmp_path / "fake.dcm")
