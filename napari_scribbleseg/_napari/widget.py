"""The dock widget: scribble, train in the background, watch predictions, predict, export.

The widget only composes: the :mod:`.panels` own the controls and actions, :mod:`.preview` the
prediction and attention layers, :mod:`.workers` the worker threads and the responsiveness policies, and
:class:`~napari_scribbleseg.engine.session.TrainingSession` (Qt-free) what Train, Continue, Predict, Save
and Load do. torch and the engine are imported by a worker thread once the widget exists (the method
list appears when they are loaded), never when this module is imported.

**Why a ``thread_worker`` generator and not a subprocess.** Training runs in a napari worker thread of
this process, as a generator that yields the trainer's events. (1) Stop and Continue keep the model:
the :class:`~napari_scribbleseg.engine.trainer.Trainer` object, with its networks and optimiser state,
stays in this process's memory between runs, so Continue resumes from exactly the same weights and
Adam moments without serialising anything. (2) Events (progress, previews as small numpy arrays) reach
the main thread through Qt's queued ``yielded`` signal, where the widget updates layers: only the main
thread touches layers. (3) Heavy torch kernels release the GIL, so the event loop keeps running;
``bench/responsiveness.py`` measures its longest stall during a CPU training run. A subprocess would
isolate the GIL completely but would have to ship volumes, scribbles, previews and the model across a
pipe and could not share the model with Predict.

**Closing.** When the viewer's window closes, :meth:`shutdown` stops training, cancels Predict and
waits (bounded) for every worker, the engine-loading one included, with their callbacks disconnected:
a worker that outlived the window would emit on deleted Qt objects, which aborts the process.

**Sessions, shortcuts, remembered settings.** :class:`~.panels.SessionPanel` saves and opens session
folders (also trained by ``scribbleseg train --session``), :mod:`.shortcuts` binds the keys (listed in the
buttons' tooltips and the README), and :class:`~.remember.RememberedSettings` restores the user's last
choices when a dock opens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, Qt, Signal
from qtpy.QtWidgets import QMainWindow, QScrollArea, QVBoxLayout, QWidget

from ..engine.session import TrainingSession
from .autosave import Autosaver, RecoveryOffer
from .closing import WindowCloseWatcher
from .panels import (
    DataPanel,
    PanelContext,
    PredictPanel,
    SessionPanel,
    Suggestion,
    TrainingPanel,
    ViewPanel,
    notify_error,
)
from .preview import PreviewLayers, preview_request
from .remember import RememberedSettings
from .shortcuts import KeyboardShortcuts
from .workers import TaskRunner, freeze_startup_objects, lowered_priority, start_warm_up

if TYPE_CHECKING:
    import napari


def _unproxied(obj: Any) -> Any:
    """The object behind napari's plugin proxy (each attribute access through it makes a new proxy)."""
    return getattr(obj, "__wrapped__", obj)


