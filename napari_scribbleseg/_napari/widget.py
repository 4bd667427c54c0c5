"""The dock widget: scribble, train in the background, watch predictions, predict, export.

The widget is thin: it turns layers into engine inputs (copies), starts worker threads, and turns engine
events into layer updates. Training logic lives in :mod:`napari_scribbleseg.engine`; what the workers run
lives in :mod:`.session`. torch and the engine are imported by a worker thread once the widget exists
(the method list appears when they are loaded), never when this module is imported.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QEvent, QObject, Qt, QTimer, Signal
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import layers as L
from .colors import legend_entries
from .config_form import ConfigForm
from .session import PredictItem, TrainingSession, TrainRequest, UnpairedSource

if TYPE_CHECKING:
    import napari

log = logging.getLogger(__name__)

_NONE = "(none)"
_FOLDER = "folder…"
_SAMPLE_MASKS = "cardiac sample masks (6 subjects)"


def _format_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    s = max(0, int(round(s)))
    return f"{s // 60}:{s % 60:02d}"


def _swatch(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)


_FROZEN = False


def default_training_threads() -> int:
    """CPU threads for training from the GUI: all the CPUs this process may use but one."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, n - 1)


def _freeze_startup_objects() -> None:
    """Move every object alive now (napari, torch, the engine) out of the cyclic GC's reach, once.

    A full (generation 2) collection runs in whichever thread happens to allocate and holds the GIL
    while it walks every tracked object; with napari and torch loaded that is millions of objects, and
    ``bench/responsiveness.py`` measured a 314 ms freeze of the viewer from one such collection during
    training. :func:`gc.freeze` (Python >= 3.7, made for this) puts today's long-lived objects in a
    permanent generation, so later full collections only scan what was made since. It is a process-wide
    setting; the cost is that garbage cycles among the frozen objects are never collected (there are
    few: these are mostly modules, classes and napari's own long-lived objects).
    """
    global _FROZEN
    if not _FROZEN:
        gc.freeze()
        _FROZEN = True


class _Relay(QObject):
    """Carries progress from a worker thread to the main thread (queued signal)."""

    progress = Signal(str, int, int)


