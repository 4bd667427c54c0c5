"""A whole scribbling session driven through the dock widget (tiny volumes and networks, CPU)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

pytestmark = [
    pytest.mark.qt,
    pytest.mark.slow,  # a viewer, the docked widget and training runs: seconds per test
    pytest.mark.skipif(not ensure_display(), reason="napari's canvas needs a display: install Xvfb"),
]

CLASSES = "background,ring,disk"
TIMEOUT_MS = 60_000


def record_events(widget):
    events = []
    widget.event_handled.connect(events.append)
    return events


def wait_idle(qtbot, widget, timeout=TIMEOUT_MS):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_whole_session(session, qtbot, tmp_path, monkeypatch, paint_scribbles):
    from napari_scribbleseg._napari.layers import geometry_of
    from napari_scribbleseg.engine import events as E
    from napari_scribbleseg.io import affines_match, read_labels

    viewer, widget, image, mask, path, aff = session
    scribbles, geom = paint_scribbles(viewer, widget, mask)
    assert geom.slice_axis == 2 and viewer.layers["case01"].data.shape == (4, 48, 48)
    # legend: one colour per class, scribble values 1..3
    assert widget.data.legend_layout.count() == 3

    # -- train: prediction and attention layers appear and update ------------------------------------
    # preview the slice the viewer shows: slice 2 of the image on the slider
    viewer.dims.set_point(0, viewer.layers["case01"].data_to_world((2, 0, 0))[0])
    events = record_events(widget)
    widget.train()
    qtbot.waitUntil(lambda: "case01 prediction" in viewer.layers or not widget.busy, timeout=TIMEOUT_MS)
    wait_idle(qtbot, widget)
    assert "case01 prediction" in viewer.layers, (widget.training.status.text(), events)
    previews = [e for e in events if isinstance(e, E.Preview)]
    assert len(previews) >= 2, [type(e).__name__ for e in events]
    assert {p.slice_index for p in previews} == {geom.file_slice_index(2)}
    assert isinstance(events[-1], E.Finished), events[-1]
    pred = viewer.layers["case01 prediction"]
    att = [la for la in viewer.layers if " attention " in la.name]
    assert att, [la.name for la in viewer.layers]
    assert pred.data.shape == scribbles.data.shape
    np.testing.assert_allclose(pred.scale, scribbles.scale)
    np.testing.assert_allclose(att[0].translate, scribbles.translate)
    assert np.any(att[0].data[2] != 0)  # the previewed slice got its attention map
    steps = widget.session.trainer.step
    assert steps == 30

    # -- Stop ends the run after the step in flight, painting while the worker runs -----------------
    widget.settings.stop_kind.setCurrentText("seconds")
    widget.settings.stop_value.setValue(120)
    events.clear()
    widget.continue_training()
    qtbot.waitUntil(lambda: any(isinstance(e, E.Progress) for e in events), timeout=TIMEOUT_MS)
    before = widget.session.trainer.cases[0].scribbles[0].copy()
    scribbles.selected_label = 3
    scribbles.paint((1, 20, 20), 3)  # the user keeps painting while training runs
    qtbot.wait(50)
    assert scribbles.data[1, 20, 20] == 3
    np.testing.assert_array_equal(widget.session.trainer.cases[0].scribbles[0], before)  # training has a copy
    widget.training.stop_btn.click()
    step_at_stop = widget.session.trainer.step  # read after the click: the stop flag is already set
    wait_idle(qtbot, widget)
    finished = events[-1]
    assert isinstance(finished, E.Finished) and finished.reason == "stopped"
    assert finished.step <= step_at_stop + 1  # at most the step that was running when Stop was pressed
    started = next(e for e in events if isinstance(e, E.Started))
    assert started.resumed  # Continue kept weights, optimiser and step counter
    assert widget.session.trainer.step > steps

    # -- continue with the new scribbles -----------------------------------------------------------------
    widget.settings.stop_kind.setCurrentText("steps")
    widget.settings.stop_value.setValue(3)
    step = widget.session.trainer.step
    widget.training.continue_btn.click()
    wait_idle(qtbot, widget)
    assert widget.session.trainer.step == step + 3
    assert widget.session.trainer.cases[0].scribbles[0][geom.from_napari(scribbles.data) == 3].size > 0

    # -- predict the whole volume with uncertainty --------------------------------------------------------
    widget.files.uncertainty_check.setChecked(True)
    widget.files.predict_btn.click()
    wait_idle(qtbot, widget)
    assert "case01 uncertainty" in viewer.layers
    unc = viewer.layers["case01 uncertainty"].data
    assert unc.shape == pred.data.shape and np.all(unc >= 0)
    pred = viewer.layers["case01 prediction"]
    assert set(np.unique(pred.data)) <= {0, 1, 2}

    # -- export, re-read: voxels and affine --------------------------------------------------------------
    out = widget.export_prediction(tmp_path / "out" / "case01_pred.nii.gz")
    back = read_labels(out, kind="mask", n_classes=3)
    np.testing.assert_array_equal(back.data, geometry_of(pred).from_napari(pred.data))
    assert affines_match(back.affine, aff)
    assert nib.load(out).header["sform_code"] == 2
    assert (tmp_path / "out" / "case01_pred.json").is_file()

    # -- save, load and predict with the loaded model -----------------------------------------------------
    model = widget.save_model(tmp_path / "model")
    assert (model / "model.safetensors").is_file()
    widget.load_model(model)
    wait_idle(qtbot, widget)
    assert widget.session.loaded is not None
    widget.predict()
    wait_idle(qtbot, widget)
    np.testing.assert_array_equal(viewer.layers["case01 prediction"].data, pred.data)

    # -- Continue the loaded model: a new trainer resumes from the folder's weights and optimiser --------
    saved_step = widget.session.trainer.step
    widget.session.trainer = None  # as after restarting napari and loading the folder
    widget.load_model(model)
    wait_idle(qtbot, widget)
    assert widget.training.continue_btn.isEnabled() and widget.settings.method_combo.currentText() == "aag"
    events.clear()
    widget.training.continue_btn.click()
    wait_idle(qtbot, widget)
    started = next(e for e in events if isinstance(e, E.Started))
    assert started.resumed and isinstance(events[-1], E.Finished), events[-1]
    assert widget.session.trainer.step == saved_step + 3 and not widget.session.use_loaded


def test_worker_error_is_a_notification_and_the_session_survives(
    session, qtbot, monkeypatch, paint_scribbles
):
    viewer, widget, image, mask, path, aff = session
    paint_scribbles(viewer, widget, mask)
    shown = []
    monkeypatch.setattr("napari.utils.notifications.show_error", lambda msg: shown.append(msg))
    widget.data.classes_edit.setText("background,ring")  # the scribbles use value 3: outside 2 classes
    widget.train()
    wait_idle(qtbot, widget)
    assert shown and "outside the class list" in shown[-1], shown
    assert "failed" in widget.training.status.text()
    assert widget.training.train_btn.isEnabled()
    # usable again: fix the classes and train
    widget.data.classes_edit.setText(CLASSES)
    widget.settings.stop_value.setValue(2)
    widget.train()
    wait_idle(qtbot, widget)
    assert widget.session.trainer.step == 2


def test_a_class_nobody_scribbled_is_a_warning_notification(session, qtbot, monkeypatch, paint_scribbles):
    viewer, widget, image, mask, path, aff = session
    layer, _ = paint_scribbles(viewer, widget, mask)
    layer.data[layer.data == 1] = 0  # no background scribbles at all
    layer.refresh()
    shown = []
    monkeypatch.setattr("napari.utils.notifications.show_warning", lambda msg: shown.append(msg))
    widget.settings.method_combo.setCurrentText("pce")
    widget.settings.stop_value.setValue(2)
    widget.train()
    wait_idle(qtbot, widget)
    assert len(shown) == 1 and "nobody scribbled background" in shown[0], shown
    assert widget.session.trainer.step == 2  # a warning, not an error


def test_closing_the_viewer_stops_training(session, qtbot, monkeypatch, paint_scribbles):
    from napari_scribbleseg.engine import events as E

    viewer, widget, image, mask, path, aff = session
    paint_scribbles(viewer, widget, mask)
    widget.settings.stop_kind.setCurrentText("seconds")
    widget.settings.stop_value.setValue(300)
    events = record_events(widget)
    widget.train()
    qtbot.waitUntil(lambda: any(isinstance(e, E.Progress) for e in events), timeout=TIMEOUT_MS)
    steps_at_stop = []
    stop = widget.session.stop

    def recording_stop():
        stop()
        steps_at_stop.append(widget.session.trainer.step)  # after the flag is set

    monkeypatch.setattr(widget.session, "stop", recording_stop)
    viewer.close()
    assert steps_at_stop, "closing the viewer did not stop the training"
    assert widget.session.wait(TIMEOUT_MS / 1000)  # a guard against a hang, not a timing
    assert not widget.session.running
    assert widget.session.trainer.step <= steps_at_stop[0] + 1  # the step in flight, then it ended


def test_several_images_train_together_and_predict_all(
    session, qtbot, tmp_path, paint_scribbles, tiny_volume, scribbles_from, save_volume
):
    from napari_scribbleseg._napari.layers import geometry_of

    viewer, widget, image, mask, path, aff = session
    paint_scribbles(viewer, widget, mask)
    image2, mask2 = tiny_volume(3)
    path2 = save_volume(tmp_path / "case02.nii.gz", image2, np.diag([1.5, 1.5, 6.0, 1.0]))
    viewer.open(str(path2), plugin="napari-scribbleseg")
    widget.data.image_combo.setCurrentText("case02")
    second = widget.data.new_scribble_layer()
    assert second.name == "case02 scribbles"
    second.data[...] = geometry_of(viewer.layers["case02"]).to_napari(scribbles_from(mask2, 1))
    widget.data.image_combo.setCurrentText("case01")
    widget.settings.stop_value.setValue(2)
    widget.train()
    wait_idle(qtbot, widget)
    trainer = widget.session.trainer
    assert [c.name for c in trainer.cases] == ["case01", "case02"]  # the chosen image first (previewed)
    assert trainer.step == 2
    widget.files.all_images_check.setChecked(True)
    widget.predict()
    wait_idle(qtbot, widget)
    for name in ("case01", "case02"):
        pred = viewer.layers[f"{name} prediction"]
        assert pred.data.shape == viewer.layers[name].data.shape


def test_several_annotators_and_a_dense_mask_layer_train_together(
    session, qtbot, paint_scribbles, scribbles_from
):
    viewer, widget, image, mask, path, aff = session
    first, geom = paint_scribbles(viewer, widget, mask)
    second = widget.data.new_annotator_layer()
    third = widget.data.new_annotator_layer()
    assert (second.name, third.name) == ("case01 scribbles 2", "case01 scribbles 3")
    second.data[...] = geom.to_napari(scribbles_from(mask, 5))
    # a third annotator who painted nothing does not count
    dense = widget.data.new_dense_layer()
    assert dense.name == "case01 mask" and not np.any(dense.data)  # no prediction yet: starts empty
    dense.data[...] = geom.to_napari(mask.astype(dense.data.dtype))
    ((image_layer, scribbles, dense_layer),) = widget.data.training_sets()
    assert [la.name for la in scribbles] == ["case01 scribbles", "case01 scribbles 2"]
    assert dense_layer is dense
    widget.settings.stop_value.setValue(2)
    widget.train()
    wait_idle(qtbot, widget)
    (case,) = widget.session.trainer.cases
    assert len(case.scribbles) == 2 and case.mask is not None
    np.testing.assert_array_equal(case.mask, mask)  # file order, as painted
    np.testing.assert_array_equal(case.scribbles[1], scribbles_from(mask, 5))
    assert widget.session.trainer.step == 2
    # after a prediction, a new dense mask layer starts as its copy (to correct rather than paint)
    widget.predict()
    wait_idle(qtbot, widget)
    viewer.layers.remove("case01 mask")
    corrected = widget.data.new_dense_layer()
    np.testing.assert_array_equal(corrected.data, viewer.layers["case01 prediction"].data)
    # neither the annotators' layers nor the dense mask are offered as unpaired masks
    widget.settings.unpaired.refresh()
    combo = widget.settings.unpaired.combo
    items = [combo.itemText(i) for i in range(combo.count())]
    assert not any(n.startswith("case01 scribbles") or n == "case01 mask" for n in items), items


def test_every_method_form_round_trips_its_defaults_and_reaches_the_train_config(session):
    import dataclasses
    import typing

    from napari_scribbleseg.config import from_dict

    viewer, widget, image, mask, path, aff = session
    s = widget.settings
    for name in s.methods.names():
        s.method_combo.setCurrentText(name)
        cls = s.methods.get(name)
        assert s.method_form.cls is cls.Config
        assert from_dict(cls.Config, s.method_options()) == cls.Config(), name
    s.method_combo.setCurrentText("aag")
    hints = typing.get_type_hints(s.method_form.cls)
    name = next(f.name for f in dataclasses.fields(s.method_form.cls) if hints[f.name] is float)
    s.method_form.set_values({name: 0.05})
    assert s.method_options()[name] == 0.05
    s.train_form.set_values({"lr": 5e-4})
    s.pre_form.set_values({"keep_largest": False})
    cfg, pre = s.train_config(), s.preprocess_config()
    assert (cfg.method, cfg.lr, cfg.width, cfg.max_steps, cfg.time_budget) == ("aag", 5e-4, 4, 30, None)
    assert pre.patch_size == 32 and not pre.keep_largest


def test_propagate_gives_a_prediction_without_training(session, paint_scribbles, qtbot):
    viewer, widget, image, mask, path, aff = session
    layer, geom = paint_scribbles(viewer, widget, mask)
    # scribbles on two of the four slices only
    data = geom.from_napari(np.asarray(layer.data)).copy()
    data[..., [1, 2]] = 0
    layer.data = geom.to_napari(data)
    assert widget.files.propagate_btn.isEnabled()
    widget.files.propagate_btn.click()
    qtbot.waitUntil(
        lambda: not widget.busy and widget.data.prediction_layer() is not None, timeout=TIMEOUT_MS
    )
    pred = geom.from_napari(np.asarray(widget.data.prediction_layer().data))
    for z in (1, 2):  # slices nobody scribbled
        p, t = pred[..., z] == 2, mask[..., z] == 2
        assert 2 * (p & t).sum() / (p.sum() + t.sum()) > 0.8


def test_propagate_fills_the_settings_convex_structures(session, paint_scribbles, qtbot, monkeypatch):
    from napari_scribbleseg._napari.panels import predict

    viewer, widget, image, mask, path, aff = session
    layer, geom = paint_scribbles(viewer, widget, mask)
    scribbled_disk = geom.from_napari(np.asarray(layer.data)) == 3
    errors = []
    monkeypatch.setattr(predict, "notify_error", errors.append)
    widget.settings.pre_form.set_values({"convex": "LV"})
    widget.files.propagate_btn.click()
    assert errors == ["convex: 'LV' is not a structure (structures: ring, disk)"]
    assert widget.data.prediction_layer() is None
    widget.settings.pre_form.set_values({"convex": "ring"})
    widget.files.propagate_btn.click()
    qtbot.waitUntil(
        lambda: not widget.busy and widget.data.prediction_layer() is not None, timeout=TIMEOUT_MS
    )
    pred = geom.from_napari(np.asarray(widget.data.prediction_layer().data))
    # the ring's hull covers the disk: only the disk voxels the user painted stay disk
    np.testing.assert_array_equal(pred == 2, scribbled_disk)


def test_predict_suggests_unscribbled_slices_and_jumps_there(session, paint_scribbles, qtbot):
    viewer, widget, image, mask, path, aff = session
    layer, geom = paint_scribbles(viewer, widget, mask)
    data = geom.from_napari(np.asarray(layer.data)).copy()
    data[..., [1, 3]] = 0  # file slices 1 and 3 stay unscribbled
    layer.data = geom.to_napari(data)
    widget.settings.stop_value.setValue(3)
    widget.settings.method_combo.setCurrentText("auto")  # with the atlas mask as unpaired masks: aag
    widget.training.train_btn.click()
    # the method auto chose is known before training starts: its attention layers are made then
    assert widget.training.run_config.method == "aag"
    wait_idle(qtbot, widget)
    assert widget.session.trainer.config.method == "aag"
    widget.predict()
    wait_idle(qtbot, widget)
    suggested = widget.view.suggestions
    assert suggested and all(s.image == "case01" for s in suggested)
    assert {geom.file_slice_index(s.slice_index) for s in suggested} <= {1, 3}  # never a scribbled slice
    assert all("uncertainty" in s.text for s in suggested)
    first = widget.next_suggestion()
    assert first == suggested[0]
    shown = viewer.layers["case01"].world_to_data(viewer.dims.point)[0]
    assert round(float(shown)) == first.slice_index  # the slider moved to the suggested slice


def test_a_removed_layer_is_unlinked_through_napari_plugin_proxies(make_napari_viewer, qtbot):
    """napari hands plugins a proxy of the viewer; each attribute access through it is a new proxy object."""
    from napari.utils._proxies import PublicOnlyProxy

    from napari_scribbleseg._napari.widget import ScribbleSegWidget

    viewer = make_napari_viewer()
    widget = ScribbleSegWidget(PublicOnlyProxy(viewer))
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget.ready, timeout=TIMEOUT_MS)
    layer = viewer.add_image(np.zeros((4, 16, 16), np.float32), name="gone")

    def links_to(lyr):
        return [e for e, _ in widget._links if getattr(e, "__wrapped__", e) is lyr.events.name]

    assert len(links_to(layer)) == 1
    viewer.layers.remove(layer)
    assert links_to(layer) == []
