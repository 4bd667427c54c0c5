"""The "View" panel: a one-click 3D view of the prediction, and the "Scribble here next" list.

**3D view.** The button shows the chosen image's prediction alone in napari's 3D display (labels render
as coloured surfaces) and, pressed again, goes back to the 2D slices with every layer as it was.

**Scribble here next.** :meth:`ViewPanel.set_suggestions` fills the list with :class:`Suggestion` s (an image
and a slice); :meth:`ViewPanel.next_suggestion` (the button and its shortcut) goes to the next one. Until
something ranks slices, the list is empty and the button says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout

from .. import layers as L
from .base import notify_error
from .data import DataPanel

NO_SUGGESTIONS = "no suggestions yet"


class Suggestion(NamedTuple):
    """A slice worth scribbling: the image layer's name, the slice (napari's slider index) and why."""

    image: str
    slice_index: int
    text: str = ""


class ViewPanel(QGroupBox):
    """3D view of the prediction, and the slices suggested to scribble next.

    Parameters
    ----------
    viewer
        The napari viewer.
    data
        The panel with the chosen image (whose prediction the 3D view shows).
    """

    def __init__(self, viewer: Any, data: DataPanel) -> None:
        super().__init__("View")
        self.viewer, self.data = viewer, data
        self.suggestions: list[Suggestion] = []
        self._next = 0
        self._saved: tuple[int, dict[str, tuple[Any, bool]]] | None = (
            None  # ndisplay, name -> (layer, visible)
        )
        layout = QVBoxLayout(self)
        self.view3d_btn = QPushButton("3D view of the prediction")
        self.view3d_btn.setCheckable(True)
        self.view3d_btn.setToolTip("Show the chosen image's prediction alone in 3D; press again to go back")
        self.view3d_btn.toggled.connect(self.set_3d)
        layout.addWidget(self.view3d_btn)
        row = QHBoxLayout()
        self.suggestion_label = QLabel(f"Scribble here next: {NO_SUGGESTIONS}")
        self.suggestion_label.setWordWrap(True)
        self.next_btn = QPushButton("Next")
        self.next_btn.setToolTip("Go to the next slice suggested for scribbling")
        self.next_btn.clicked.connect(lambda _=False: self.next_suggestion())
        row.addWidget(self.suggestion_label, 1)
        row.addWidget(self.next_btn)
        layout.addLayout(row)
        #: Where the suggested slices are listed (hidden while empty).
        self.suggestion_list = QListWidget()
        self.suggestion_list.setMaximumHeight(100)
        self.suggestion_list.setVisible(False)
        self.suggestion_list.currentRowChanged.connect(self._on_row)
        layout.addWidget(self.suggestion_list)

    # -- 3D -------------------------------------------------------------------------------------------
    @property
    def in_3d(self) -> bool:
        """Whether the 3D view of the prediction is shown."""
        return self._saved is not None

    def toggle_3d(self) -> bool:
        """Switch between the 3D view of the prediction and the 2D slices; whether 3D is now shown."""
        self.view3d_btn.setChecked(not self.view3d_btn.isChecked())
        return self.in_3d

    def set_3d(self, on: bool) -> None:
        """Show the prediction alone in 3D (``on``), or go back to the slices with the layers as they were."""
        if on and not self.in_3d:
            prediction = self.data.prediction_layer()
            if prediction is None:
                notify_error("no prediction to show in 3D: Train or Predict first")
                self.view3d_btn.setChecked(False)
                return
            # by name: through napari's public-API proxies each access is a new wrapper (layers.same_layer)
            visible = {la.name: (la, bool(la.visible)) for la in self.viewer.layers}
            self._saved = (int(self.viewer.dims.ndisplay), visible)
            for la in self.viewer.layers:
                la.visible = L.same_layer(la, prediction)
            self.viewer.dims.ndisplay = 3
            self.viewer.reset_view()
        elif not on and self._saved is not None:
            ndisplay, visible = self._saved
            self._saved = None
            current = {la.name for la in self.viewer.layers}
            for key, (la, was) in visible.items():
                if key in current:
                    la.visible = was
            self.viewer.dims.ndisplay = ndisplay
        if self.view3d_btn.isChecked() != self.in_3d:
            self.view3d_btn.blockSignals(True)
            self.view3d_btn.setChecked(self.in_3d)
            self.view3d_btn.blockSignals(False)

    # -- suggestions ----------------------------------------------------------------------------------
    def set_suggestions(self, suggestions: Sequence[Suggestion]) -> None:
        """List ``suggestions`` (best first); the next :meth:`next_suggestion` goes to the first."""
        self.suggestions = list(suggestions)
        self._next = 0
        self.suggestion_list.blockSignals(True)
        self.suggestion_list.clear()
        for s in self.suggestions:
            self.suggestion_list.addItem(
                f"{s.image}, slice {s.slice_index}" + (f": {s.text}" if s.text else "")
            )
        self.suggestion_list.blockSignals(False)
        self.suggestion_list.setVisible(bool(self.suggestions))
        n = len(self.suggestions)
        count = f"{n} slice{'s' if n != 1 else ''}" if n else NO_SUGGESTIONS
        self.suggestion_label.setText(f"Scribble here next: {count}")

    def next_suggestion(self) -> Suggestion | None:
        """Go to the next suggested slice (cycling); without suggestions say so and return ``None``."""
        if not self.suggestions:
            self.viewer.status = f"Scribble here next: {NO_SUGGESTIONS}"
            self.suggestion_label.setText(f"Scribble here next: {NO_SUGGESTIONS}")
            return None
        index = self._next % len(self.suggestions)
        self._next = index + 1
        self.suggestion_list.blockSignals(True)
        self.suggestion_list.setCurrentRow(index)
        self.suggestion_list.blockSignals(False)
        self.go_to(self.suggestions[index])
        return self.suggestions[index]

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self.suggestions):
            self.go_to(self.suggestions[row])

    def go_to(self, suggestion: Suggestion) -> None:
        """Choose the suggestion's image and move the slider to its slice."""
        if suggestion.image not in self.viewer.layers:
            notify_error(f"image {suggestion.image!r} is no longer open")
            return
        self.data.image_combo.setCurrentText(suggestion.image)
        layer = self.viewer.layers[suggestion.image]
        self.viewer.dims.set_point(0, layer.data_to_world((suggestion.slice_index, 0, 0))[0])
