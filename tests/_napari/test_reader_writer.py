"""The plugin's reader and writer: oblique anisotropic round trips, sidecars, inputs kept."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402
from napari_scribbleseg._napari.reader import get_reader  # noqa: E402
from napari_scribbleseg._napari.writer import write_labels  # noqa: E402

HAS_DISPLAY = ensure_display()


@pytest.mark.qt
def test_reader_writer_round_trip_oblique_anisotropic(
    tmp_path, make_napari_viewer, oblique_affine, save_volume
):
    if not HAS_DISPLAY:
        pytest.skip("no display")
    rng = np.random.default_rng(0)
    aff = oblique_affine()
    image = rng.normal(size=(20, 16, 6)).astype(np.float32)
    img_path = save_volume(tmp_path / "case01.nii.gz", image, aff)
    mask = np.zeros(image.shape, np.uint8)
    mask[5:12, 4:10, 1:5] = 1
    mask[7:9, 6:8, 2:4] = 2
    (tmp_path / "masks").mkdir()
    mask_path = save_volume(tmp_path / "masks" / "case01.nii.gz", mask, aff)
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
def test_writer_refuses_the_source_image_and_keeps_scribble_encoding(tmp_path, oblique_affine, save_volume):
    from napari_scribbleseg._napari.reader import read_nifti
    from napari_scribbleseg.errors import DataError

    aff = oblique_affine(spacing=(1.0, 1.0, 4.0))
    img_path = save_volume(tmp_path / "img.nii.gz", np.zeros((8, 8, 3), np.float32), aff)
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


@pytest.mark.qt
def test_a_new_labels_layer_over_a_read_image_is_written_on_the_image_file_grid(
    tmp_path, make_napari_viewer, save_volume
):
    """napari's "New labels" layer has the image's scale and translate but none of the plugin's metadata."""
    if not HAS_DISPLAY:
        pytest.skip("no display")
    aff = np.array([[0, 0, 8, -40], [1.25, 0, 0, 10], [0, 1.5, 0, -5], [0, 0, 0, 1]], float)
    image = np.random.default_rng(1).permutation(20 * 16 * 6).reshape(20, 16, 6).astype(np.float32)
    img_path = save_volume(tmp_path / "case01.nii.gz", image, aff, qcode=1, scode=1)
    viewer = make_napari_viewer()
    (image_layer,) = viewer.open(str(img_path), plugin="napari-scribbleseg")
    assert image_layer.data.shape != image.shape  # napari shows the volume in another axis order
    labels = viewer.add_labels(
        np.zeros(image_layer.data.shape, np.int32), scale=image_layer.scale, translate=image_layer.translate
    )
    assert "scribbleseg" not in labels.metadata
    labels.data[1, 2, 3] = 2
    labels.refresh()

    (out,) = labels.save(str(tmp_path / "labels.nii.gz"), plugin="napari-scribbleseg")
    back = nib.load(out)
    np.testing.assert_allclose(back.affine, aff, atol=1e-4)
    assert back.shape == image.shape
    assert int(back.header["qform_code"]) == 1 and int(back.header["sform_code"]) == 1
    (voxel,) = np.argwhere(np.asarray(back.dataobj))
    # the painted voxel is the file voxel of the image voxel it overlays (the image values are unique)
    assert image[tuple(voxel)] == image_layer.data[1, 2, 3]
    assert np.asarray(back.dataobj)[tuple(voxel)] == 2
