"""The "Image and scribbles" panel: the chosen image, class names, annotation layers and their legend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ...data.dataset import Case
from .. import layers as L
from .. import supervision as S
from ..colors import legend_entries
from .base import notify_error


def _swatch(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)


class DataPanel(QGroupBox):
    """Choose the image, name the classes, make scribble / dense-mask layers, and pick a brush colour.

    It also turns the viewer's layers into training data (:meth:`training_sets`, :meth:`cases`), copies
    that a worker may own: only the layers the user chose for it (see :mod:`..supervision`).

    Parameters
    ----------
    viewer
        The napari viewer.
    """

    #: The chosen image changed (its name); its class names and the legend are already updated.
    image_changed = Signal(str)
    #: An annotation layer was made or chosen (buttons may change state).
    annotations_changed = Signal()

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__("Image and scribbles", parent)
        self.viewer = viewer
        form = QFormLayout(self)
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
        self.use_dense_btn = QPushButton("Use selected as dense mask")
        self.use_dense_btn.setToolTip(
            "Train with the selected Labels layer (e.g. a mask opened from a file) as the image's dense mask "
            "(mask encoding). Masks opened from files never train unless chosen here"
        )
        row = QHBoxLayout()
        for btn in self.layer_buttons[:3]:
            row.addWidget(btn)
        form.addRow(row)
        form.addRow(self.use_dense_btn)
        self.legend = QWidget()
        self.legend_layout = QGridLayout(self.legend)
        self.legend_layout.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.legend)

        self.image_combo.currentTextChanged.connect(self._on_image_changed)
        self.classes_edit.editingFinished.connect(self.on_classes_edited)
        self.new_scribbles_btn.clicked.connect(self.new_scribble_layer)
        self.annotator_btn.clicked.connect(self.new_annotator_layer)
        self.dense_btn.clicked.connect(self.new_dense_layer)
        self.use_dense_btn.clicked.connect(lambda _=False: self.use_as_dense_mask())

    @property
    def layer_buttons(self) -> tuple[QPushButton, ...]:
        """The buttons that make annotation layers (enabled when there is an image)."""
        return (self.new_scribbles_btn, self.annotator_btn, self.dense_btn, self.use_dense_btn)

    # -- image and classes ---------------------------------------------------------------------------
    def refresh_images(self) -> None:
        """List the viewer's image layers, keeping the current choice when it still exists."""
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

    def image_layer(self) -> Any | None:
        """The image layer chosen in the panel."""
        name = self.image_combo.currentText()
        return self.viewer.layers[name] if name and name in self.viewer.layers else None

    def prediction_layer(self) -> Any | None:
        """The chosen image's prediction layer, if any."""
        image = self.image_layer()
        if image is None:
            return None
        return L.prediction_layer_for(self.viewer.layers, image)

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
        self.rebuild_legend()
        self.image_changed.emit(name)

    def class_names(self) -> tuple[str, ...]:
        """The class names typed in the panel (raises ``LabelError`` when invalid)."""
        from ...labels import parse_class_names

        return parse_class_names(self.classes_edit.text())

    def set_class_names(self, names: tuple[str, ...]) -> None:
        """Show ``names`` and apply them to the chosen image's scribble and prediction layers."""
        self.classes_edit.setText(",".join(names))
        self.on_classes_edited()

    def on_classes_edited(self) -> None:
        """Apply the typed class names to the chosen image's scribbles and prediction; redraw the legend."""
        try:
            names = self.class_names()
        except Exception as exc:
            notify_error(str(exc))
            return
        image = self.image_layer()
        if image is not None:
            for kind, layer in (
                ("scribbles", L.scribble_layer_for(self.viewer.layers, image)),
                ("mask", L.prediction_layer_for(self.viewer.layers, image)),
            ):
                if layer is not None and L.is_labels(layer):
                    L.set_class_names(layer, kind, names)
        self.rebuild_legend()

    def rebuild_legend(self) -> None:
        """One button per scribble value, in its colour; a click selects that brush."""
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
            key = f" (Alt+{value})" if value <= 9 else ""
            btn.setToolTip(
                f"Paint {name} (scribble value {value}){key}; predictions show it in the same colour"
            )
            btn.clicked.connect(lambda _=False, v=value: self.select_label(v))
            self.legend_layout.addWidget(btn, i // 2, i % 2)

    # -- annotation layers ---------------------------------------------------------------------------
    def select_label(self, value: int) -> None:
        """Make the scribble layer active with the brush on scribble ``value`` (a class's value only)."""
        try:
            n = len(self.class_names())
        except Exception as exc:
            notify_error(str(exc))
            return
        if not 1 <= value <= n:
            notify_error(f"no scribble value {value}: the {n} classes use the values 1 to {n}")
            return
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
            notify_error("open an image first")
            return None
        try:
            names = self.class_names()
        except Exception as exc:
            notify_error(str(exc))
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
        self.annotations_changed.emit()
        return layer

    def use_as_dense_mask(self, layer: Any | None = None) -> Any | None:
        """Make ``layer`` (default: the selected layer) the chosen image's dense mask (explicit choice)."""
        image = self.image_layer()
        layer = layer if layer is not None else self.viewer.layers.selection.active
        if image is None:
            notify_error("open an image first")
            return None
        try:
            S.assign_dense_mask(self.viewer.layers, layer, image, self.class_names())
        except Exception as exc:
            notify_error(str(exc))
            return None
        self.annotations_changed.emit()
        return layer

    # -- training data (see :mod:`..supervision`) ----------------------------------------------------
    def training_sets(self) -> list[S.TrainingSet]:
        """What trains: every open image with annotations, the chosen image first (its slices preview)."""
        return S.training_sets(self.viewer.layers, self.image_layer())

    def cases(self, sets: list[S.TrainingSet] | None = None) -> list[Case]:
        """Copies of the annotated images (of ``sets``, default all) as training cases.

        Raises ``ValueError`` when there are none.
        """
        return S.training_cases(self.training_sets() if sets is None else sets)

    def unlabeled_cases(self, trained: set[str]) -> list[Case]:
        """Copies of the open images not in ``trained``, as cases without annotations."""
        return S.unlabeled_cases(self.viewer.layers, trained)

    def label_training_layers(self, names: tuple[str, ...]) -> None:
        """Record ``names`` as the class names of every annotation layer that trains."""
        S.label_training_layers(self.training_sets(), names)