class ScribbleSegWidget(QWidget):
    """Scribble-supervised segmentation of the volumes open in ``napari_viewer``.

    Parameters
    ----------
    napari_viewer
        The viewer (napari passes it to dock widgets).

    Notes
    -----
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
    """

    #: Every training event, after the widget has handled it (main thread).
    event_handled = Signal(object)
    #: The engine is imported: methods and devices are listed, Train is enabled.
    ready_changed = Signal(bool)

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        from ..config import PreprocessConfig, TrainConfig

        self.viewer = napari_viewer
        self.session = TrainingSession()
        self._methods: Any = None  # the engine's METHODS registry, once torch is imported
        self.ready = False
        self._worker: Any = None
        self._task: str | None = None  # "train" | "predict" | "load"
        self._unpaired_folder: Path | None = None
        self._train_started = 0.0
        self._last_event: Any = None
        self._relay = _Relay()
        self._relay.progress.connect(self._on_predict_progress)
        self.last_export: Path | None = None
        self._run_names: list[str] = []
        self._run_classes: tuple[str, ...] = ()
        self._run_config: Any = None
        self._latest_preview: dict[str, Any] = {}
        self._layers_to_make: list[tuple[str, str, str]] = []
        self._making_layers = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        root = QVBoxLayout(body)

        # -- data -------------------------------------------------------------------------------------
        data_box = QGroupBox("Image and scribbles")
        form = QFormLayout(data_box)
        self.image_combo = QComboBox()
        self.image_combo.setToolTip("The image to scribble on, preview and predict")
        form.addRow("image", self.image_combo)
        self.classes_edit = QLineEdit("background,RV,MYO,LV")
        self.classes_edit.setToolTip("Class names, background first, separated by commas")
        form.addRow("classes", self.classes_edit)
        self.new_scribbles_btn = QPushButton("New scribble layer")
        self.new_scribbles_btn.setToolTip(
            "Labels layer '<image> scribbles' on the image's grid: 0 = not annotated (eraser), "
            "1 = background, k+1 = structure k"
        )
        self.annotator_btn = QPushButton("Another annotator")
        self.annotator_btn.setToolTip(
            "One more scribble layer for the image ('<image> scribbles 2', ...): the supervised losses are "
            "summed over annotators (Valvano et al. Sec. V-E)"
        )
        self.dense_btn = QPushButton("New dense mask layer")
        self.dense_btn.setToolTip(
            "Labels layer '<image> mask' in mask encoding (0 = background, k = structure k), trained with "
            "weighted CE next to the scribbles (mixed supervision); starts from the image's prediction, "
            "if any, for you to correct"
        )
        row = QHBoxLayout()
        for btn in (self.new_scribbles_btn, self.annotator_btn, self.dense_btn):
            row.addWidget(btn)
        form.addRow(row)
        self.legend = QWidget()
        self.legend_layout = QGridLayout(self.legend)
        self.legend_layout.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.legend)
        root.addWidget(data_box)

        # -- training -----------------------------------------------------------------------------------
        train_box = QGroupBox("Training")
        tform = QFormLayout(train_box)
        self.method_combo = QComboBox()
        self.method_combo.addItem("loading…")
        self.method_combo.setEnabled(False)
        tform.addRow("method", self.method_combo)
        self.method_desc = QLabel()
        self.method_desc.setWordWrap(True)
        self.method_desc.setStyleSheet("color: gray;")
        tform.addRow(self.method_desc)
        self.options_holder = QVBoxLayout()
        holder = QWidget()
        holder.setLayout(self.options_holder)
        self.options_holder.setContentsMargins(0, 0, 0, 0)
        tform.addRow(holder)
        self.method_form: ConfigForm | None = None

        self.unpaired_label = QLabel("unpaired masks")
        self.unpaired_combo = QComboBox()
        self.unpaired_combo.setToolTip(
            "Masks (0 = background, k = structure k) of other subjects: the shape prior of adversarial "
            "methods. A Labels layer, a folder of NIfTI masks, or the cardiac sample's masks."
        )
        tform.addRow(self.unpaired_label, self.unpaired_combo)
        self.unlabeled_check = QCheckBox("unlabeled data: open images without scribbles")
        tform.addRow(self.unlabeled_check)

        stop_row = QHBoxLayout()
        self.stop_kind = QComboBox()
        self.stop_kind.addItems(["seconds", "epochs", "steps"])
        self.stop_kind.setToolTip("Train for a time budget, a number of epochs, or a number of steps")
        self.stop_value = QDoubleSpinBox()
        self.stop_value.setDecimals(0)
        self.stop_value.setRange(1, 10_000_000)
        self.stop_value.setValue(120)
        stop_row.addWidget(self.stop_value)
        stop_row.addWidget(self.stop_kind)
        tform.addRow("train for", stop_row)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto"])
        self.device_combo.setToolTip("auto: the first CUDA device if there is one, else the CPU")
        tform.addRow("device", self.device_combo)

        self.advanced_btn = QToolButton()
        self.advanced_btn.setText("advanced settings")
        self.advanced_btn.setCheckable(True)
        self.advanced_btn.setArrowType(Qt.RightArrow)
        self.advanced_btn.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        tform.addRow(self.advanced_btn)
        self.advanced = QWidget()
        adv = QVBoxLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        self.train_form = ConfigForm(
            TrainConfig, exclude=("method", "epochs", "time_budget", "max_steps", "device")
        )
        # leave a core to napari: with other busy processes, 1 training thread trained ~10x faster than
        # 2 on this 2-core machine (no OpenMP spin-waits on a descheduled partner); see
        # bench/results/responsiveness.md
        self.train_form.set_values({"threads": default_training_threads()})
        self.pre_form = ConfigForm(PreprocessConfig)
        adv.addWidget(QLabel("<b>training</b>"))
        adv.addWidget(self.train_form)
        adv.addWidget(QLabel("<b>preprocessing</b>"))
        adv.addWidget(self.pre_form)
        self.advanced.setVisible(False)
        tform.addRow(self.advanced)

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
        tform.addRow(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        tform.addRow(self.progress)
        self.status = QLabel("Paint scribbles, then press Train.")
        self.status.setWordWrap(True)
        tform.addRow(self.status)
        root.addWidget(train_box)

        # -- prediction and files -------------------------------------------------------------------------
        pred_box = QGroupBox("Prediction and files")
        pform = QFormLayout(pred_box)
        self.all_images_check = QCheckBox("also every other open image")
        self.uncertainty_check = QCheckBox("uncertainty (entropy) layer")
        pform.addRow(self.all_images_check)
        pform.addRow(self.uncertainty_check)
        self.predict_btn = QPushButton("Predict")
        self.predict_btn.setToolTip("Segment the whole volume into '<image> prediction'")
        pform.addRow(self.predict_btn)
        files = QHBoxLayout()
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip(
            "Write the prediction as NIfTI with the image's geometry (+ class names JSON)"
        )
        self.save_btn = QPushButton("Save model…")
        self.load_btn = QPushButton("Load model…")
        for b in (self.export_btn, self.save_btn, self.load_btn):
            files.addWidget(b)
        pform.addRow(files)
        root.addWidget(pred_box)
        root.addStretch(1)
        self._scroll, self._body = scroll, body

        # -- connections ----------------------------------------------------------------------------------
        self.image_combo.currentTextChanged.connect(self._on_image_changed)
        self.classes_edit.editingFinished.connect(self._on_classes_edited)
        self.new_scribbles_btn.clicked.connect(self.new_scribble_layer)
        self.annotator_btn.clicked.connect(self.new_annotator_layer)
        self.dense_btn.clicked.connect(self.new_dense_layer)
        self.method_combo.currentTextChanged.connect(self._on_method_changed)
        self.unpaired_combo.activated.connect(self._on_unpaired_activated)
        self.stop_kind.currentTextChanged.connect(self._on_stop_kind)
        self.advanced_btn.toggled.connect(self._toggle_advanced)
        self.train_btn.clicked.connect(self.train)
        self.stop_btn.clicked.connect(self.stop)
        self.continue_btn.clicked.connect(self.continue_training)
        self.predict_btn.clicked.connect(self.predict)
        self.export_btn.clicked.connect(self._export_dialog)
        self.save_btn.clicked.connect(self._save_dialog)
        self.load_btn.clicked.connect(self._load_dialog)

        ev = self.viewer.layers.events
        ev.inserted.connect(self._on_layers_changed)
        ev.removed.connect(self._on_layers_changed)
        ev.moved.connect(self._on_layers_changed)
        for layer in self.viewer.layers:
            layer.events.name.connect(self._refresh_layer_choices)
        self.viewer.dims.events.current_step.connect(self._update_preview_request)
        self._close_hooked = 0  # id() of the hooked window (no reference: the viewer must be freed on close)

        self._refresh_layer_choices()
        self._update_buttons()
        self._fit_width()
        self._start_warm_up()

    def _fit_width(self) -> None:
        """Ask the dock for the width the contents need (no horizontal scrolling, nothing clipped)."""
        bar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._body.minimumSizeHint().width() + bar + 6)

    # ------------------------------------------------------------------------------------------------
    # start-up: torch and the engine are imported off the main thread
    # ------------------------------------------------------------------------------------------------
    def _start_warm_up(self) -> None:
        """Import torch and the engine in a worker; the method list appears when it is done.

        Importing torch takes 1-3 s, and the first optimiser imports ``torch._dynamo`` (2 s more); done in
        the main thread this would freeze napari when the dock opens, and done by the first training run
        it would stutter the viewer while it trains. See :func:`.session.warm_up`.
        """
        from napari.qt.threading import create_worker

        from .session import warm_up

        worker = create_worker(warm_up, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_ready)
        worker.errored.connect(lambda exc: self._error(f"cannot load the training engine: {exc}"))
        self._warm_up_worker = worker
        worker.start()

    def _on_ready(self, result: tuple[Any, list[str]]) -> None:
        from ..config import TrainConfig

        methods, devices = result
        self._methods = methods
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for name in methods.names():
            self.method_combo.addItem(name)
            self.method_combo.setItemData(
                self.method_combo.count() - 1, methods.get(name).description, Qt.ToolTipRole
            )
        default = TrainConfig().method
        self.method_combo.setCurrentText(default if default in methods else methods.names()[0])
        self.method_combo.blockSignals(False)
        self.method_combo.setEnabled(True)
        current = self.device_combo.currentText()
        self.device_combo.clear()
        self.device_combo.addItems(["auto", *devices])
        if current in devices:
            self.device_combo.setCurrentText(current)
        self._on_method_changed(self.method_combo.currentText())
        _freeze_startup_objects()
        self.ready = True
        self._update_buttons()
        self.ready_changed.emit(True)

    # ------------------------------------------------------------------------------------------------
    # layers and classes
    # ------------------------------------------------------------------------------------------------
    def _on_layers_changed(self, event: Any = None) -> None:
        layer = getattr(event, "value", None)
        if event is not None and getattr(event, "type", "") == "inserted" and layer is not None:
            layer.events.name.connect(self._refresh_layer_choices)
        self._refresh_layer_choices()

    def _refresh_layer_choices(self, event: Any = None) -> None:
        images = [la.name for la in L.image_layers(self.viewer.layers)]
        current = self.image_combo.currentText()
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        self.image_combo.addItems(images)
        if current in images:
            self.image_combo.setCurrentText(current)
        self.image_combo.blockSignals(False)
        if self.image_combo.currentText() != current:
            self._on_image_changed(self.image_combo.currentText())
        self._refresh_unpaired_choices()
        self._update_buttons()

    def _refresh_unpaired_choices(self) -> None:
        current = self.unpaired_combo.currentText()
        items = [_NONE]
        training = {la.name for la in L.image_layers(self.viewer.layers)}
        for la in self.viewer.layers:
            meta = L.info(la)
            if (
                not L.is_labels(la)
                or meta.get("kind") in ("scribbles", "dense")
                or la.name.endswith(L.SCRIBBLES_SUFFIX)
            ):
                continue
            if la.name.endswith(L.PREDICTION_SUFFIX) and la.name[: -len(L.PREDICTION_SUFFIX)] in training:
                continue
            items.append(la.name)
        if any(L.info(la).get("sample") == "cardiac" for la in self.viewer.layers):
            items.append(_SAMPLE_MASKS)
        if self._unpaired_folder is not None:
            items.append(f"folder: {self._unpaired_folder}")
        items.append(_FOLDER)
        self.unpaired_combo.blockSignals(True)
        self.unpaired_combo.clear()
        self.unpaired_combo.addItems(items)
        if current in items:
            self.unpaired_combo.setCurrentText(current)
        elif _SAMPLE_MASKS in items:
            self.unpaired_combo.setCurrentText(_SAMPLE_MASKS)
        elif self._unpaired_folder is not None:
            self.unpaired_combo.setCurrentText(f"folder: {self._unpaired_folder}")
        self.unpaired_combo.blockSignals(False)

    def image_layer(self) -> Any | None:
        """The image layer chosen in the widget."""
        name = self.image_combo.currentText()
        return self.viewer.layers[name] if name and name in self.viewer.layers else None

    def _on_image_changed(self, name: str) -> None:
        image = self.image_layer()
        if image is None:
            return
        names = L.class_names_of(image)
        scribbles = L.scribble_layer_for(self.viewer.layers, image)
        if names is None and scribbles is not None:
            names = L.class_names_of(scribbles)
        if names:
            self.classes_edit.setText(",".join(names))
        self._rebuild_legend()
        self._update_preview_request()
        self._update_buttons()

    def class_names(self) -> tuple[str, ...]:
        """The class names typed in the widget (raises ``LabelError`` when invalid)."""
        from ..labels import parse_class_names

        return parse_class_names(self.classes_edit.text())

    def _on_classes_edited(self) -> None:
        try:
            names = self.class_names()
        except Exception as exc:
            self._error(str(exc))
            return
        image = self.image_layer()
        if image is not None:
            for kind, layer in (
                ("scribbles", L.scribble_layer_for(self.viewer.layers, image)),
                ("mask", L.find_linked(self.viewer.layers, image, "mask", L.PREDICTION_SUFFIX)),
            ):
                if layer is not None and L.is_labels(layer):
                    L.set_class_names(layer, kind, names)
        self._rebuild_legend()

    def _rebuild_legend(self) -> None:
        while self.legend_layout.count():
            item = self.legend_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        try:
            names = self.class_names()
        except Exception:
            return
        for i, (value, color, name) in enumerate(legend_entries(names)):
            btn = QPushButton(f"{value}: {name}")
            btn.setIcon(_swatch(color))
            btn.setFlat(True)
            btn.setStyleSheet("text-align: left; padding: 1px 4px;")
            btn.setToolTip(f"Paint {name} (scribble value {value}); predictions show it in the same colour")
            btn.clicked.connect(lambda _=False, v=value: self.select_label(v))
            self.legend_layout.addWidget(btn, i // 2, i % 2)

    def select_label(self, value: int) -> None:
        """Make the scribble layer active with the brush on scribble ``value``."""
        layer = self.new_scribble_layer()
        if layer is not None:
            layer.selected_label = int(value)
            layer.mode = "paint"

    def new_scribble_layer(self) -> Any | None:
        """The chosen image's scribble layer, made if missing (scribble encoding, image's grid)."""
        return self._annotation_layer(
            "scribbles",
            lambda image: L.scribble_layer_for(self.viewer.layers, image),
            lambda image: f"{image.name}{L.SCRIBBLES_SUFFIX}",
        )

    def new_annotator_layer(self) -> Any | None:
        """A further scribble layer for the chosen image (another annotator)."""
        image = self.image_layer()
        if image is None or L.scribble_layer_for(self.viewer.layers, image) is None:
            return self.new_scribble_layer()
        return self._annotation_layer(
            "scribbles", None, lambda image: L.next_scribble_layer_name(self.viewer.layers, image)
        )

    def new_dense_layer(self) -> Any | None:
        """The chosen image's dense-mask layer, made if missing (from its prediction when there is one)."""
        return self._annotation_layer(
            "dense",
            lambda image: L.dense_layer_for(self.viewer.layers, image),
            lambda image: f"{image.name}{L.DENSE_SUFFIX}",
        )

    def _annotation_layer(
        self, kind: str, existing: Callable[[Any], Any] | None, name: Callable[[Any], str]
    ) -> Any | None:
        """The chosen image's ``kind`` layer found by ``existing``, else a new one named ``name(image)``.

        New scribble layers get the brush on the first structure; a new dense mask starts as a copy of
        the image's prediction, if any, for the user to correct.
        """
        image = self.image_layer()
        if image is None:
            self._error("open an image first")
            return None
        try:
            names = self.class_names()
        except Exception as exc:
            self._error(str(exc))
            return None
        layer = existing(image) if existing is not None else None
        if layer is None:
            layer = L.new_labels(self.viewer, image, name(image), kind, names)
            if kind == "scribbles":
                layer.brush_size = 3
                layer.selected_label = 2 if len(names) > 1 else 1
            else:
                prediction = self.prediction_layer()
                if prediction is not None and np.shape(prediction.data) == np.shape(layer.data):
                    layer.data = np.asarray(prediction.data).astype(layer.data.dtype, copy=True)
            layer.mode = "paint"
        elif L.class_names_of(layer) != names:
            L.set_class_names(layer, kind, names)
        self.viewer.layers.selection.active = layer
        self._update_buttons()
        return layer

    # ------------------------------------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------------------------------------
    def _on_method_changed(self, name: str) -> None:
        if self._methods is None or name not in self._methods:
            return
        cls = self._methods.get(name)
        self.method_desc.setText(cls.description)
        self.method_combo.setToolTip(cls.description)
        if self.method_form is not None:
            self.method_form.setParent(None)
            self.method_form.deleteLater()
        self.method_form = ConfigForm(cls.Config)
        self.options_holder.addWidget(self.method_form)
        self._fit_width()
        unpaired = bool(getattr(cls, "uses_unpaired_masks", False))
        self.unpaired_label.setVisible(unpaired)
        self.unpaired_combo.setVisible(unpaired)
        self.unlabeled_check.setVisible(bool(getattr(cls, "uses_unlabeled", False)))

    def _on_stop_kind(self, kind: str) -> None:
        defaults = {"seconds": 120, "epochs": 50, "steps": 500}
        self.stop_value.setValue(defaults.get(kind, 100))

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_btn.setArrowType(Qt.DownArrow if on else Qt.RightArrow)

    def _on_unpaired_activated(self, index: int) -> None:
        if self.unpaired_combo.itemText(index) != _FOLDER:
            return
        folder = QFileDialog.getExistingDirectory(self, "Folder of unpaired NIfTI masks")
        if folder:
            self.set_unpaired_folder(folder)
        else:
            self.unpaired_combo.setCurrentIndex(0)

    def set_unpaired_folder(self, folder: str | Path) -> None:
        """Use the NIfTI masks in ``folder`` as unpaired masks."""
        self._unpaired_folder = Path(folder)
        self._refresh_unpaired_choices()
        self.unpaired_combo.setCurrentText(f"folder: {self._unpaired_folder}")

    def set_unpaired_source(self, text: str) -> None:
        """Choose the unpaired-mask source by its combo text (a layer name, or the sample's masks)."""
        self._refresh_unpaired_choices()
        if self.unpaired_combo.findText(text) < 0:
            raise ValueError(f"no unpaired-mask source {text!r}")
        self.unpaired_combo.setCurrentText(text)

    def stop_after(self) -> dict[str, Any]:
        """The stopping criterion as TrainConfig fields."""
        value = self.stop_value.value()
        kind = self.stop_kind.currentText()
        return {
            "time_budget": float(value) if kind == "seconds" else None,
            "epochs": int(value) if kind == "epochs" else None,
            "max_steps": int(value) if kind == "steps" else None,
        }

    def train_config(self) -> Any:
        """The TrainConfig the widget describes."""
        from ..config import TrainConfig, from_dict

        values = self.train_form.values()
        values.update(self.stop_after())
        values["method"] = self.method_combo.currentText()
        values["device"] = self.device_combo.currentText()
        return from_dict(TrainConfig, values)

    def preprocess_config(self) -> Any:
        """The PreprocessConfig the widget describes."""
        from ..config import PreprocessConfig, from_dict

        return from_dict(PreprocessConfig, self.pre_form.values())

    def _unpaired_source(self) -> UnpairedSource | None:
        if self._methods is None:
            return None
        cls = self._methods.get(self.method_combo.currentText())
        if not getattr(cls, "uses_unpaired_masks", False):
            return None
        text = self.unpaired_combo.currentText()
        if text in (_NONE, _FOLDER, ""):
            return None
        if text == _SAMPLE_MASKS:
            return UnpairedSource("sample", name="cardiac")
        if text.startswith("folder: ") and self._unpaired_folder is not None:
            return UnpairedSource("folder", path=self._unpaired_folder)
        if text in self.viewer.layers:
            return UnpairedSource("cases", cases=(L.mask_case_from_layer(self.viewer.layers[text]),))
        return None

    # ------------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------------
    def training_sets(self) -> list[tuple[Any, list[Any], Any | None]]:
        """What trains: every open image that has any annotation.

        Each entry is (image layer, its scribble layers with annotations, its dense-mask layer or
        ``None``); the chosen image comes first (its slices are previewed).
        """
        sets = []
        chosen = self.image_layer()
        images = L.image_layers(self.viewer.layers)
        if chosen is not None:
            images = [chosen] + [im for im in images if im is not chosen]
        for image in images:
            scribbles = [
                la for la in L.scribble_layers_for(self.viewer.layers, image) if np.any(np.asarray(la.data))
            ]
            dense = L.dense_layer_for(self.viewer.layers, image)
            if dense is not None and not np.any(np.asarray(dense.data)):
                dense = None
            if scribbles or dense is not None:
                sets.append((image, scribbles, dense))
        return sets

    def _cases(self) -> list[Any]:
        sets = self.training_sets()
        if not sets:
            raise ValueError(
                "no scribbles yet: press 'New scribble layer' and paint background and structures on a "
                "few slices"
            )
        return [L.case_from_layers(image, scribbles, dense) for image, scribbles, dense in sets]

    def _can_start(self) -> bool:
        """True when a new task may start; otherwise tell the user why not."""
        if not self.ready:
            self._error("the training engine is still loading; try again in a moment")
            return False
        if self._worker is not None:
            self._error("busy: wait for the current task or press Stop")
            return False
        return True

    def train(self) -> None:
        """Train a new model on every image with scribbles (in a worker thread)."""
        if not self._can_start():
            return
        try:
            names = self.class_names()
            cases = self._cases()
            config = self.train_config()
            options = self.method_form.values() if self.method_form is not None else {}
            pre = self.preprocess_config()
            unpaired = self._unpaired_source()
            trained = {c.name for c in cases}
            unlabeled = []
            if self.unlabeled_check.isVisible() and self.unlabeled_check.isChecked():
                unlabeled = [
                    L.case_from_layers(im, None)
                    for im in L.image_layers(self.viewer.layers)
                    if im.name not in trained
                ]
        except Exception as exc:
            self._error(str(exc))
            return
        for _, scribbles, dense in self.training_sets():
            for layer in scribbles:
                L.set_class_names(layer, "scribbles", names)
            if dense is not None:
                L.set_class_names(dense, "dense", names)
        request = TrainRequest(cases, names, config, options, pre, unpaired, unlabeled)
        self._run_config = config
        self._start_training(self.session.train, request, [c.name for c in cases], names)

    def continue_training(self) -> None:
        """Resume the current model with the scribbles as they are now (in a worker thread).

        The current model is the last one trained or loaded: a loaded model folder continues from its
        saved weights and optimiser state (``Trainer(resume=...)``).
        """
        if not self._can_start():
            return
        if self.session.use_loaded and self.session.loaded is not None:
            self._continue_loaded()
            return
        if self.session.trainer is None or self.session.trainer.method is None:
            self._error("nothing to continue: press Train first, or Load a model")
            return
        try:
            cases = self._cases()
        except Exception as exc:
            self._error(str(exc))
            return
        names = tuple(self.session.trainer.class_names)
        self._run_config = self.session.trainer.config
        self._start_training(self.session.resume, cases, self.stop_after(), [c.name for c in cases], names)

    def _continue_loaded(self) -> None:
        """Continue the loaded model: its method, network and options, the widget's data and device."""
        import dataclasses

        from ..config import PreprocessConfig, TrainConfig, from_dict

        folder = self.session.loaded_dir
        meta = self.session.loaded.meta
        try:
            if folder is None or not (folder / "state").is_dir():
                raise ValueError(
                    f"{folder}: this model folder holds no training state (it was saved for prediction "
                    "only), so training cannot continue from it; press Train for a new model"
                )
            missing = [k for k in ("class_names", "train_config", "preprocess") if k not in meta]
            if missing:
                raise ValueError(f"{folder}: meta.json lacks {', '.join(missing)}; cannot continue it")
            names = tuple(meta["class_names"])
            if self.class_names() != names:
                raise ValueError(
                    f"the loaded model's classes are {', '.join(names)}; the widget has "
                    f"{', '.join(self.class_names())}: set them back to continue it"
                )
            cases = self._cases()
            current = self.train_config()
            config = dataclasses.replace(
                from_dict(TrainConfig, meta["train_config"]),
                device=current.device,
                threads=current.threads,
                preview_every=current.preview_every,
                **self.stop_after(),
            )
            pre = from_dict(PreprocessConfig, meta["preprocess"])
            unpaired = self._unpaired_source() if self.method_combo.currentText() == config.method else None
        except Exception as exc:
            self._error(str(exc))
            return
        request = TrainRequest(
            cases, names, config, dict(meta.get("method_config") or {}), pre, unpaired, [], resume=folder
        )
        self._run_config = config
        self._start_training(self.session.train, request, [c.name for c in cases], names)

    def _start_training(self, func: Any, *args: Any) -> None:
        *call_args, volume_names, names = args
        from napari.qt.threading import create_worker

        self._run_names = list(volume_names)
        self._run_classes = tuple(names)
        self.session.volume_names = list(volume_names)
        self._update_preview_request()
        worker = create_worker(func, *call_args, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_worker_error)
        worker.finished.connect(self._on_worker_finished)
        self._install_close_hook()
        self._worker = worker
        self._task = "train"
        self._train_started = time.monotonic()
        self._prepare_preview_layers()
        self.progress.setRange(0, 0)  # busy until the first progress event
        self.progress.setFormat("preparing…")
        self.status.setText(f"preparing {len(volume_names)} volume(s)…")
        self._update_buttons()
        worker.start()

    def _prepare_preview_layers(self) -> None:
        """Make the previewed image's prediction and attention layers while the worker loads the data.

        Adding a napari layer costs ~100 ms of main-thread time on an idle CPU and twice that once
        training competes for it, so they are made now, one per event-loop turn, rather than when the
        first preview arrives.
        """
        if not self._run_names or self._run_names[0] not in self.viewer.layers:
            return
        from .session import expected_attention_keys

        name = self._run_names[0]
        image = self.viewer.layers[name]
        cfg = self._run_config
        keys = (
            expected_attention_keys(cfg.method, len(self._run_classes), cfg.width, cfg.depth) if cfg else []
        )
        for kind, key in [("prediction", "")] + [("attention", k) for k in keys]:
            if (
                self._existing_preview_layer(image, kind, key) is None
                and (name, kind, key) not in self._layers_to_make
            ):
                self._layers_to_make.append((name, kind, key))
        if self._layers_to_make and not self._making_layers:
            self._making_layers = True
            QTimer.singleShot(0, self._make_next_preview_layer)

    def stop(self) -> None:
        """End training after the current step; the model is kept for Continue and Predict."""
        self.session.stop()
        if self._task == "train":
            self.status.setText("stopping after the current step…")

    # -- events (main thread) -------------------------------------------------------------------------
    def _on_event(self, ev: Any) -> None:
        from ..engine import events as E

        self._last_event = ev
        if isinstance(ev, E.Started):
            what = "resuming" if ev.resumed else "training"
            self.status.setText(
                f"{what} {ev.method} on {ev.device} ({ev.precision}), {ev.n_train_slices} annotated slices"
            )
            if ev.notes:
                from napari.utils.notifications import show_warning

                for note in ev.notes:
                    show_warning(note)
        elif isinstance(ev, E.Progress):
            loss = ev.losses.get("loss", next(iter(ev.losses.values()), float("nan")))
            if ev.fraction is not None:
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(1000 * min(max(ev.fraction, 0.0), 1.0)))
            else:
                self.progress.setRange(0, 0)
            self.progress.setFormat(f"step {ev.step} · loss {loss:.3f} · ETA {_format_seconds(ev.eta)}")
        elif isinstance(ev, E.Preview):
            self._show_preview(ev)
        elif isinstance(ev, E.Validation):
            self.status.setText(f"validation at step {ev.step}: {ev.loss:.4f}{' (best)' if ev.best else ''}")
        elif isinstance(ev, E.Finished):
            self.progress.setRange(0, 1000)
            self.progress.setValue(1000 if ev.reason != "stopped" else self.progress.value())
            self.progress.setFormat(f"done: {ev.reason} at step {ev.step}")
            self.status.setText(
                f"training ended ({ev.reason}) after {ev.elapsed:.0f} s at step {ev.step}; "
                "correct the scribbles and Continue, or Predict"
            )
        elif isinstance(ev, E.Failed):
            if ev.details:
                log.error("training failed:\n%s", ev.details)
            self._error(ev.message)
            self.status.setText(f"training failed: {ev.message}")
        self.event_handled.emit(ev)

    def _show_preview(self, ev: Any) -> None:
        """Write a preview slice into the prediction and attention layers of its image.

        Missing layers are made one per event-loop turn (:meth:`_make_next_preview_layer`): making a
        napari layer costs 100-400 ms of main-thread time (vispy shaders, layer controls), and making
        five at once would freeze the viewer for over a second.
        """
        if not 0 <= ev.volume < len(self._run_names):
            return
        name = self._run_names[ev.volume]
        if name not in self.viewer.layers:
            return
        image = self.viewer.layers[name]
        self._latest_preview[name] = ev
        wanted = [("prediction", "")] + [("attention", key) for key in ev.attention]
        for kind, key in wanted:
            layer = self._existing_preview_layer(image, kind, key)
            if layer is None:
                if (name, kind, key) not in self._layers_to_make:
                    self._layers_to_make.append((name, kind, key))
            else:
                self._write_preview(image, layer, ev, kind, key)
        if self._layers_to_make and not self._making_layers:
            self._making_layers = True
            QTimer.singleShot(0, self._make_next_preview_layer)

    def _existing_preview_layer(self, image: Any, kind: str, key: str) -> Any | None:
        shape = tuple(np.shape(image.data))
        if kind == "prediction":
            layer = L.find_linked(self.viewer.layers, image, "mask", L.PREDICTION_SUFFIX)
            ok = layer is not None and L.is_labels(layer) and tuple(np.shape(layer.data)) == shape
        else:
            name = self._attention_name(image, key)
            layer = self.viewer.layers[name] if name in self.viewer.layers else None
            ok = layer is not None and tuple(np.shape(layer.data)) == shape
        return layer if ok else None

    def _write_preview(self, image: Any, layer: Any, ev: Any, kind: str, key: str) -> None:
        index = L.geometry_of(image).file_slice(ev.slice_index)
        if kind == "prediction":
            if L.class_names_of(layer) != tuple(self._run_classes):
                L.set_class_names(layer, "mask", self._run_classes)
            L.geometry_of(layer).from_napari(layer.data)[index] = ev.prediction
        else:
            L.geometry_of(layer).from_napari(layer.data)[index] = ev.attention[key]
        layer.refresh()

    def _make_next_preview_layer(self) -> None:
        while self._layers_to_make:
            name, kind, key = self._layers_to_make.pop(0)
            if name not in self.viewer.layers:
                continue
            image = self.viewer.layers[name]
            if kind == "prediction":
                layer = self._prediction_layer(image, self._run_classes)
            else:
                layer = self._attention_layer(image, key)
            ev = self._latest_preview.get(name)
            if ev is not None and (kind == "prediction" or key in ev.attention):
                self._write_preview(image, layer, ev, kind, key)
            break
        if self._layers_to_make:
            # leave the event loop time to paint and handle input between two layers
            QTimer.singleShot(60, self._make_next_preview_layer)
        else:
            self._making_layers = False

    def _prediction_layer(self, image: Any, names: tuple[str, ...]) -> Any:
        layer = L.find_linked(self.viewer.layers, image, "mask", L.PREDICTION_SUFFIX)
        if (
            layer is None
            or not L.is_labels(layer)
            or tuple(np.shape(layer.data)) != tuple(np.shape(image.data))
        ):
            if layer is not None:
                self.viewer.layers.remove(layer)
            layer = L.new_labels(self.viewer, image, f"{image.name}{L.PREDICTION_SUFFIX}", "mask", names)
            self._keep_scribbles_on_top(image)
        elif L.class_names_of(layer) != tuple(names):
            L.set_class_names(layer, "mask", names)
        return layer

    @staticmethod
    def _attention_name(image: Any, key: str) -> str:
        return f"{image.name}{L.ATTENTION_INFIX}{key.split()[-1]}"  # "scale 1/8" -> "<image> attention 1/8"

    def _attention_layer(self, image: Any, key: str) -> Any:
        name = self._attention_name(image, key)
        if name in self.viewer.layers and tuple(np.shape(self.viewer.layers[name].data)) == tuple(
            np.shape(image.data)
        ):
            return self.viewer.layers[name]
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        # the first scale is shown; the others start hidden (additive maps would wash each other out,
        # and hidden layers cost nothing when the slider moves)
        first = not any(la.name.startswith(f"{image.name}{L.ATTENTION_INFIX}") for la in self.viewer.layers)
        layer = self.viewer.add_image(
            np.zeros(np.shape(image.data), np.float32),
            name=name,
            visible=first,
            metadata=L.make_meta("attention", L.geometry_of(image), None, image.name),
            colormap="inferno",
            blending="additive",
            opacity=0.6,
            contrast_limits=(0.0, 1.0),
            **L.placement_kwargs(image),
        )
        # below the labels layers of the image, so predictions and scribbles stay readable
        self._keep_scribbles_on_top(image)
        return layer

    def _keep_scribbles_on_top(self, image: Any) -> None:
        layers = self.viewer.layers
        for name in (f"{image.name}{L.PREDICTION_SUFFIX}", f"{image.name}{L.SCRIBBLES_SUFFIX}"):
            if name in layers:
                layers.move(layers.index(name), len(layers))

    def _update_preview_request(self, event: Any = None) -> None:
        """Ask the trainer to preview the slice the viewer shows of the chosen image."""
        names = getattr(self, "_run_names", None) or self.session.volume_names
        image = self.image_layer()
        if image is None or image.name not in names:
            return
        try:
            geom = L.geometry_of(image)
            dims = self.viewer.dims
            if 0 not in dims.not_displayed:  # the slice axis is on screen (e.g. rolled dims or 3D view)
                return
            data_pos = np.asarray(image.world_to_data(dims.point), float)
            j = int(np.clip(round(data_pos[0]), 0, geom.napari_shape[0] - 1))
        except Exception:  # never let a slider move fail
            return
        self.session.preview_request = (names.index(image.name), geom.file_slice_index(j))

    # ------------------------------------------------------------------------------------------------
    # prediction, export, models
    # ------------------------------------------------------------------------------------------------
    def predict(self) -> None:
        """Segment the chosen image (and every other open image if asked) in a worker thread."""
        if not self._can_start():
            return
        image = self.image_layer()
        if image is None:
            self._error("open an image first")
            return
        targets = [image]
        if self.all_images_check.isChecked():
            targets += [im for im in L.image_layers(self.viewer.layers) if im is not image]
        items = []
        for im in targets:
            arr, geom = L.image_array(im)
            items.append(PredictItem(im.name, arr, geom.spacing))

        self._start_task(
            "predict",
            "predicting…",
            self._on_predicted,
            self.session.predict,
            items,
            self.uncertainty_check.isChecked(),
            self._relay.progress.emit,
            determinate=True,
        )

    def _on_predict_progress(self, name: str, done: int, total: int) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / max(total, 1)))
        self.progress.setFormat(f"predicting {name}: slice {done}/{total}")

    def _on_predicted(self, results: list[Any]) -> None:
        for res in results:
            if res.name not in self.viewer.layers:
                continue
            image = self.viewer.layers[res.name]
            geom = L.geometry_of(image)
            pred = self._prediction_layer(image, res.class_names)
            pred.data = np.ascontiguousarray(geom.to_napari(res.mask))
            for key, amap in res.attention.items():
                att = self._attention_layer(image, key)
                att.data = np.ascontiguousarray(geom.to_napari(amap.astype(np.float32)))
            if res.uncertainty is not None:
                name = f"{image.name}{L.UNCERTAINTY_SUFFIX}"
                data = np.ascontiguousarray(geom.to_napari(res.uncertainty))
                hi = float(np.log(max(len(res.class_names), 2)))
                if name in self.viewer.layers:
                    self.viewer.layers[name].data = data
                else:
                    self.viewer.add_image(
                        data,
                        name=name,
                        colormap="magma",
                        blending="additive",
                        opacity=0.7,
                        contrast_limits=(0.0, hi),
                        metadata=L.make_meta("uncertainty", geom, res.class_names, image.name),
                        **L.placement_kwargs(image),
                    )
        self.progress.setValue(1000)
        self.progress.setFormat(f"predicted {len(results)} volume(s)")
        self.status.setText("prediction done: check it, export it, or correct scribbles and Continue")

    def prediction_layer(self) -> Any | None:
        """The chosen image's prediction layer, if any."""
        image = self.image_layer()
        if image is None:
            return None
        return L.find_linked(self.viewer.layers, image, "mask", L.PREDICTION_SUFFIX)

    def export_prediction(self, path: str | Path) -> Path:
        """Write the chosen image's prediction to ``path`` (NIfTI, image geometry, class sidecar)."""
        from .writer import export_layer

        layer = self.prediction_layer()
        if layer is None:
            raise ValueError("nothing to export: train or Predict first")
        out = export_layer(layer, path, L.class_names_of(layer) or self.class_names())
        self.last_export = out
        self.status.setText(f"exported {out}")
        return out

    def _export_dialog(self) -> None:
        layer = self.prediction_layer()
        if layer is None:
            self._error("nothing to export: train or Predict first")
            return
        src = L.geometry_of(self.image_layer()).path
        start = str(
            (src.parent if src else Path.home()) / f"{self.image_combo.currentText()}_prediction.nii.gz"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Export prediction", start, "NIfTI (*.nii.gz *.nii)")
        if path:
            try:
                self.export_prediction(path)
            except Exception as exc:
                self._error(str(exc))

    def save_model(self, folder: str | Path) -> Path:
        """Save the trained model to ``folder`` (weights, metadata, training state)."""
        out = self.session.save(folder)
        self.status.setText(f"model saved to {out}")
        return out

    def _save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model into folder")
        if folder:
            try:
                self.save_model(folder)
            except Exception as exc:
                self._error(str(exc))

    def load_model(self, folder: str | Path) -> Any:
        """Load a model folder (in a worker); Predict then uses it. Returns the worker."""
        if not self._can_start():
            return None
        return self._start_task(
            "load",
            "loading model…",
            self._on_loaded,
            self.session.load,
            folder,
            self.device_combo.currentText(),
        )

    def _start_task(
        self, task: str, text: str, on_returned: Any, func: Any, *args: Any, determinate: bool = False
    ) -> Any:
        """Run ``func(*args)`` in a worker thread; its result goes to ``on_returned`` on the main thread."""
        from napari.qt.threading import create_worker

        worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(on_returned)
        worker.errored.connect(self._on_worker_error)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self._task = task
        self.progress.setRange(0, 1000 if determinate else 0)
        self.progress.setValue(0)
        self.progress.setFormat(text)
        self._update_buttons()
        worker.start()
        return worker

    def _on_loaded(self, predictor: Any) -> None:
        self.classes_edit.setText(",".join(predictor.class_names))
        self._on_classes_edited()
        method = predictor.meta.get("method")
        if method and self.method_combo.findText(method) >= 0:  # Continue trains this method
            self.method_combo.setCurrentText(method)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("model loaded")
        self.status.setText(
            f"loaded {self.session.loaded_dir} ({predictor.meta.get('method')}): press Predict, or "
            "Continue to train it further"
        )

    def _load_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Load a model folder")
        if folder:
            self.load_model(folder)

    # ------------------------------------------------------------------------------------------------
    # worker plumbing
    # ------------------------------------------------------------------------------------------------
    def _on_worker_error(self, exc: BaseException) -> None:
        log.error("%s failed", self._task, exc_info=exc)
        self._error(str(exc) or type(exc).__name__)
        self.status.setText(f"{self._task} failed: {exc}")

    def _on_worker_finished(self) -> None:
        task = self._task
        if task == "train":
            self.session.mark_idle()  # also when the worker was aborted (quit) mid-generator
        self._worker = None
        self._task = None
        if task == "train" and self.progress.maximum() == 0:
            self.progress.setRange(0, 1000)
            self.progress.setFormat("stopped")
        if task in ("predict", "load") and self.progress.maximum() == 0:
            self.progress.setRange(0, 1000)
        self._update_buttons()

    @property
    def busy(self) -> bool:
        """Whether a worker (training, prediction, loading) runs."""
        return self._worker is not None

    @property
    def worker(self) -> Any:
        """The running worker, if any."""
        return self._worker

    def _update_buttons(self) -> None:
        busy = self._worker is not None or not self.ready
        training = self._task == "train"
        has_image = self.image_layer() is not None
        has_model = (self.session.trainer is not None and self.session.trainer.method is not None) or (
            self.session.loaded is not None
        )
        self.train_btn.setEnabled(not busy and has_image)
        self.stop_btn.setEnabled(training)
        self.continue_btn.setEnabled(
            not busy
            and (
                (self.session.trainer is not None and self.session.trainer.method is not None)
                or (self.session.use_loaded and self.session.loaded is not None)
            )
        )
        self.predict_btn.setEnabled(not busy and has_image and has_model)
        self.export_btn.setEnabled(not busy and self.prediction_layer() is not None)
        self.save_btn.setEnabled(
            not busy and self.session.trainer is not None and self.session.trainer.method is not None
        )
        self.load_btn.setEnabled(not busy)
        for btn in (self.new_scribbles_btn, self.annotator_btn, self.dense_btn):
            btn.setEnabled(has_image)

    def _error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        show_error(message)

    def shutdown(self, timeout: float = 20.0) -> None:
        """Stop any training and wait (up to ``timeout`` s) for it to end; for viewer close.

        The trainer ends after its current step and its generator runs to the end in the worker thread
        (no ``worker.quit()``, which would leave the generator suspended mid-run).
        """
        self.session.stop()
        if self._task == "train":
            self.session.wait(timeout)

    def _install_close_hook(self) -> None:
        """Watch the main window (the first QMainWindow above the dock) for its close event."""
        w = self.parent()
        while w is not None and not isinstance(w, QMainWindow):
            w = w.parent()
        if w is not None and id(w) != self._close_hooked:
            w.installEventFilter(self)
            self._close_hooked = id(w)

    def showEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        """Hook the main window's close once the widget is docked and shown."""
        self._install_close_hook()
        super().showEvent(event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """Stop training when the viewer's window closes."""
        if event.type() == QEvent.Close:
            self.shutdown()
        return False
