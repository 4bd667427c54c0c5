"""The plugin's reader and export with clinical formats: DICOM series, 4D frames, .seg.nrrd, DICOM-SEG."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg import io

pytest.importorskip("SimpleITK")

CLASSES = ("background", "RV", "MYO")


@pytest.fixture
def dicom_case(tmp_path, sitk_image, write_dicom_series):
    a = np.deg2rad(20.0)
    direction = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    arr = np.random.default_rng(0).integers(0, 700, size=(12, 10, 4)).astype(np.int16)
    write_dicom_series(tmp_path / "case01", sitk_image(arr, (1.4, 1.4, 8.0), (5.0, -7.0, 30.0), direction))
    return tmp_path / "case01", arr


@pytest.mark.qt
def test_a_dicom_folder_or_its_files_open_as_one_image(dicom_case):
    from napari_scribbleseg._napari.reader import get_reader

    folder, arr = dicom_case
    reader = get_reader(str(folder))
    assert reader is not None
    ((data, kwargs, kind),) = reader(str(folder))
    geom = kwargs["metadata"]["scribbleseg"]["geometry"]
    assert kind == "image" and kwargs["name"] == "case01" and geom.source.format == "dicom"
    np.testing.assert_array_equal(geom.from_napari(data), arr)
    files = sorted(str(f) for f in folder.iterdir())
    assert len(get_reader(files)(files)) == 1  # every file of the series selected: opened once
    assert get_reader(str(folder.parent / "nothing.txt")) is None


@pytest.mark.qt
def test_a_4d_file_opens_one_layer_per_frame(tmp_path, save_volume):
    from napari_scribbleseg._napari.reader import read_volumes

    data = np.random.default_rng(1).normal(size=(6, 5, 4, 3)).astype(np.float32)
    path = save_volume(tmp_path / "cine.nii.gz", data, np.diag([1.5, 1.5, 8.0, 1.0]))
    layers = read_volumes(str(path))
    assert [kw["name"] for _, kw, _ in layers] == ["cine frame 0", "cine frame 1", "cine frame 2"]
    assert [kw["visible"] for _, kw, _ in layers] == [True, False, False]
    geom = layers[2][1]["metadata"]["scribbleseg"]["geometry"]
    np.testing.assert_allclose(geom.from_napari(layers[2][0]), data[..., 2])


@pytest.mark.qt
def test_seg_nrrd_opens_as_labels_with_its_segment_names(tmp_path, dicom_case):
    from napari_scribbleseg._napari.reader import read_volumes

    folder, arr = dicom_case
    vol = io.read_image(folder)
    mask = (arr > 500).astype(np.uint8) + (arr > 650)
    io.write_mask(tmp_path / "out" / "case01.seg.nrrd", mask, vol, class_names=CLASSES)
    ((data, kwargs, kind),) = read_volumes(str(tmp_path / "out" / "case01.seg.nrrd"))
    meta = kwargs["metadata"]["scribbleseg"]
    assert kind == "labels" and meta["kind"] == "mask" and meta["class_names"] == CLASSES
    np.testing.assert_array_equal(meta["geometry"].from_napari(data), mask)


@pytest.mark.qt
def test_export_writes_each_format_on_the_image_grid(tmp_path, dicom_case):
    from napari_scribbleseg._napari.reader import read_volumes
    from napari_scribbleseg._napari.writer import write_labels_nifti

    folder, arr = dicom_case
    ((_, kwargs, _),) = read_volumes(str(folder))
    geom = kwargs["metadata"]["scribbleseg"]["geometry"]
    mask = (arr > 500).astype(np.uint8) + (arr > 650)
    vol = io.read_image(folder)
    for name in ("p.nii.gz", "p.seg.nrrd", "p.dcm"):
        if name.endswith(".dcm"):
            pytest.importorskip("highdicom")
        out = write_labels_nifti(tmp_path / name, geom.to_napari(mask), geom, class_names=CLASSES)
        back = io.read_labels(out, kind="mask", n_classes=3, reference=vol)
        np.testing.assert_array_equal(back.data, mask)
        assert io.read_class_names(out) == CLASSES
    assert (tmp_path / "p.labels.txt").is_file()
    assert write_labels_nifti(tmp_path / "q", geom.to_napari(mask), geom).name == "q.nii.gz"
