"""The training settings: method and its options, data regimes, when to stop, device, advanced configs."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...config import PreprocessConfig, TrainConfig, from_dict
from ...engine.method_choice import AUTO, AUTO_DESCRIPTION
from ...engine.session import STOP_UNITS, UnpairedSource, stop_criteria
from ..config_form import ConfigForm
from ..workers import default_training_threads
from .unpaired import UnpairedChooser

#: The value "train for" starts at when its unit changes.
STOP_DEFAULTS = {"seconds": 120, "epochs": 50, "steps": 500}
#: TrainConfig fields the settings set with their own inputs (not in the advanced form).
OWN_FIELDS = ("method", "epochs", "time_budget", "max_steps", "device")


class TrainingSettings(QWidget):
    """Everything that says how to train; :meth:`train_config` and friends read it as engine configs.

    The method list and devices appear once the engine is imported (:meth:`set_engine`); each method's
    options form is generated from its ``Config`` dataclass (:class:`~..config_form.ConfigForm`).
    """

    #: The method's options form was replaced (the dock may need another width).
    options_changed = Signal()

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.methods: Any = None  # the engine's METHODS registry, once torch is imported
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.method_combo = QComboBox()
        self.method_combo.addItem("loading…")
        self.method_combo.setEnabled(False)
        form.addRow("method", self.method_combo)
        self.method_desc = QLabel()
        self.method_desc.setWordWrap(True)
        self.method_desc.setStyleSheet("color: gray;")
        form.addRow(self.method_desc)
        self.options_holder = QVBoxLayout()
        self.options_holder.setContentsMargins(0, 0, 0, 0)
        holder = QWidget()
        holder.setLayout(self.options_holder)
        form.addRow(holder)
        self.method_form: ConfigForm | None = None

        self.unpaired = UnpairedChooser(viewer, self)
        form.addRow(self.unpaired.label, self.unpaired.combo)
        self.unlabeled_check = QCheckBox("unlabeled data: open images without scribbles")
        form.addRow(self.unlabeled_check)

        stop_row = QHBoxLayout()
        self.stop_kind = QComboBox()
        self.stop_kind.addItems(list(STOP_UNITS))
        self.stop_kind.setToolTip("Train for a time budget, a number of epochs, or a number of steps")
        self.stop_value = QDoubleSpinBox()
        self.stop_value.setDecimals(0)
        self.stop_value.setRange(1, 10_000_000)
        self.stop_value.setValue(STOP_DEFAULTS["seconds"])
        stop_row.addWidget(self.stop_value)
        stop_row.addWidget(self.stop_kind)
        form.addRow("train for", stop_row)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto"])
        self.device_combo.setToolTip("auto: the first CUDA device if there is one, else the CPU")
        form.addRow("device", self.device_combo)

        self.advanced_btn = QToolButton()
        self.advanced_btn.setText("advanced settings")
        self.advanced_btn.setCheckable(True)
        self.advanced_btn.setArrowType(Qt.RightArrow)
        self.advanced_btn.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        form.addRow(self.advanced_btn)
        self.advanced = QWidget()
        adv = QVBoxLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        self.train_form = ConfigForm(TrainConfig, exclude=OWN_FIELDS)
        # leave a core to napari (see workers.default_training_threads)
        self.train_form.set_values({"threads": default_training_threads()})
        self.pre_form = ConfigForm(PreprocessConfig)
        adv.addWidget(QLabel("<b>training</b>"))
        adv.addWidget(self.train_form)
        adv.addWidget(QLabel("<b>preprocessing</b>"))
        adv.addWidget(self.pre_form)
        self.advanced.setVisible(False)
        form.addRow(self.advanced)

        self.method_combo.currentTextChanged.connect(self._on_method_changed)
        self.stop_kind.currentTextChanged.connect(self._on_stop_kind)
        self.advanced_btn.toggled.connect(self._toggle_advanced)

    def set_engine(self, methods: Any, devices: list[str]) -> None:
        """List the engine's methods (with descriptions as tooltips) and devices."""
        self.methods = methods
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        self.method_combo.addItem(AUTO)
        self.method_combo.setItemData(0, AUTO_DESCRIPTION, Qt.ToolTipRole)
        for name in methods.names():
            self.method_combo.addItem(name)
            self.method_combo.setItemData(
                self.method_combo.count() - 1, methods.get(name).description, Qt.ToolTipRole
            )
        default = TrainConfig().method
        self.method_combo.setCurrentText(default if default in methods or default == AUTO else AUTO)
        self.method_combo.blockSignals(False)
        self.method_combo.setEnabled(True)
        current = self.device_combo.currentText()
        self.device_combo.clear()
        self.device_combo.addItems(["auto", *devices])
        if current in devices:
            self.device_combo.setCurrentText(current)
        self._on_method_changed(self.method_combo.currentText())

    def method_class(self) -> Any | None:
        """The chosen method's class, once the engine is loaded."""
        name = self.method_combo.currentText()
        if self.methods is None or name not in self.methods:
            return None
        return self.methods.get(name)

    def _on_method_changed(self, name: str) -> None:
        cls = self.method_class()
        auto = name == AUTO and self.methods is not None
        if cls is None and not auto:
            return
        description = AUTO_DESCRIPTION if auto else cls.description
        self.method_desc.setText(description)
        self.method_combo.setToolTip(description)
        if self.method_form is not None:
            self.method_form.setParent(None)
            self.method_form.deleteLater()
            self.method_form = None
        if not auto:  # auto takes no options: they belong to the method it chooses
            self.method_form = ConfigForm(cls.Config)
            self.options_holder.addWidget(self.method_form)
        self.unpaired.set_visible(auto or bool(getattr(cls, "uses_unpaired_masks", False)))
        self.unlabeled_check.setVisible(bool(getattr(cls, "uses_unlabeled", False)))
        self.options_changed.emit()

    def _on_stop_kind(self, kind: str) -> None:
        self.stop_value.setValue(STOP_DEFAULTS.get(kind, 100))

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_btn.setArrowType(Qt.DownArrow if on else Qt.RightArrow)

    # -- as engine inputs ----------------------------------------------------------------------------
    def stop_after(self) -> dict[str, Any]:
        """The stopping criterion as TrainConfig fields."""
        return stop_criteria(self.stop_kind.currentText(), self.stop_value.value())

    def train_config(self) -> TrainConfig:
        """The TrainConfig the settings describe."""
        values = self.train_form.values()
        values.update(self.stop_after())
        values["method"] = self.method_combo.currentText()
        values["device"] = self.device_combo.currentText()
        return from_dict(TrainConfig, values)

    def preprocess_config(self) -> PreprocessConfig:
        """The PreprocessConfig the settings describe."""
        return from_dict(PreprocessConfig, self.pre_form.values())

    def method_options(self) -> dict[str, Any]:
        """The chosen method's options (its ``Config`` fields)."""
        return self.method_form.values() if self.method_form is not None else {}

    def unpaired_source(self) -> UnpairedSource | None:
        """Where the chosen method's unpaired masks come from (``None`` if it uses none).

        With ``auto`` (which trains aag) the masks chosen here are the shape prior's real masks; without
        them the propagated scribbles serve.
        """
        cls = self.method_class()
        if self.method_combo.currentText() == AUTO:
            return self.unpaired.source()
        if cls is None or not getattr(cls, "uses_unpaired_masks", False):
            return None
        return self.unpaired.source()

    def wants_unlabeled(self) -> bool:
        """Whether the chosen method trains on the open images without annotations too."""
        return self.unlabeled_check.isVisible() and self.unlabeled_check.isChecked()
