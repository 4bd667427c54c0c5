"""A small live plot of a training run: the loss, the validation score, and the time to the next preview.

Painted with ``QPainter`` (no plotting library): the training loss over the steps (blue, left scale), the
validation score (orange dots, right scale: the validation Dice when validation volumes have dense masks,
else the validation cross-entropy on their scribbles), and a line of text with the latest values and the
seconds until the next preview. It tells whether more training is worth waiting for: a loss still falling,
a validation score still improving.
"""

from __future__ import annotations

import math
import time
from typing import Any

from qtpy.QtCore import QPointF, QRectF, Qt, QTimer
from qtpy.QtGui import QColor, QPainter, QPainterPath, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

#: Points kept per curve; older ones are thinned out (every other point) beyond it.
MAX_POINTS = 1000
LOSS_COLOR = "#4c9be8"
VALIDATION_COLOR = "#f28e2b"


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return (
        points[::2] + ([points[-1]] if len(points) % 2 == 0 else []) if len(points) > MAX_POINTS else points
    )


class TrainingPlot(QWidget):
    """Loss and validation score of the current run over the steps, and the time to the next preview.

    Attributes
    ----------
    loss, validation
        ``(step, value)`` points of the training loss and of the validation score.
    validation_name
        What the validation score is (``"val Dice"``, higher is better, or ``"val CE"``, lower is better).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss: list[tuple[float, float]] = []
        self.validation: list[tuple[float, float]] = []
        self.validation_name = "val CE"
        self.preview_every = 0.0
        self._last_preview: float | None = None
        self._running = False
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.setToolTip(
            "Training loss (blue, left scale) and validation score (orange, right scale) over the steps: "
            "when both have levelled off, more training is unlikely to help"
        )
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.update)

    def sizeHint(self) -> Any:  # noqa: N802 (Qt API)
        """A short strip."""
        hint = super().sizeHint()
        hint.setHeight(90)
        return hint

    # -- data -----------------------------------------------------------------------------------------
    def begin(self, preview_every: float) -> None:
        """A run is being prepared; previews come every ``preview_every`` s (0: none)."""
        self.preview_every = float(preview_every or 0.0)
        self._last_preview = None
        self._running = True
        self._timer.start()
        self.update()

    def add_event(self, ev: Any) -> None:
        """Take one training event (main thread)."""
        from ...engine import events as E

        if isinstance(ev, E.Started):
            if not ev.resumed:
                self.loss.clear()
                self.validation.clear()
            self._last_preview = time.monotonic()
        elif isinstance(ev, E.Progress) and ev.losses:
            value = ev.losses.get("loss", next(iter(ev.losses.values())))
            if math.isfinite(value):
                self.loss = _thin(self.loss + [(float(ev.step), float(value))])
        elif isinstance(ev, E.Validation):
            dice = ev.metrics.get("val_dice")
            self.validation_name = "val Dice" if dice is not None else "val CE"
            value = dice if dice is not None else ev.loss
            if math.isfinite(value):
                self.validation = _thin(self.validation + [(float(ev.step), float(value))])
        elif isinstance(ev, E.Preview):
            self._last_preview = time.monotonic()
        elif isinstance(ev, (E.Finished, E.Failed)):
            self.finish()
        self.update()

    def finish(self) -> None:
        """The run ended: no more previews to wait for."""
        self._running = False
        self._timer.stop()
        self.update()

    def next_preview_in(self) -> float | None:
        """Seconds until the next preview (``None`` when none is expected)."""
        if not self._running or self.preview_every <= 0 or self._last_preview is None:
            return None
        return max(0.0, self.preview_every - (time.monotonic() - self._last_preview))

    def caption(self) -> str:
        """The text under the curves: latest values and the time to the next preview."""
        parts = []
        if self.loss:
            parts.append(f"loss {self.loss[-1][1]:.3f}")
        if self.validation:
            parts.append(f"{self.validation_name} {self.validation[-1][1]:.3f}")
        wait = self.next_preview_in()
        if wait is not None:
            parts.append(f"next preview in {math.ceil(wait)} s" if wait > 0 else "preview due")
        elif self._running:
            parts.append("preparing…")
        return " · ".join(parts) if parts else "loss and validation appear here while training"

    # -- painting -------------------------------------------------------------------------------------
    def _curve(self, painter: QPainter, box: QRectF, points: list[tuple[float, float]], x_range: Any) -> None:
        lo = min(v for _, v in points)
        hi = max(v for _, v in points)
        span = hi - lo if hi > lo else 1.0
        x0, x1 = x_range

        def at(step: float, value: float) -> QPointF:
            x = box.left() + box.width() * ((step - x0) / (x1 - x0) if x1 > x0 else 1.0)
            return QPointF(x, box.bottom() - box.height() * (value - lo) / span)

        path = QPainterPath(at(*points[0]))
        for p in points[1:]:
            path.lineTo(at(*p))
        painter.drawPath(path)
        for p in points[-1:]:
            painter.drawEllipse(at(*p), 2.0, 2.0)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        """Draw the frame, the two curves and the caption."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        text_color = self.palette().color(self.foregroundRole())
        height = painter.fontMetrics().height()
        box = QRectF(4, 4, self.width() - 8, self.height() - height - 12)
        grid = QColor(text_color)
        grid.setAlpha(60)
        painter.setPen(QPen(grid, 1))
        painter.drawRect(box)
        steps = [s for s, _ in self.loss + self.validation]
        if steps:
            x_range = (min(steps), max(steps))
            for points, color in ((self.loss, LOSS_COLOR), (self.validation, VALIDATION_COLOR)):
                if points:
                    painter.setPen(QPen(QColor(color), 1.5))
                    self._curve(painter, box.adjusted(2, 2, -2, -2), points, x_range)
        painter.setPen(text_color)
        caption = QRectF(4, self.height() - height - 4, self.width() - 8, height)
        painter.drawText(caption, int(Qt.AlignLeft | Qt.AlignVCenter), self.caption())
        painter.end()
