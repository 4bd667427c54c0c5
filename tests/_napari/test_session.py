"""Sessions, remembered settings, keyboard shortcuts, the live plot and the 3D view of the dock widget."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

pytestmark = [
    pytest.mark.qt,
    pytest.mark.skipif(not ensure_display(), reason="napari's canvas needs a display: install Xvfb"),
]

CLASSES = "background,ring,disk"
TIMEOUT_MS = 60_000


def wait_idle(qtbot, widget, timeout=TIMEOUT_MS):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def new_dock(make_napari_viewer, qtbot):
    from napari_scribbleseg._napari.widget import ScribbleSegWidget

    viewer = make_napari_viewer()
    widget = ScribbleSegWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget.ready, timeout=TIMEOUT_MS)
    return viewer, widget


@pytest.mark.slow
def test_save_close_open_continues_from_the_saved_step(
    session, paint_scribbles, qtbot, tmp_path, make_napari_viewer
):
    from napari_scribbleseg.engine import events as E
    from napari_scribbleseg.errors import DataError

    viewer, widget, image, mask, path, aff = session
    scribbles, geom = paint_scribbles(viewer, widget, mask)
    widget.settings.stop_value.setValue(4)
    widget.train()
    wait_idle(qtbot, widget)
    saved_step = widget.session.trainer.step
    assert saved_step == 4
    widget.settings.stop_value.setValue(3)  # the session keeps the settings too
    folder = widget.save_session(tmp_path / "session")
    content = json.loads((folder / "session.json").read_text())
    assert content["classes"] == CLASSES.split(",") and content["model"] == "model"
    assert content["images"][0]["path"] == str(path.resolve()) and not content["images"][0]["copied"]
    assert {la["kind"] for la in content["layers"]} == {"scribbles", "unpaired"}
    assert content["settings"]["train_config"]["method"] == "aag"
    assert (folder / "model" / "state" / "optim.pt").is_file()
    painted = np.array(scribbles.data)
    # saving again into the same folder replaces the session's own files (and nothing else)
    (folder / "annotations" / "notes.txt").write_text("mine")
    widget.save_session(folder)
    assert (folder / "annotations" / "notes.txt").read_text() == "mine"
    widget.shutdown()
    viewer.close()

    # -- the image moved: opening says which one, or the user locates it --------------------------------
    moved = tmp_path / "elsewhere" / "case01.nii.gz"
    moved.parent.mkdir()
    path.rename(moved)
    viewer2, widget2 = new_dock(make_napari_viewer, qtbot)
    with pytest.raises(DataError, match="case01.nii.gz is missing"):
        widget2.open_session(folder, locate=lambda ref, problem: None)
    assert "case01" not in viewer2.layers
    asked = []
    widget2.open_session(folder, locate=lambda ref, problem: asked.append(problem) or moved)
    wait_idle(qtbot, widget2)
    assert asked and "case01" in asked[0]
    np.testing.assert_array_equal(viewer2.layers["case01 scribbles"].data, painted)
    np.testing.assert_allclose(viewer2.layers["case01 scribbles"].scale, scribbles.scale)
    assert "atlas mask" in viewer2.layers
    s = widget2.settings
    assert widget2.data.classes_edit.text() == CLASSES and s.method_combo.currentText() == "aag"
    assert s.stop_kind.currentText() == "steps" and s.stop_value.value() == 3
    assert s.unpaired.combo.currentText() == "atlas mask"
    assert s.train_form.values()["width"] == 4

    # -- Continue trains the opened model from the saved step -------------------------------------------
    assert widget2.training.continue_btn.isEnabled()
    events = []
    widget2.event_handled.connect(events.append)
    widget2.training.continue_btn.click()
    wait_idle(qtbot, widget2)
    started = next(e for e in events if isinstance(e, E.Started))
    assert started.resumed and isinstance(events[-1], E.Finished), events[-1]
    assert widget2.session.trainer.step == saved_step + 3

    # -- the same folder trains from the CLI, from the step the widget saved --------------------------------
    from napari_scribbleseg.cli import main

    widget2.save_session(folder)  # now with the image where the user located it
    assert main(["train", "--session", str(folder), "--max-steps", "2", "--quiet"]) == 0
    assert json.loads((folder / "model" / "meta.json").read_text())["step"] == saved_step + 3 + 2


@pytest.mark.slow
def test_settings_are_remembered_in_a_new_widget(session, qtbot, make_napari_viewer, config_dir):
    viewer, widget, *_ = session
    s = widget.settings
    s.method_combo.setCurrentText("crf")
    s.method_form.set_values({"crf_weight": 0.25})
    s.device_combo.setCurrentText("cpu")
    widget.data.classes_edit.setText("background,liver")
    widget.shutdown()  # remembers the choices (also done when training starts)

    _, w2 = new_dock(make_napari_viewer, qtbot)
    s2 = w2.settings
    assert w2.data.classes_edit.text() == "background,liver"
    assert s2.method_combo.currentText() == "crf" and s2.method_form.values()["crf_weight"] == 0.25
    assert s2.device_combo.currentText() == "cpu"
    assert s2.stop_kind.currentText() == "steps" and s2.stop_value.value() == 30
    assert s2.train_form.values()["width"] == 4 and s2.pre_form.values()["patch_size"] == 32

    # a corrupt settings file is ignored with a warning, never a crash
    (config_dir / "settings.json").write_text("{not json")
    _, w3 = new_dock(make_napari_viewer, qtbot)
    assert "unreadable" in w3.remembered.problem
    assert w3.settings.method_combo.currentText() == "auto"


@pytest.mark.slow
def test_shortcuts_trigger_their_actions_and_leave_napari_keys_alone(session, paint_scribbles, monkeypatch):
    from napari_scribbleseg._napari import layers as L
    from napari_scribbleseg._napari.panels import Suggestion
    from napari_scribbleseg._napari.shortcuts import SHORTCUTS, clashes

    viewer, widget, image, mask, path, aff = session
    assert clashes() == []  # napari's default shortcuts and its menus' key bindings
    scribbles, geom = paint_scribbles(viewer, widget, mask)
    viewer.layers.selection.active = scribbles  # a Labels layer's own keys come first
    keys = viewer.window._qt_viewer._key_map_handler
    calls = []
    for panel, name in ((widget.training, "train"), (widget.training, "stop")):
        monkeypatch.setattr(panel, name, lambda n=name: calls.append(n))
    monkeypatch.setattr(widget.training, "continue_training", lambda: calls.append("continue"))
    monkeypatch.setattr(widget.files, "predict", lambda: calls.append("predict"))
    for key in ("Shift-T", "Shift-S", "Shift-C", "Shift-R"):
        assert keys.press_key(key), key
    assert calls == ["train", "stop", "continue", "predict"]
    widget.shortcuts.qt["Shift-T"].activated.emit()  # the same key while the dock has the focus
    assert calls[-1] == "train"
    assert "(Shift+T)" in widget.training.train_btn.toolTip()
    assert "(Alt+2)" in widget.data.legend_layout.itemAt(1).widget().toolTip()
    assert len({sc.key for sc in SHORTCUTS}) == len(SHORTCUTS)

    # Alt+digit: the brush paints that scribble value; beyond the classes nothing changes
    assert keys.press_key("Alt-3") and scribbles.selected_label == 3 and scribbles.mode == "paint"
    keys.press_key("Alt-9")
    assert scribbles.selected_label == 3

    # next suggested slice: none yet, then the lead's list
    assert keys.press_key("Shift-N") and "no suggestions yet" in viewer.status
    widget.view.set_suggestions([Suggestion("case01", 2, "uncertain"), Suggestion("case01", 1)])
    shown = lambda: round(viewer.layers["case01"].world_to_data(viewer.dims.point)[0])  # noqa: E731
    keys.press_key("Shift-N")
    assert shown() == 2
    keys.press_key("Shift-N")
    assert shown() == 1

    # 3D view of the prediction, and back with the layers as they were
    names = tuple(CLASSES.split(","))
    pred = L.new_labels(viewer, viewer.layers["case01"], "case01 prediction", "mask", names, prediction=True)
    pred.data[1:3, 10:30, 10:30] = 2
    widget._update_buttons()
    assert widget.view.view3d_btn.isEnabled()
    assert keys.press_key("Shift-D") and viewer.dims.ndisplay == 3
    assert [la.name for la in viewer.layers if la.visible] == ["case01 prediction"]
    keys.press_key("Shift-D")
    assert viewer.dims.ndisplay == 2 and viewer.layers["case01"].visible and scribbles.visible

    widget.shutdown()  # the viewer's keys are ours no longer
    assert not keys.press_key("Shift-T") and calls[-1] == "train" and len(calls) == 5


def test_live_plot_shows_loss_validation_and_the_next_preview(qtbot):
    from napari_scribbleseg._napari.panels.plot import MAX_POINTS, TrainingPlot
    from napari_scribbleseg.engine import events as E

    plot = TrainingPlot()
    qtbot.addWidget(plot)
    plot.resize(300, 100)
    assert "appear here" in plot.caption()
    plot.begin(preview_every=30.0)
    plot.add_event(E.Started(0, 0.0, "crf", "cpu", "fp32", 10, 1, False))
    for step in range(1, 2 * MAX_POINTS):
        plot.add_event(E.Progress(step, 1.0, 0.1, {"loss": 1.0 / step}, 1e-3, 5.0, None, None))
    plot.add_event(E.Validation(50, 2.0, 0.4, {"val_pce": 0.4, "val_dice": 0.7}, True))
    assert len(plot.loss) <= MAX_POINTS and plot.loss[-1][0] == 2 * MAX_POINTS - 1
    text = plot.caption()
    assert "loss 0.001" in text and "val Dice 0.700" in text and "next preview in 30 s" in text
    plot.grab()  # paints
    plot.add_event(E.Finished(60, 3.0, "max-steps", 0.4, 50))
    assert "next preview" not in plot.caption()
    plot.add_event(E.Started(60, 0.0, "crf", "cpu", "fp32", 10, 1, True))  # Continue keeps the curve
    assert plot.loss


def test_an_image_without_a_file_is_copied_into_the_session(make_napari_viewer, tmp_path):
    from napari_scribbleseg._napari import layers as L
    from napari_scribbleseg._napari import session_layers as SL
    from napari_scribbleseg.errors import DataError
    from napari_scribbleseg.io import session_folder as SF

    names = ("background", "blob")
    viewer = make_napari_viewer()
    data = np.random.default_rng(0).random((4, 32, 32)).astype(np.float32)
    image = viewer.add_image(data, name="made", scale=(6.0, 1.5, 1.5))
    scribbles = L.new_labels(viewer, image, "made scribbles", "scribbles", names)
    scribbles.data[1, 5:9, 5:9] = 2
    folder, _ = SF.check_session_destination(tmp_path / "s")
    images, layers, _ = SL.save_layers(folder, viewer, copy_images=False)
    assert images[0].copied and (folder / images[0].path).is_file()  # no file to refer to
    SF.write_session(SF.SessionSpec(folder, names, (), images, layers, {}))
    spec = SF.read_session(folder)
    paths, notes = SL.find_images(spec)
    viewer2 = make_napari_viewer()
    SL.add_layers(viewer2, spec, paths)

    def file_order(layer):
        return L.geometry_of(layer).from_napari(np.asarray(layer.data))

    np.testing.assert_allclose(file_order(viewer2.layers["made"]), file_order(image))
    np.testing.assert_array_equal(file_order(viewer2.layers["made scribbles"]), file_order(scribbles))
    # saved again into the same session, the copy (now the image's own file) stays
    images2, _, _ = SL.save_layers(folder, viewer2, copy_images=True)
    assert images2[0].sha256 == images[0].sha256
    with pytest.raises(DataError, match="already has layers named 'made'"):
        SL.add_layers(viewer2, spec, paths)
