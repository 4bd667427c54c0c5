"""Only the layers the user chose train: a ground truth opened from a file is not a dense mask by its name."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

pytestmark = [
    pytest.mark.qt,
    pytest.mark.slow,  # a viewer, the docked widget and two short training runs
    pytest.mark.skipif(not ensure_display(), reason="napari's canvas needs a display: install Xvfb"),
]

CLASSES = ("background", "ring", "disk")
TIMEOUT_MS = 60_000


@pytest.fixture
def opened(tmp_path, make_napari_viewer, qtbot, tiny_volume, save_volume):
    """``images/case01`` and its ground truth ``masks/case01`` opened with the plugin's reader."""
    from napari_scribbleseg._napari.widget import ScribbleSegWidget

    image, mask = tiny_volume(0)
    aff = np.diag([1.5, 1.5, 6.0, 1.0])
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    img_path = save_volume(tmp_path / "images" / "case01.nii.gz", image, aff)
    mask_path = save_volume(tmp_path / "masks" / "case01.nii.gz", mask.astype(np.uint8), aff)
    classes = {str(i): n for i, n in enumerate(CLASSES)}
    (tmp_path / "masks" / "case01.json").write_text(json.dumps({"encoding": "mask", "classes": classes}))
    viewer = make_napari_viewer()
    viewer.open(str(img_path), plugin="napari-scribbleseg")
    viewer.open(str(mask_path), plugin="napari-scribbleseg")
    widget = ScribbleSegWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget.ready, timeout=TIMEOUT_MS)
    widget.data.image_combo.setCurrentText("case01")
    widget.data.set_class_names(CLASSES)
    widget.settings.method_combo.setCurrentText("pce")
    widget.settings.train_form.set_values(
        {"width": 4, "depth": 3, "batch_size": 2, "preview_every": 0.0, "val_fraction": 0.0, "threads": 1}
    )
    widget.settings.pre_form.set_values({"patch_size": 32})
    widget.settings.stop_kind.setCurrentText("steps")
    widget.settings.stop_value.setValue(2)
    return viewer, widget, mask


def test_a_mask_opened_from_a_file_trains_only_once_the_user_assigns_it(
    opened, qtbot, monkeypatch, scribbles_from
):
    from napari_scribbleseg._napari.layers import geometry_of
    from napari_scribbleseg._napari.panels import training

    viewer, widget, mask = opened
    gt = viewer.layers["case01 mask"]  # exactly the name of the image's dense mask
    assert gt.metadata["scribbleseg"]["kind"] == "mask"

    # no annotation yet: the ground truth does not make the image trainable, nor is it its prediction
    errors = []
    monkeypatch.setattr(training, "notify_error", errors.append)
    assert widget.data.training_sets() == []
    assert widget.data.prediction_layer() is None
    widget.train()
    assert not widget.busy and errors and "no scribbles yet" in errors[0]

    # scribbles train alone, and the dock says which layers the run uses
    scribbles = widget.data.new_scribble_layer()
    scribbles.data[...] = geometry_of(viewer.layers["case01"]).to_napari(scribbles_from(mask))
    ((_, scribble_layers, dense),) = widget.data.training_sets()
    assert scribble_layers == [scribbles] and dense is None
    widget.train()
    run_info = widget.training.status.run_info.text()
    assert run_info == "training on: case01 (scribbles: 'case01 scribbles'; dense: none)"
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT_MS)
    (case,) = widget.session.trainer.cases
    assert case.mask is None
    assert widget.training.status.run_info.text() == run_info  # still there after the run

    # "New dense mask layer" makes a new layer rather than taking the ground truth
    new_dense = widget.data.new_dense_layer()
    assert new_dense is not gt and not np.any(new_dense.data)
    viewer.layers.remove(new_dense)

    # the user's explicit choice makes the ground truth the dense mask
    assert widget.data.use_as_dense_mask(gt) is gt
    ((_, _, dense),) = widget.data.training_sets()
    assert dense is gt and gt.metadata["scribbleseg"]["kind"] == "dense"
    widget.train()
    assert "dense: 'case01 mask'" in widget.training.status.run_info.text()
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT_MS)
    (case,) = widget.session.trainer.cases
    np.testing.assert_array_equal(case.mask, mask)


def test_use_as_dense_mask_refuses_layers_off_the_image_grid_and_scribbles(opened, monkeypatch):
    from napari_scribbleseg._napari.panels import data

    viewer, widget, _ = opened
    errors = []
    monkeypatch.setattr(data, "notify_error", errors.append)
    other = viewer.add_labels(np.zeros((3, 5, 7), np.uint8), name="elsewhere")
    assert widget.data.use_as_dense_mask(other) is None and "same voxel grid" in errors[-1]
    scribbles = widget.data.new_scribble_layer()
    assert widget.data.use_as_dense_mask(scribbles) is None and "holds scribbles" in errors[-1]
    viewer.layers.selection.active = viewer.layers["case01 mask"]
    assert widget.data.use_as_dense_mask() is viewer.layers["case01 mask"]  # the selected layer


def test_a_dock_opened_from_the_plugins_menu_trains_each_layer_once(make_napari_viewer, qtbot):
    """Through napari's public-API proxies every layer access is a new wrapper: compare layers by name."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-scribbleseg", "cardiac")
    _, widget = viewer.window.add_plugin_dock_widget("napari-scribbleseg", "Scribble segmentation")
    qtbot.waitUntil(lambda: widget.ready, timeout=TIMEOUT_MS)
    sets = widget.data.training_sets()
    assert [(s.image.name, [la.name for la in s.scribbles]) for s in sets] == [
        ("cardiac", ["cardiac scribbles"])
    ]


def test_the_3d_view_works_from_a_dock_opened_from_the_plugins_menu(make_napari_viewer, qtbot):
    """The 3D view shows the prediction alone and restores the layers, through the proxies too."""
    from napari_scribbleseg._napari import layers as L

    viewer = make_napari_viewer()
    viewer.open_sample("napari-scribbleseg", "cardiac")
    _, widget = viewer.window.add_plugin_dock_widget("napari-scribbleseg", "Scribble segmentation")
    qtbot.waitUntil(lambda: widget.ready, timeout=TIMEOUT_MS)
    names = ("background", "RV", "MYO", "LV")
    pred = L.new_labels(
        viewer, viewer.layers["cardiac"], "cardiac prediction", "mask", names, prediction=True
    )
    pred.data[5, 50:60, 50:60] = 2
    widget.view.set_3d(True)
    assert viewer.dims.ndisplay == 3
    assert [la.name for la in viewer.layers if la.visible] == ["cardiac prediction"]
    widget.view.set_3d(False)
    assert viewer.dims.ndisplay == 2
    assert viewer.layers["cardiac"].visible and viewer.layers["cardiac scribbles"].visible
