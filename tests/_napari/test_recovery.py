"""The recovery folder of autosaved layers (Qt-free) and the widget's autosave and restore offer."""

from __future__ import annotations

import json
import os
import time

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg._napari.geometry import LayerGeometry
from napari_scribbleseg._napari.recovery import (
    RECOVERY_ENV,
    RecoveryStore,
    SavedLayer,
    recovery_dir,
    source_key,
)

AFFINE = np.array([[0, 0, 8, -40], [1.25, 0, 0, 10], [0, 1.5, 0, -5], [0, 0, 0, 1]], float)
CLASSES = ("background", "ring", "disk")


@pytest.fixture
def image_file(tmp_path, save_volume):
    """An image on a permuted grid (its napari axes are not the file's)."""
    data = np.random.default_rng(0).normal(size=(20, 16, 6)).astype(np.float32)
    return save_volume(tmp_path / "case01.nii.gz", data, AFFINE)


def snapshot(geom, name="case01 scribbles", kind="scribbles", edited=None, voxel=(1, 2, 3), value=2):
    data = np.zeros(geom.napari_shape, np.uint8)
    data[voxel] = value
    return SavedLayer(name, kind, data, geom, CLASSES, time.time() if edited is None else edited)


def test_recovery_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(RECOVERY_ENV, str(tmp_path / "rec"))
    assert recovery_dir() == tmp_path / "rec"
    monkeypatch.delenv(RECOVERY_ENV)
    assert recovery_dir().parts[-2:] == ("napari-scribbleseg", "recovery")


