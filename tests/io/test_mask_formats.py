"""Masks out and back: 3D Slicer ``.seg.nrrd`` (pynrrd on the other side) and ITK-SNAP label descriptions.

Same voxels, the same world coordinates of voxel (0, 0, 0) and of the far corner (1e-3 mm), names and the
colours napari shows, both ways.
"""

from __future__ import annotations

import shlex

import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError
from napari_scribbleseg.labels import class_color, hex_to_rgb255

nrrd = pytest.importorskip("nrrd")

CLASSES = ("background", "RV", "MYO", "LV")


@pytest.fixture
def reference(tmp_path, make_image):
    return make_image(tmp_path / "img.nii.gz", shape=(12, 10, 5))


def _mask(shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[2:6, 3:7, 1:3] = 1
    mask[7:9, 1:4, 4] = 2  # class 3 (LV) is empty
    return mask


def _lps_world(header, index) -> np.ndarray:
    return header["space origin"] + np.asarray(index, float) @ header["space directions"]


def _ras_to_lps(point) -> np.ndarray:
    return np.array([-point[0], -point[1], point[2]])


def test_seg_nrrd_we_write_reads_in_pynrrd_as_3d_slicer_expects(tmp_path, reference):
    mask = _mask(reference.shape)
    out = io.write_mask(
        tmp_path / "out" / "img.seg.nrrd", mask, reference, class_names=CLASSES, made_by="scribbleseg predict"
    )
    data, header = nrrd.read(str(out))
    assert np.array_equal(data, mask) and header["space"] == "left-posterior-superior"
    assert (
        header["kinds"] == ["domain"] * 3 and header["Segmentation_MasterRepresentation"] == "Binary labelmap"
    )
    far = np.asarray(reference.shape) - 1
    for index in ([0, 0, 0], far):
        ras = reference.affine @ [*index, 1]
        assert np.allclose(_lps_world(header, index), _ras_to_lps(ras[:3]), atol=1e-3)
    for i, name in enumerate(CLASSES[1:]):
        k = i + 1
        assert header[f"Segment{i}_Name"] == name and header[f"Segment{i}_LabelValue"] == str(k)
        assert header[f"Segment{i}_Layer"] == "0" and header[f"Segment{i}_ID"] == f"Segment_{k}"
        rgb = [round(float(c) * 255) for c in header[f"Segment{i}_Color"].split()]
        assert rgb == list(hex_to_rgb255(class_color(k)))
    assert header["Segment0_Extent"] == "2 5 3 6 1 2" and header["Segment2_Extent"] == "0 -1 0 -1 0 -1"
    assert "Segment3_Name" not in header  # background is no segment
    assert io.is_own_output(out) and header["ScribbleSeg_Source"] == "img.nii.gz"
    # and back through ours
    back = io.read_labels(out, kind="mask", n_classes=4, reference=reference)
    assert np.array_equal(back.data, mask) and io.label_kind(out) == "mask"
    assert io.read_class_names(out) == CLASSES
    table = io.read_label_table(out)
    assert [(v, n) for v, n, _ in table] == [(1, "RV"), (2, "MYO"), (3, "LV")]
    assert [rgb for *_, rgb in table] == [hex_to_rgb255(class_color(k)) for k in (1, 2, 3)]


def _slicer_header(reference, sizes, origin_shift=(0, 0, 0), layered=False) -> dict:
    lps = io.lps_to_ras(reference.affine)
    directions = lps[:3, :3].T
    origin = lps[:3, 3] + np.asarray(origin_shift, float) @ directions
    header = {
        "space": "left-posterior-superior",
        "space directions": np.vstack([np.full(3, np.nan), directions]) if layered else directions,
        "space origin": origin,
        "kinds": (["list"] if layered else []) + ["domain"] * 3,
        "encoding": "gzip",
        "Segment0_ID": "Segment_1",
        "Segment0_Name": "liver",
        "Segment0_Color": "0.8 0.4 0.2",
        "Segment0_LabelValue": "1",
        "Segment0_Layer": "0",
        "Segment1_ID": "Segment_2",
        "Segment1_Name": "tumour",
        "Segment1_Color": "0.1 0.9 0.3",
        "Segment1_LabelValue": "1" if layered else "2",
        "Segment1_Layer": "1" if layered else "0",
    }
    return header


def test_seg_nrrd_written_like_3d_slicer_reads_through_ours(tmp_path, reference):
    mask = _mask(reference.shape)
    # one shared layer, cropped to the segments' extent (Slicer's "crop to minimum extent")
    crop = mask[2:9, 1:7, 1:5]
    nrrd.write(str(tmp_path / "crop.seg.nrrd"), crop, _slicer_header(reference, crop.shape, (2, 1, 1)))
    vol = io.read_labels(tmp_path / "crop.seg.nrrd", kind="mask", reference=reference)
    assert vol.shape == reference.shape and np.array_equal(vol.data, mask)
    assert io.read_class_names(tmp_path / "crop.seg.nrrd") == ("background", "liver", "tumour")
    assert [rgb for *_, rgb in io.read_label_table(tmp_path / "crop.seg.nrrd")] == [
        (204, 102, 51),
        (26, 230, 77),
    ]
    # two layers (Slicer writes overlapping-capable segments so), each with label value 1
    layers = np.stack([mask == 1, mask == 2]).astype(np.uint8)
    nrrd.write(str(tmp_path / "layers.seg.nrrd"), layers, _slicer_header(reference, mask.shape, layered=True))
    vol = io.read_labels(tmp_path / "layers.seg.nrrd", kind="mask", n_classes=3, reference=reference)
    assert np.array_equal(vol.data, mask) and io.count_frames(tmp_path / "layers.seg.nrrd") == 1
    assert [(v, n) for v, n, _ in io.read_label_table(tmp_path / "layers.seg.nrrd")] == [
        (1, "liver"),
        (2, "tumour"),
    ]
    # overlapping layers cannot be one mask
    layers[1, 2, 3, 1] = 1
    nrrd.write(
        str(tmp_path / "overlap.seg.nrrd"), layers, _slicer_header(reference, mask.shape, layered=True)
    )
    with pytest.raises(DataError, match=r"overlap.seg.nrrd: segment 'tumour' overlaps another segment"):
        io.read_labels(tmp_path / "overlap.seg.nrrd", kind="mask")


def test_itksnap_label_descriptions_next_to_a_nifti_mask(tmp_path, reference):
    mask = _mask(reference.shape)
    out = io.write_mask(
        tmp_path / "m.nii.gz", mask, reference, class_names=CLASSES, made_by="scribbleseg predict"
    )
    desc = tmp_path / "m.labels.txt"
    assert io.output_files(out, "nifti") == [out, tmp_path / "m.json", desc]
    rows = [shlex.split(ln) for ln in desc.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert all(len(r) == 8 for r in rows)  # IDX R G B A VIS MSH "LABEL"
    assert [(int(r[0]), r[7]) for r in rows] == [(0, "background"), (1, "RV"), (2, "MYO"), (3, "LV")]
    assert [tuple(int(c) for c in r[1:4]) for r in rows[1:]] == [
        hex_to_rgb255(class_color(k)) for k in (1, 2, 3)
    ]
    assert float(rows[0][4]) == 0.0 and rows[0][5] == "0" and float(rows[1][4]) == 1.0
    assert io.is_own_output(desc)
    # scribbles: 0 is ITK-SNAP's "Clear Label", 1 the background colour
    io.write_labels(tmp_path / "s.nii.gz", mask + 1, reference, class_names=CLASSES, kind="scribbles")
    table = io.read_itksnap_labels(tmp_path / "s.labels.txt")
    assert table[0][:2] == (0, "Clear Label") and table[1] == (1, "background", hex_to_rgb255(class_color(0)))
    assert not io.is_own_output(tmp_path / "s.labels.txt")


def test_itksnap_descriptions_written_by_itksnap_give_the_class_names(tmp_path, reference, save_raw):
    save_raw(tmp_path / "seg.nii.gz", _mask(reference.shape))
    (tmp_path / "seg.labels.txt").write_text(
        "################################################\n"
        "# ITK-SnAP Label Description File\n"
        "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
        "################################################\n"
        '    0     0    0    0        0  0  0    "Clear Label"\n'
        '    1   255    0    0        1  1  1    "right ventricle"\n'
        '    2     0  255    0        1  1  0    "myocardium"\n'
    )
    assert io.read_class_names(tmp_path / "seg.nii.gz") == ("background", "right ventricle", "myocardium")
    assert io.read_label_table(tmp_path / "seg.nii.gz")[2] == (2, "myocardium", (0, 255, 0))
    (tmp_path / "seg.labels.txt").write_text("    1   255    0\n")
    with pytest.raises(DataError, match=r"seg.labels.txt: line 1 is not an ITK-SNAP label description"):
        io.read_class_names(tmp_path / "seg.nii.gz")


def test_output_formats_and_names(tmp_path):
    assert io.output_format(None, "a.nii.gz") == "nifti" and io.output_format(None, "a.nrrd") == "seg.nrrd"
    assert io.output_format(None, "a.mha") == "nifti" and io.output_format("seg.nrrd", "a.mha") == "seg.nrrd"
    with pytest.raises(
        DataError, match=r"unknown output format 'png'; choose one of: nifti, seg.nrrd, dicom-seg"
    ):
        io.output_format("png", "a.nii.gz")
    assert io.output_name("x/case1.nii", "nifti") == "case1.nii"
    assert io.output_name("x/case1.nrrd", "seg.nrrd") == "case1.seg.nrrd"
    assert io.output_name("x/case1.mha", "nifti") == "case1.nii.gz"
    with pytest.raises(DataError, match=r"case1.nii.gz: DICOM-SEG output needs a DICOM series as input"):
        io.check_output_format("dicom-seg", "case1.nii.gz")
    with pytest.raises(DataError, match=r"a.seg.nrrd: refusing to overwrite an input file"):
        ref = io.NiftiVolume.from_array(np.zeros((2, 2, 2)), path=tmp_path / "a.seg.nrrd")
        io.write_mask(tmp_path / "a.seg.nrrd", np.zeros((2, 2, 2), np.uint8), ref, class_names=("bg", "x"))


def test_our_nifti_and_seg_nrrd_masks_read_in_simpleitk_at_the_image_coordinates(tmp_path, reference):
    sitk = pytest.importorskip("SimpleITK")
    mask = _mask(reference.shape)
    far = [int(n) - 1 for n in reference.shape]
    for name in ("m.nii.gz", "m.seg.nrrd"):
        out = io.write_mask(tmp_path / name, mask, reference, class_names=CLASSES)
        image = sitk.ReadImage(str(out))
        assert np.array_equal(sitk.GetArrayFromImage(image).transpose(2, 1, 0), mask), name
        for index in ([0, 0, 0], far):
            ras = (reference.affine @ [*index, 1])[:3]
            assert np.allclose(image.TransformIndexToPhysicalPoint(index), _ras_to_lps(ras), atol=1e-3), name
