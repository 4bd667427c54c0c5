"""Where an adversarial method's unpaired masks come from: a Labels layer, a folder, or a sample's masks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtWidgets import QComboBox, QFileDialog, QLabel, QWidget

from ...engine.session import UnpairedSource
from .. import layers as L

NONE = "(none: the propagated scribbles)"
FOLDER = "folder…"
#: The sample dataset whose unpaired-mask split the widget offers when one of its volumes is open.
SAMPLE_WITH_MASKS = "cardiac"


def sample_masks_text() -> str:
    """The combo entry of the cardiac sample's unpaired masks, with their number."""
    from ...data.samples import CARDIAC_SPLIT

    return f"{SAMPLE_WITH_MASKS} sample masks ({len(CARDIAC_SPLIT.unpaired)} subjects)"


class UnpairedChooser:
    """A label and a combo box listing the unpaired-mask sources; owned by the training settings.

    Parameters
    ----------
    viewer
        The napari viewer (its Labels layers are offered).
    parent
        Parent of the folder dialog.
    """

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        self.viewer = viewer
        self.parent = parent
        self.folder: Path | None = None
        self.label = QLabel("unpaired masks")
        self.combo = QComboBox()
        self.combo.setToolTip(
            "Masks (0 = background, k = structure k) of other subjects: the shape prior of adversarial "
            "methods. A Labels layer, a folder of NIfTI masks, or the cardiac sample's masks. Without "
            "them (and with pseudo-labels on), the scribbles propagated into pseudo-labels serve as masks."
        )
        self.combo.activated.connect(self._on_activated)

    def set_visible(self, on: bool) -> None:
        """Show or hide the chooser (only adversarial methods use unpaired masks)."""
        self.label.setVisible(on)
        self.combo.setVisible(on)

    def refresh(self) -> None:
        """List the sources: Labels layers that are not annotations or training predictions, etc."""
        current = self.combo.currentText()
        items = [NONE]
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
        sample = None
        if any(L.info(la).get("sample") == SAMPLE_WITH_MASKS for la in self.viewer.layers):
            sample = sample_masks_text()
            items.append(sample)
        folder = f"folder: {self.folder}" if self.folder is not None else None
        if folder is not None:
            items.append(folder)
        items.append(FOLDER)
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(items)
        if current in items:
            self.combo.setCurrentText(current)
        elif sample is not None:
            self.combo.setCurrentText(sample)
        elif folder is not None:
            self.combo.setCurrentText(folder)
        self.combo.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        if self.combo.itemText(index) != FOLDER:
            return
        folder = QFileDialog.getExistingDirectory(self.parent, "Folder of unpaired NIfTI masks")
        if folder:
            self.set_folder(folder)
        else:
            self.combo.setCurrentIndex(0)

    def set_folder(self, folder: str | Path) -> None:
        """Use the NIfTI masks in ``folder`` as unpaired masks."""
        self.folder = Path(folder)
        self.refresh()
        self.combo.setCurrentText(f"folder: {self.folder}")

    def set_source(self, text: str) -> None:
        """Choose the source by its combo text (a layer name, or the sample's masks)."""
        self.refresh()
        if self.combo.findText(text) < 0:
            raise ValueError(f"no unpaired-mask source {text!r}")
        self.combo.setCurrentText(text)

    def source(self) -> UnpairedSource | None:
        """The chosen source, or ``None``."""
        text = self.combo.currentText()
        if text in (NONE, FOLDER, ""):
            return None
        if text.startswith("folder: ") and self.folder is not None:
            return UnpairedSource("folder", path=self.folder)
        if text in self.viewer.layers:
            return UnpairedSource("cases", cases=(L.mask_case_from_layer(self.viewer.layers[text]),))
        if text.startswith(f"{SAMPLE_WITH_MASKS} sample masks"):
            return UnpairedSource("sample", name=SAMPLE_WITH_MASKS)
        return None
