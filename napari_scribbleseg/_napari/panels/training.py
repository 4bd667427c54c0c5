"""The "Training" panel: settings, Train / Stop / Continue, and the progress of the run.

Train and Continue turn the viewer's layers into copies (a :class:`~napari_scribbleseg.engine.session.
TrainRequest` or new cases) on the main thread and run the session's generator in a worker; its events
come back through :meth:`TrainingPanel.on_event` on the main thread, which alone updates layers.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ...engine.method_choice import resolve_method
from ...engine.session import TrainRequest
from ..preview import expected_attention_keys
from ..supervision import describe_training_sets
from .base import PanelContext, notify_error
from .data import DataPanel
from .plot import TrainingPlot
from .settings import TrainingSettings
from .status import StatusView


class TrainingPanel(QGroupBox):
    """Train a new model, stop it, continue it; shows training events.

    Parameters
    ----------
    ctx
        Viewer, session, task runner and preview layers.
    data
        The panel whose image, classes and layers train.
    """

    #: Every training event, after the panel has handled it (main thread).
    event_handled = Signal(object)

    def __init__(self, ctx: PanelContext, data: DataPanel, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        self.ctx, self.data = ctx, data
        self.run_config: Any = None
        self._run_info = ""  # which layers the run trains on (status of the dock)
        layout = QVBoxLayout(self)
        self.settings = TrainingSettings(ctx.viewer, self)
        layout.addWidget(self.settings)
        buttons = QHBoxLayout()
        self.train_btn = QPushButton("Train")
        self.train_btn.setToolTip("Train a new model on every image that has a scribble layer")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("End training after the current step; the model is kept")
        self.continue_btn = QPushButton("Continue")
        self.continue_btn.setToolTip(
            "Resume from the same weights and optimiser state with the scribbles as they are now"
        )
        for b in (self.train_btn, self.stop_btn, self.continue_btn):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.status = StatusView(self)
        layout.addWidget(self.status)
        self.plot = TrainingPlot(self)  # loss, validation score, time to the next preview
        layout.addWidget(self.plot)
        ctx.runner.finished.connect(lambda task: self.plot.finish() if task == "train" else None)

        self.train_btn.clicked.connect(self.train)
        self.stop_btn.clicked.connect(self.stop)
        self.continue_btn.clicked.connect(self.continue_training)

    # -- actions -------------------------------------------------------------------------------------
    def train(self) -> None:
        """Train a new model on every image with annotations (in a worker thread)."""
        if not self.ctx.can_start():
            return
        s = self.settings
        try:
            names = self.data.class_names()
            cases = self._annotated_cases()
            config = s.train_config()
            options = s.method_options()
            pre = s.preprocess_config()
            unpaired = s.unpaired_source()
            unlabeled = self.data.unlabeled_cases({c.name for c in cases}) if s.wants_unlabeled() else []
        except Exception as exc:
            notify_error(str(exc))
            return
        if unlabeled:
            self._run_info += "; unlabeled: " + ", ".join(c.name for c in unlabeled)
        self.data.label_training_layers(names)
        request = TrainRequest(cases, names, config, options, pre, unpaired, unlabeled)
        try:  # the method auto will choose: its attention layers are made before training loads the CPU
            shown = resolve_method(config, cases, unpaired is not None, None, None, pre)[0]
        except Exception:
            shown = config  # the trainer reports the problem
        self._start(shown, [c.name for c in cases], names, self.ctx.session.train, request)

    def _annotated_cases(self) -> list[Any]:
        """The training cases from the layers the user chose; what they are goes to the run's status."""
        sets = self.data.training_sets()
        cases = self.data.cases(sets)
        self._run_info = describe_training_sets(sets)
        return cases

    def continue_training(self) -> None:
        """Resume the current model with the scribbles as they are now (in a worker thread).

        The current model is the last one trained or loaded: a loaded model folder continues from its
        saved weights and optimiser state (``Trainer(resume=...)``), with its own method and options.
        """
        if not self.ctx.can_start():
            return
        session = self.ctx.session
        if session.continues_loaded:
            self._continue_loaded()
            return
        if not session.trained:
            notify_error("nothing to continue: press Train first, or Load a model")
            return
        try:
            cases = self._annotated_cases()
        except Exception as exc:
            notify_error(str(exc))
            return
        names = tuple(session.trainer.class_names)
        stop_after = self.settings.stop_after()
        self._start(session.trainer.config, [c.name for c in cases], names, session.resume, cases, stop_after)

    def _continue_loaded(self) -> None:
        """Continue the loaded model folder: its method, network and options; the panel's data and device."""
        session, s = self.ctx.session, self.settings
        try:
            session.check_resumable(self.data.class_names())
            cases = self._annotated_cases()
            request = session.resume_request(
                cases, s.train_config(), s.stop_after(), s.unpaired_source(), s.method_combo.currentText()
            )
        except Exception as exc:
            notify_error(str(exc))
            return
        names = request.class_names
        self._start(request.config, [c.name for c in cases], names, session.train, request)

    def _start(
        self, config: Any, volume_names: list[str], names: tuple[str, ...], func: Any, *args: Any
    ) -> None:
        """Run training generator ``func(*args)`` on ``volume_names`` in a worker."""
        self.run_config = config
        self.ctx.session.volume_names = list(volume_names)
        keys = expected_attention_keys(config.method, len(names), config.width, config.depth)
        self.ctx.previews.begin_run(volume_names, names, keys)
        self.status.busy("preparing…")  # busy until the first progress event
        self.status.set_text(f"preparing {len(volume_names)} volume(s)…")
        self.status.set_run_info(self._run_info)
        self.plot.begin(config.preview_every)
        self.ctx.runner.start("train", func, *args, on_yielded=self.on_event)

    def stop(self) -> None:
        """End training after the current step; the model is kept for Continue and Predict."""
        self.ctx.session.stop()
        if self.ctx.runner.task == "train":
            self.status.set_text("stopping after the current step…")

    def on_event(self, ev: Any) -> None:
        """Handle one training event from the worker (main thread)."""
        from ...engine import events as E

        if isinstance(ev, E.Preview):
            self.ctx.previews.show(ev)
        else:
            self.status.show_event(ev)
        self.plot.add_event(ev)
        self.event_handled.emit(ev)
