"""DICOM-SEG out and back: highdicom/pydicom on the other side read our segmentation with the same pixels,
frame positions, source references, names and colours, and we read theirs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError
from napari_scribbleseg.labels import class_color, hex_to_rgb255

hd = pytest.importorskip("highdicom")
pydicom = pytest.importorskip("pydicom")
pytest.importorskip("SimpleITK")

CLASSES = ("background", "RV", "MYO", "LV")


@pytest.fixture
def series(tmp_path, sitk_image, write_dicom_series):
    """An oblique 14 x 11 x 5 MR series; returns (image volume, series UID)."""
    a = np.deg2rad(12.0)
    direction = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    arr = np.random.default_rng(0).integers(0, 800, size=(14, 11, 5)).astype(np.int16)
    uid = write_dicom_series(
        tmp_path / "mr", sitk_image(arr, (1.25, 1.5, 6.0), (-30.0, 12.0, 44.0), direction)
    )
    return io.read_image(tmp_path / "mr"), uid


def _mask(shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[1:4, 2:6, 0] = 1  # first slice
    mask[5:9, 3:7, 2] = 2
    mask[10:13, 0:3, 4] = 3  # last slice
    return mask


def _lps(point) -> np.ndarray:
    return np.array([-point[0], -point[1], point[2]])


def test_our_dicom_seg_reads_in_highdicom_and_pydicom(tmp_path, series):
    vol, uid = series
    mask = _mask(vol.shape)
    out = io.write_mask(
        tmp_path / "out" / "mr.dcm", mask, vol, class_names=CLASSES, made_by="scribbleseg predict"
    )
    ds = pydicom.dcmread(str(out))
    assert ds.Modality == "SEG" and ds.SegmentationType == "BINARY"
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == uid
    assert ds.ContentDescription == "napari-scribbleseg output: scribbleseg predict" and io.is_own_output(out)
    sources = {pydicom.dcmread(str(f)).SOPInstanceUID: f for f in vol.source.files}
    for frame in ds.PerFrameFunctionalGroupsSequence:  # every frame lies on the slice it references
        ref = frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        src = pydicom.dcmread(str(sources[ref]))
        position = np.array(frame.PlanePositionSequence[0].ImagePositionPatient, float)
        assert np.allclose(position, np.array(src.ImagePositionPatient, float), atol=1e-3)
    seg = hd.seg.segread(str(out))
    uids = [pydicom.dcmread(str(f)).SOPInstanceUID for f in vol.source.files]
    pixels = seg.get_pixels_by_source_instance(uids, combine_segments=True)
    assert np.array_equal(pixels.transpose(2, 1, 0), mask)
    for k in (1, 2, 3):
        desc = seg.get_segment_description(k)
        assert desc.segment_label == CLASSES[k]
        rgb = hd.color.CIELabColor.from_dicom_value(desc.RecommendedDisplayCIELabValue).to_rgb()
        assert np.abs(np.subtract(rgb, hex_to_rgb255(class_color(k)))).max() <= 1
    # world coordinates of voxel (0, 0, 0) and the far corner, from the SEG's own geometry
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.array(shared.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    row_mm, col_mm = (float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing)
    positions = [
        np.array(f.PlanePositionSequence[0].ImagePositionPatient, float)
        for f in ds.PerFrameFunctionalGroupsSequence
    ]
    first, last = (
        min(positions, key=lambda p: p @ np.cross(iop[:3], iop[3:])),
        max(positions, key=lambda p: p @ np.cross(iop[:3], iop[3:])),
    )
    nx, ny, nz = vol.shape
    far = last + iop[:3] * col_mm * (nx - 1) + iop[3:] * row_mm * (ny - 1)
    assert np.allclose(first, _lps((vol.affine @ [0, 0, 0, 1])[:3]), atol=1e-3)
    assert np.allclose(far, _lps((vol.affine @ [nx - 1, ny - 1, nz - 1, 1])[:3]), atol=1e-3)
    # and back through ours
    back = io.read_labels(out, kind="mask", n_classes=4, reference=vol)
    assert np.array_equal(back.data, mask) and io.label_kind(out) == "mask"
    assert io.read_class_names(out) == CLASSES


def test_a_dicom_seg_made_with_highdicom_reads_through_ours(tmp_path, series):
    vol, _ = series
    mask = _mask(vol.shape)
    mask[mask == 3] = 0
    from pydicom.sr.codedict import codes

    sources = [pydicom.dcmread(str(f)) for f in vol.source.files]
    algorithm = hd.AlgorithmIdentificationSequence(
        name="other", version="1", family=codes.cid7162.ArtificialIntelligence
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=k,
            segment_label=name,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type="AUTOMATIC",
            algorithm_identification=algorithm,
            display_color=hd.color.CIELabColor.from_rgb(*rgb),
        )
        for k, name, rgb in ((1, "liver", (200, 100, 50)), (2, "spleen", (10, 20, 250)))
    ]
    seg = hd.seg.Segmentation(
        sources,
        mask.transpose(2, 1, 0).copy(),
        "BINARY",
        descriptions,
        hd.UID(),
        5,
        hd.UID(),
        1,
        "other",
        "other",
        "1",
        "1",
    )
    seg.save_as(str(tmp_path / "theirs.dcm"))
    back = io.read_labels(tmp_path / "theirs.dcm", kind="mask", n_classes=3, reference=vol)
    assert np.array_equal(back.data, mask)
    assert io.read_class_names(tmp_path / "theirs.dcm") == ("background", "liver", "spleen")
    table = io.read_label_table(tmp_path / "theirs.dcm")
    assert table[0][:2] == (1, "liver") and np.abs(np.subtract(table[1][2], (10, 20, 250))).max() <= 1
    assert not io.is_own_output(tmp_path / "theirs.dcm")


def test_an_empty_mask_still_makes_a_segmentation(tmp_path, series):
    vol, _ = series
    out = io.write_mask(tmp_path / "empty.dcm", np.zeros(vol.shape, np.uint8), vol, class_names=CLASSES)
    assert not io.read_labels(out, kind="mask", reference=vol).data.any()


def test_dicom_seg_needs_a_dicom_image_and_the_extra(tmp_path, series, make_image, monkeypatch):
    vol, _ = series
    nifti = make_image(tmp_path / "img.nii.gz")
    with pytest.raises(
        DataError, match=r"x.dcm: DICOM-SEG needs an image read from a DICOM series .*img.nii.gz is nifti"
    ):
        io.write_mask(tmp_path / "x.dcm", np.zeros(nifti.shape, np.uint8), nifti, class_names=CLASSES)
    with pytest.raises(DataError, match=r"x.dcm: DICOM-SEG holds masks"):
        io.write_mask(
            tmp_path / "x.dcm", np.zeros(vol.shape, np.uint8), vol, class_names=CLASSES, kind="scribbles"
        )
    monkeypatch.setitem(sys.modules, "highdicom", None)  # as if not installed
    hint = (
        r"DICOM-SEG needs the optional packages highdicom and pydicom; "
        r"install them with pip install 'napari-scribbleseg\[dicom\]'"
    )
    with pytest.raises(DataError, match=r"y.dcm: " + hint):
        io.write_mask(tmp_path / "y.dcm", np.zeros(vol.shape, np.uint8), vol, class_names=CLASSES)
    with pytest.raises(DataError, match=hint):
        io.check_output_format("dicom-seg", tmp_path / "mr")
    assert not (tmp_path / "y.dcm").exists()