class ScribbleSegWidget(QWidget):
    """Scribble-supervised segmentation of the volumes open in ``napari_viewer``.

    Parameters
    ----------
    napari_viewer
        The viewer (napari passes it to dock widgets).

    Attributes
    ----------
    data, training, files, view, sessions
        The panels: image and scribbles (:class:`~.panels.DataPanel`), training
        (:class:`~.panels.TrainingPanel`, its settings also as :attr:`settings`), prediction and files
        (:class:`~.panels.PredictPanel`), 3D view and suggested slices (:class:`~.panels.ViewPanel`),
        session folders (:class:`~.panels.SessionPanel`).
    session
        The Qt-free model of the session (trainer, loaded model).
    previews
        The prediction, attention and uncertainty layers.
    autosaver, recovery
        The autosave of the annotation layers and the dock's offer to restore them (:mod:`.autosave`).
    remembered, shortcuts
        The user's choices kept between napari sessions, and the keyboard shortcuts.
    """

    #: Every training event, after the widget has handled it (main thread).
    event_handled = Signal(object)
    #: The engine is imported: methods and devices are listed, Train is enabled.
    ready_changed = Signal(bool)

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = TrainingSession(run_context=lowered_priority)
        self.runner = TaskRunner(self)
        self.previews = PreviewLayers(napari_viewer)
        self.ctx = PanelContext(napari_viewer, self.session, self.runner, self.previews)
        self.data = DataPanel(napari_viewer)
        self.training = TrainingPanel(self.ctx, self.data)
        self.settings = self.training.settings
        self.files = PredictPanel(self.ctx, self.data, self.training)
        self.view = ViewPanel(napari_viewer, self.data)
        self.files.on_suggestions = lambda items: self.view.set_suggestions([Suggestion(*i) for i in items])
        self.sessions = SessionPanel(self.ctx, self.data, self.training, self.files)
        self.autosaver = Autosaver(napari_viewer, self._class_names, parent=self)
        self.recovery = RecoveryOffer(napari_viewer, self.autosaver)
        self._closer = WindowCloseWatcher(self.shutdown, self)
        self._links: list[tuple[Any, Callable[..., Any]]] = []  # viewer events -> our callbacks
        self._shut = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        outer.addWidget(self._scroll)
        self._body = QWidget()
        self._scroll.setWidget(self._body)
        root = QVBoxLayout(self._body)
        for panel in (self.recovery, self.data, self.training, self.files, self.view, self.sessions):
            root.addWidget(panel)
        root.addStretch(1)

        self.data.image_changed.connect(self._on_image_changed)
        self.data.annotations_changed.connect(self._update_buttons)
        self.settings.options_changed.connect(self._fit_width)
        self.training.event_handled.connect(self.event_handled)
        self.runner.started.connect(self._on_task_started)
        self.runner.errored.connect(self.training.status.task_failed)
        self.runner.finished.connect(self._on_task_finished)
        ev = self.viewer.layers.events
        for emitter in (ev.inserted, ev.removed, ev.moved):
            self._link(emitter, self._on_layers_changed)
        for layer in self.viewer.layers:
            self._watch_layer(layer)
        self._link(self.viewer.dims.events.current_step, self._update_preview_request)

        self.remembered = RememberedSettings(self.data, self.settings)
        self.shortcuts = KeyboardShortcuts(self, napari_viewer)
        t, f = self.training, self.files
        self.shortcuts.annotate(
            {"train": t.train_btn, "stop": t.stop_btn, "continue_training": t.continue_btn}
            | {
                "predict": f.predict_btn,
                "next_suggestion": self.view.next_btn,
                "toggle_3d": self.view.view3d_btn,
            }
        )
        self._refresh_layer_choices()
        self._update_buttons()
        self._fit_width()
        self._warm_up = start_warm_up(self._on_ready, self._on_warm_up_failed)
        # napari docks the widget after this returns; its window must be watched from now on, since a
        # viewer closed before any event is processed still has to wait for the engine-loading worker
        self._closer.watch(getattr(getattr(napari_viewer, "window", None), "_qt_window", None))

    def _link(self, emitter: Any, callback: Callable[..., Any]) -> None:
        emitter.connect(callback)
        self._links.append((emitter, callback))

    def _watch_layer(self, layer: Any) -> None:
        self._link(layer.events.name, self._refresh_layer_choices)
        self.autosaver.watch(layer)
        self.recovery.check(layer)

    def _class_names(self) -> tuple[str, ...] | None:
        try:
            return self.data.class_names()
        except Exception:
            return None

    def _on_warm_up_failed(self, exc: BaseException) -> None:
        notify_error(f"cannot load the training engine: {exc}")

    def _fit_width(self) -> None:
        """Ask the dock for the width the contents need (no horizontal scrolling, nothing clipped)."""
        bar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._body.minimumSizeHint().width() + bar + 6)

    def _on_ready(self, result: tuple[Any, list[str]]) -> None:
        """The start-up worker imported the engine: list methods and devices, enable the buttons."""
        methods, devices = result
        self.settings.set_engine(methods, devices)
        self.remembered.apply_engine()
        freeze_startup_objects()
        self.ctx.ready = True
        self._update_buttons()
        self.ready_changed.emit(True)

    # -- state ---------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether the engine is loaded (Train, Predict and Load work)."""
        return self.ctx.ready

    @property
    def busy(self) -> bool:
        """Whether a worker (training, prediction, loading) runs."""
        return self.runner.busy

    @property
    def worker(self) -> Any:
        """The running worker, if any."""
        return self.runner.worker

    @property
    def last_export(self) -> Path | None:
        """The file the last export wrote."""
        return self.files.last_export

    # -- actions (the panels' buttons call the same) -------------------------------------------------
    def train(self) -> None:
        """Train a new model on every image with annotations (in a worker thread)."""
        self.training.train()

    def stop(self) -> None:
        """End training after the current step; the model is kept for Continue and Predict."""
        self.training.stop()

    def continue_training(self) -> None:
        """Resume the current model (last trained or loaded) with the scribbles as they are now."""
        self.training.continue_training()

    def predict(self) -> None:
        """Segment the chosen image (and every other open image if asked) in a worker thread."""
        self.files.predict()

    def export_prediction(self, path: str | Path) -> Path:
        """Write the chosen image's prediction to ``path`` (NIfTI, image geometry, class sidecar)."""
        return self.files.export_prediction(path)

    def save_model(self, folder: str | Path) -> Path:
        """Save the trained model to ``folder`` (weights, metadata, training state)."""
        return self.files.save_model(folder)

    def load_model(self, folder: str | Path) -> Any:
        """Load a model folder (in a worker); Predict and Continue then use it. Returns the worker."""
        return self.files.load_model(folder)

    def save_session(self, folder: str | Path) -> Path:
        """Save layers, classes, settings and model into session folder ``folder``."""
        return self.sessions.save_session(folder)

    def open_session(self, folder: str | Path, locate: Any = None) -> Any:
        """Restore a session folder; returns the worker loading its model (then press Continue)."""
        return self.sessions.open_session(folder, locate)

    def next_suggestion(self) -> Any:
        """Go to the next slice suggested for scribbling (``None`` and a message when there is none)."""
        return self.view.next_suggestion()

    def toggle_3d(self) -> bool:
        """Switch between the 3D view of the prediction and the slices; whether 3D is shown now."""
        return self.view.toggle_3d()

    def select_class(self, value: int) -> None:
        """Paint scribble value ``value`` (1 = background, k + 1 = structure k) on the chosen image."""
        self.data.select_label(value)

    # -- wiring --------------------------------------------------------------------------------------
    def _on_layers_changed(self, event: Any = None) -> None:
        layer = getattr(event, "value", None)
        kind = getattr(event, "type", "") if event is not None else ""
        if kind == "inserted" and layer is not None:
            self._watch_layer(layer)
        elif kind == "removed" and layer is not None:  # let the removed layer (and its data) be freed
            name_event = _unproxied(layer.events.name)
            self._links = [(e, cb) for e, cb in self._links if _unproxied(e) is not name_event]
            layer.events.name.disconnect(self._refresh_layer_choices)
            self.autosaver.unwatch(layer)
            self.recovery.drop(layer)
        self._refresh_layer_choices()

    def _refresh_layer_choices(self, event: Any = None) -> None:
        self.data.refresh_images()
        self.settings.unpaired.refresh()
        self._update_buttons()

    def _on_image_changed(self, name: str) -> None:
        self._update_preview_request()
        self._update_buttons()

    def _update_preview_request(self, event: Any = None) -> None:
        """Ask the trainer to preview the slice the viewer shows of the chosen image."""
        names = self.previews.run_names or self.session.volume_names
        request = preview_request(self.viewer, self.data.image_layer(), names)
        if request is not None:
            self.session.preview_request = request

    def _on_task_started(self, task: str) -> None:
        self._install_close_hook()
        if task == "train":
            self._update_preview_request()
            self.remembered.save()
        self._update_buttons()

    def _on_task_finished(self, task: str) -> None:
        if task == "train":
            self.session.mark_idle()  # also when the worker was aborted (quit) mid-generator
        self.training.status.task_finished(task)
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.runner.busy or not self.ctx.ready
        has_image = self.data.image_layer() is not None
        s, t, f = self.session, self.training, self.files
        t.train_btn.setEnabled(not busy and has_image)
        t.stop_btn.setEnabled(self.runner.task == "train")
        t.continue_btn.setEnabled(not busy and s.can_continue)
        f.predict_btn.setEnabled(not busy and has_image and s.has_model)
        f.propagate_btn.setEnabled(not busy and has_image)
        f.export_btn.setEnabled(not busy and self.data.prediction_layer() is not None)
        f.save_btn.setEnabled(not busy and s.trained)
        f.load_btn.setEnabled(not busy)
        for btn in self.data.layer_buttons:
            btn.setEnabled(has_image)
        self.sessions.update_buttons(busy)
        self.view.view3d_btn.setEnabled(self.view.in_3d or self.data.prediction_layer() is not None)

    # -- closing -------------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 20.0) -> None:
        """End everything the dock runs, for viewer close; waits at most ``timeout`` s in all.

        Training stops after its current step and its generator runs to the end in the worker thread (no
        ``worker.quit()``, which would leave it suspended mid-run); Predict and Propagate stop at their
        next slice; Load and the engine import run to their end. Every worker's callbacks are
        disconnected first, so none runs on a deleted widget; pending autosaves are written.
        """
        if self._shut:
            return
        self._shut = True
        deadline = time.monotonic() + timeout
        self.session.stop()
        self.remembered.save()
        self.shortcuts.unbind()
        for emitter, callback in self._links:
            try:
                emitter.disconnect(callback)
            except (TypeError, ValueError, RuntimeError):  # already gone with its layer
                pass
        self._links.clear()
        self.autosaver.close()
        self._warm_up.cancel()  # if queued behind another dock's warm-up, it never begins
        self._warm_up.disconnect()
        self.runner.shutdown(max(deadline - time.monotonic(), 0.0))
        self._warm_up.wait(max(deadline - time.monotonic(), 0.0))

    def _install_close_hook(self) -> None:
        """Watch the main window (the first QMainWindow above the dock) for its close event."""
        w = self.parent()
        while w is not None and not isinstance(w, QMainWindow):
            w = w.parent()
        self._closer.watch(w)

    def showEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        """Hook the main window's close once the widget is docked and shown."""
        self._install_close_hook()
        super().showEvent(event)
