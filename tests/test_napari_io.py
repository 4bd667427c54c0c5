"""napari reader, writer, sample data, geometry and manifest (no training)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402
from napari_scribbleseg._napari.geometry import LayerGeometry  # noqa: E402
from napari_scribbleseg._napari.reader import get_reader  # noqa: E402
from napari_scribbleseg._napari.writer import write_labels  # noqa: E402

HAS_DISPLAY = ensure_display()
needs_display = pytest.mark.skipif(not HAS_DISPLAY, reason="napari's canvas needs a display: install Xvfb")
ROOT = Path(__file__).resolve().parents[1]


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def oblique_affine(
    spacing=(0.8, 1.2, 5.0), angles=(0.35, -0.2, 0.5), origin=(-40.0, 25.0, 12.5)
) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = rotation(*angles) @ np.diag(spacing)
    aff[:3, 3] = origin
    return aff


def save(path: Path, data: np.ndarray, affine: np.ndarray, qcode: int = 1, scode: int = 2) -> Path:
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(affine, code=qcode)
    img.header.set_sform(affine, code=scode)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(path))
    return path


# --------------------------------------------------------------------------------------------------------
# geometry (no Qt)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.qt
@pytest.mark.parametrize(
    ("affine", "expected_names", "slice_axis"),
    [
        (np.diag([1.0, 1.0, 3.0, 1.0]), ("S", "P", "L"), 2),  # axial stack
        (np.diag([1.0, 4.0, 1.0, 1.0]), ("A", "I", "L"), 1),  # coronal stack
        (np.diag([5.0, 1.0, 1.0, 1.0]), ("R", "I", "P"), 0),  # sagittal stack
        (oblique_affine(), ("S", "P", "L"), 2),
    ],
)
def test_geometry_puts_the_slice_axis_on_the_slider(affine, expected_names, slice_axis):
    shape = (7, 9, 11)
    g = LayerGeometry.from_affine(affine, shape)
    assert g.slice_axis == slice_axis
    assert g.world_axis_names == expected_names
    data = np.arange(np.prod(shape)).reshape(shape)
    view = g.to_napari(data)
    assert view.shape == g.napari_shape
    assert np.shares_memory(view, data)
    np.testing.assert_array_equal(g.from_napari(view), data)
    sp = np.linalg.norm(affine[:3, :3], axis=0)
    np.testing.assert_allclose(g.scale, [sp[a] for a in g.axes])
    # the slider index maps to the file's slice index
    for j in (0, 3):
        k = g.file_slice_index(j)
        np.testing.assert_array_equal(np.take(data, k, axis=g.slice_axis).size, view[j].size)
        assert set(np.take(data, k, axis=g.slice_axis).ravel()) == set(view[j].ravel())


@pytest.mark.qt
def test_geometry_axial_display_is_radiological():
    # RAS+ identity: anterior at the top, the patient's left on the screen's right
    g = LayerGeometry.from_affine(np.eye(4), (4, 5, 6))
    vox = np.zeros((4, 5, 6), np.uint8)
    vox[0, 4, 2] = 1  # x = 0: the patient's far left (RAS: +x = right); y = 4: most anterior; z = 2
    view = g.to_napari(vox)
    z, row, col = np.argwhere(view)[0]
    assert (z, row, col) == (2, 0, view.shape[2] - 1)


# --------------------------------------------------------------------------------------------------------
# reader and writer
# --------------------------------------------------------------------------------------------------------


@pytest.mark.qt
def test_reader_writer_round_trip_oblique_anisotropic(tmp_path, make_napari_viewer):
    if not HAS_DISPLAY:
        pytest.skip("no display")
    rng = np.random.default_rng(0)
    aff = oblique_affine()
    image = rng.normal(size=(20, 16, 6)).astype(np.float32)
    img_path = save(tmp_path / "case01.nii.gz", image, aff)
    mask = np.zeros(image.shape, np.uint8)
    mask[5:12, 4:10, 1:5] = 1
    mask[7:9, 6:8, 2:4] = 2
    (tmp_path / "masks").mkdir()
    mask_path = save(tmp_path / "masks" / "case01.nii.gz", mask, aff)
    (tmp_path / "masks" / "case01.json").write_text(
        json.dumps({"encoding": "mask", "classes": {"0": "background", "1": "ring", "2": "disk"}})
    )

    reader = get_reader(str(img_path))
    assert reader is not None
    assert get_reader(str(tmp_path / "notes.txt")) is None
    ((data, kwargs, kind),) = reader(str(img_path))
    assert kind == "image"
    geom = kwargs["metadata"]["scribbleseg"]["geometry"]
    np.testing.assert_array_equal(geom.from_napari(data), image)
    np.testing.assert_allclose(kwargs["scale"], [5.0, 1.2, 0.8])  # slice axis (5 mm) on the slider

    viewer = make_napari_viewer()
    layers = viewer.open(str(img_path), plugin="napari-scribbleseg")
    layers += viewer.open(str(mask_path), plugin="napari-scribbleseg")
    image_layer, mask_layer = layers
    assert image_layer.name == "case01"
    assert type(mask_layer).__name__ == "Labels"
    assert mask_layer.name == "case01 mask"
    assert mask_layer.metadata["scribbleseg"]["class_names"] == ("background", "ring", "disk")
    # the label layer overlays the image exactly
    np.testing.assert_allclose(mask_layer.scale, image_layer.scale)
    np.testing.assert_allclose(mask_layer.translate, image_layer.translate)
    # predicted colour of structure k == scribble colour of value k + 1
    from napari_scribbleseg._napari.layers import label_colormap

    scrib, pred = label_colormap("scribbles", 3), label_colormap("mask", 3)
    for k in (1, 2):
        np.testing.assert_allclose(pred.map(k), scrib.map(k + 1))
    assert pred.map(0)[..., 3] == 0  # predicted background is transparent

    # napari's writer dispatch, through the manifest
    out = tmp_path / "out" / "written.nii.gz"
    out.parent.mkdir()
    paths = mask_layer.save(str(out), plugin="napari-scribbleseg")
    assert paths == [str(out)]
    back = nib.load(paths[0])
    np.testing.assert_array_equal(np.asarray(back.dataobj), mask)
    np.testing.assert_allclose(back.affine, aff, atol=1e-5)
    assert int(back.header["qform_code"]) == 1 and int(back.header["sform_code"]) == 2
    side = json.loads((out.parent / "written.json").read_text())
    assert side["classes"] == {"0": "background", "1": "ring", "2": "disk"}
    # and it reads back as the same Labels layer
    again = viewer.open(paths[0], plugin="napari-scribbleseg")[0]
    np.testing.assert_array_equal(again.data, mask_layer.data)


@pytest.mark.qt
def test_writer_refuses_the_source_image_and_keeps_scribble_encoding(tmp_path):
    from napari_scribbleseg._napari.reader import read_nifti
    from napari_scribbleseg.errors import DataError

    aff = oblique_affine(spacing=(1.0, 1.0, 4.0))
    img_path = save(tmp_path / "img.nii.gz", np.zeros((8, 8, 3), np.float32), aff)
    ((_, kwargs, _),) = read_nifti(str(img_path))
    geom = kwargs["metadata"]["scribbleseg"]["geometry"]
    labels = np.zeros(geom.napari_shape, np.uint8)
    labels[1, 2, 3] = 3
    meta = {
        "metadata": {"scribbleseg": {"kind": "scribbles", "geometry": geom, "class_names": ("bg", "a", "b")}}
    }
    with pytest.raises(DataError, match="overwrite"):
        write_labels(str(img_path), labels, meta)
    (tmp_path / "scribbles").mkdir()
    out = write_labels(str(tmp_path / "scribbles" / "img.nii.gz"), labels, meta)[0]
    side = json.loads((tmp_path / "scribbles" / "img.json").read_text())
    assert side["encoding"] == "scribbles"
    ((data, kw, kind),) = read_nifti(out)
    assert kind == "labels" and kw["name"] == "img scribbles"
    assert kw["metadata"]["scribbleseg"]["kind"] == "scribbles"
    np.testing.assert_array_equal(data, labels)


# --------------------------------------------------------------------------------------------------------
# sample data, manifest, import cost
# --------------------------------------------------------------------------------------------------------


@pytest.mark.qt
def test_sample_data_opens_image_scribbles_and_classes(make_napari_viewer):
    if not HAS_DISPLAY:
        pytest.skip("no display")
    viewer = make_napari_viewer()
    viewer.open_sample("napari-scribbleseg", "cardiac")
    assert [la.name for la in viewer.layers] == ["cardiac", "cardiac scribbles"]
    image, scribbles = viewer.layers
    assert image.metadata["scribbleseg"]["class_names"] == ("background", "RV", "MYO", "LV")
    assert scribbles.data.shape == image.data.shape
    assert set(np.unique(scribbles.data)) <= {0, 1, 2, 3, 4}
    # the 8 mm slice axis is on the slider
    assert image.scale[0] == pytest.approx(8.0)


@pytest.mark.qt
def test_manifest_is_one_file_and_valid():
    top = ROOT / "napari.yaml"
    assert top.is_symlink() and top.resolve() == (ROOT / "napari_scribbleseg" / "napari.yaml").resolve()
    from npe2 import PluginManifest

    pm = PluginManifest.from_distribution("napari-scribbleseg")
    assert pm.name == "napari-scribbleseg"
    assert {s.key for s in pm.contributions.sample_data} == {"cardiac", "brain"}
    assert pm.contributions.readers and pm.contributions.writers and pm.contributions.widgets
    for cmd in pm.contributions.commands:
        module, _, attr = cmd.python_name.partition(":")
        mod = __import__(module, fromlist=[attr])
        assert hasattr(mod, attr), cmd.python_name


@pytest.mark.qt
def test_widget_import_does_not_import_torch():
    code = (
        "import sys; import napari_scribbleseg._napari.widget, napari_scribbleseg._napari.reader, "
        "napari_scribbleseg._napari.writer, napari_scribbleseg._napari.sample_data; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.stdout.strip() == "False"