def test_source_key_changes_when_the_image_file_changes(image_file):
    key = source_key(str(image_file))
    assert key is not None and key == source_key(str(image_file))
    st = image_file.stat()
    os.utime(image_file, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert source_key(str(image_file)) != key  # edited on disk: old scribbles are not offered for it
    assert source_key(str(image_file.parent / "missing.nii.gz")) is None
    assert source_key("sample:cardiac") == source_key("sample:cardiac") is not None


def test_store_writes_on_the_image_grid_and_reads_back(tmp_path, image_file):
    geom = LayerGeometry.from_affine(AFFINE, (20, 16, 6))
    store = RecoveryStore(tmp_path / "rec")
    key = source_key(str(image_file))
    assert store.entry(key) is None
    dense = snapshot(geom, "case01 mask", "dense", voxel=(0, 1, 1), value=1)
    entry = store.save(key, str(image_file), "case01", [snapshot(geom), dense])
    assert entry is not None and [la["name"] for la in entry.layers] == ["case01 scribbles", "case01 mask"]
    assert entry.image == "case01" and entry.source == str(image_file) and entry.when
    # each file is a NIfTI on the image's own grid and header, in the file's axis order
    for layer in entry.layers:
        img = nib.load(str(entry.folder / layer["file"]))
        np.testing.assert_allclose(img.affine, AFFINE, atol=1e-4)
        assert img.shape == (20, 16, 6)
    back = dict((meta["name"], data) for meta, data in store.read(entry, geom))
    np.testing.assert_array_equal(back["case01 scribbles"], snapshot(geom).data)
    np.testing.assert_array_equal(back["case01 mask"], dense.data)
    assert json.loads((entry.folder / "index.json").read_text())["layers"][1]["kind"] == "dense"

    # a later autosave of one layer keeps the other (named in keep) and drops what is not kept
    again = store.save(key, str(image_file), "case01", [snapshot(geom, value=3)], keep=["case01 mask"])
    assert sorted(la["name"] for la in again.layers) == ["case01 mask", "case01 scribbles"]
    again = store.save(key, str(image_file), "case01", [snapshot(geom, value=3)], keep=[])
    assert [la["name"] for la in again.layers] == ["case01 scribbles"]
    assert len(list(again.folder.glob("*.nii.gz"))) == 1


def test_a_saved_layer_leaves_the_entry_and_an_older_snapshot_does_not_bring_it_back(tmp_path, image_file):
    geom = LayerGeometry.from_affine(AFFINE, (20, 16, 6))
    store = RecoveryStore(tmp_path / "rec")
    key = source_key(str(image_file))
    painted = time.time()
    store.save(key, str(image_file), "case01", [snapshot(geom, edited=painted)])
    store.forget(key, "case01 scribbles")  # the user saved the layer
    assert store.entry(key) is None and not (tmp_path / "rec" / key).exists()
    # an autosave whose last edit came before the user's save writes nothing
    assert store.save(key, str(image_file), "case01", [snapshot(geom, edited=painted)]) is None
    # painting after the save autosaves again; Discard removes the entry
    assert store.save(key, str(image_file), "case01", [snapshot(geom, edited=time.time() + 1)]) is not None
    store.discard(key)
    assert store.entry(key) is None


@pytest.mark.qt
@pytest.mark.slow
def test_the_widget_autosaves_scribbles_and_offers_them_when_the_image_opens_again(
    make_napari_viewer, qtbot, image_file, tmp_path, monkeypatch
):
    pytest.importorskip("pytestqt")
    from napari_scribbleseg._napari import autosave
    from napari_scribbleseg._napari._display import ensure_display
    from napari_scribbleseg._napari.widget import ScribbleSegWidget

    if not ensure_display():
        pytest.skip("napari's canvas needs a display: install Xvfb")
    monkeypatch.setattr(autosave, "AUTOSAVE_DELAY_S", 0.05)
    store, key = RecoveryStore(), source_key(str(image_file))

    def open_with_widget():
        viewer = make_napari_viewer()
        viewer.open(str(image_file), plugin="napari-scribbleseg")
        widget = ScribbleSegWidget(viewer)
        viewer.window.add_dock_widget(widget)
        widget.data.classes_edit.setText(",".join(CLASSES))
        widget.data.classes_edit.editingFinished.emit()
        return viewer, widget

    # paint with napari's brush: the layer is autosaved once painting pauses
    viewer, widget = open_with_widget()
    assert widget.recovery.isHidden()  # nothing to offer yet
    layer = widget.data.new_scribble_layer()
    layer.brush_size = 1
    layer.paint((1, 2, 3), 3)
    qtbot.waitUntil(lambda: store.entry(key) is not None, timeout=10_000)
    assert [la["name"] for la in store.entry(key).layers] == ["case01 scribbles"]
    painted = np.array(layer.data)
    assert painted[1, 2, 3] == 3

    # nothing was saved (a crash): opening the image again offers the layer, without blocking
    viewer2, widget2 = open_with_widget()
    assert not widget2.recovery.isHidden()
    assert widget2.recovery.label.text().startswith("Restore 1 autosaved scribble layer of case01 from ")
    (restored,) = widget2.recovery.restore()
    assert widget2.recovery.isHidden()
    assert restored.name == "case01 scribbles" and restored.metadata["scribbleseg"]["kind"] == "scribbles"
    np.testing.assert_array_equal(restored.data, painted)
    np.testing.assert_allclose(restored.scale, viewer2.layers["case01"].scale)
    ((image, scribbles, dense),) = widget2.data.training_sets()  # restored scribbles train
    assert scribbles == [restored] and dense is None

    # the user's own save clears the autosaved copy
    restored.save(str(tmp_path / "saved.nii.gz"), plugin="napari-scribbleseg")
    qtbot.wait(200)  # an autosave of the restore, if one was pending, must not bring it back
    assert store.entry(key) is None

    # painting again autosaves again; Discard deletes the copy
    restored.paint((2, 3, 4), 2)
    qtbot.waitUntil(lambda: store.entry(key) is not None, timeout=10_000)
    viewer3, widget3 = open_with_widget()
    assert not widget3.recovery.isHidden()
    widget3.recovery.discard()
    assert widget3.recovery.isHidden() and store.entry(key) is None
    assert "case01 scribbles" not in viewer3.layers


@pytest.mark.slow
def test_a_dock_opened_from_the_plugins_menu_autosaves_too(
    make_napari_viewer, qtbot, image_file, monkeypatch
):
    """Through napari's public-API proxies every layer access is a new wrapper: edits are kept by name."""
    pytest.importorskip("pytestqt")
    from napari_scribbleseg._napari import autosave
    from napari_scribbleseg._napari._display import ensure_display

    if not ensure_display():
        pytest.skip("napari's canvas needs a display: install Xvfb")
    monkeypatch.setattr(autosave, "AUTOSAVE_DELAY_S", 0.05)
    store, key = RecoveryStore(), source_key(str(image_file))
    viewer = make_napari_viewer()
    viewer.open(str(image_file), plugin="napari-scribbleseg")
    _, widget = viewer.window.add_plugin_dock_widget("napari-scribbleseg", "Scribble segmentation")
    qtbot.waitUntil(lambda: widget.ready, timeout=60_000)
    widget.data.classes_edit.setText(",".join(CLASSES))
    widget.data.classes_edit.editingFinished.emit()
    layer = widget.data.new_scribble_layer()
    layer.brush_size = 1
    layer.paint((1, 2, 3), 3)
    qtbot.waitUntil(lambda: store.entry(key) is not None, timeout=10_000)
    assert [la["name"] for la in store.entry(key).layers] == ["case01 scribbles"]
