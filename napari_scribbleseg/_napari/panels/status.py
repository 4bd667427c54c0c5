"""The progress bar and status line: training events, prediction progress, task starts and ends."""

from __future__ import annotations

import logging
from typing import Any

from qtpy.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from .base import notify_error, notify_warning

log = logging.getLogger(__name__)

#: Resolution of the progress bar.
STEPS = 1000


def format_seconds(s: float | None) -> str:
    """``m:ss`` of a duration in seconds (``?`` when unknown)."""
    if s is None:
        return "?"
    s = max(0, int(round(s)))
    return f"{s // 60}:{s % 60:02d}"


class StatusView(QWidget):
    """A progress bar (loss and ETA while training) above a status line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.progress = QProgressBar()
        self.progress.setRange(0, STEPS)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        layout.addWidget(self.progress)
        self.message = QLabel("Paint scribbles, then press Train.")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.run_info = QLabel()
        self.run_info.setWordWrap(True)
        self.run_info.setToolTip("The layers the last run trained on")
        self.run_info.setVisible(False)
        layout.addWidget(self.run_info)

    def text(self) -> str:
        """The status line."""
        return self.message.text()

    def set_text(self, text: str) -> None:
        """Set the status line."""
        self.message.setText(text)

    def set_run_info(self, text: str) -> None:
        """Show (and log) which layers a run trains on; it stays until the next run."""
        if text:
            log.info("%s", text)
        self.run_info.setText(text)
        self.run_info.setVisible(bool(text))

    def busy(self, text: str, determinate: bool = False) -> None:
        """A task started: an empty (``determinate``) or busy bar with ``text``."""
        self.progress.setRange(0, STEPS if determinate else 0)
        self.progress.setValue(0)
        self.progress.setFormat(text)

    def set_fraction(self, fraction: float, text: str) -> None:
        """A determinate bar at ``fraction`` (clipped to [0, 1]) with ``text``."""
        self.progress.setRange(0, STEPS)
        self.progress.setValue(int(STEPS * min(max(fraction, 0.0), 1.0)))
        self.progress.setFormat(text)

    def task_finished(self, task: str) -> None:
        """A worker ended: a bar left busy (no progress came, or it was aborted) becomes idle."""
        if self.progress.maximum() != 0:
            return
        self.progress.setRange(0, STEPS)
        if task == "train":
            self.progress.setFormat("stopped")

    def task_failed(self, task: str, exc: BaseException) -> None:
        """A worker raised: a notification and the status line say so."""
        notify_error(str(exc) or type(exc).__name__)
        self.set_text(f"{task} failed: {exc}")

    def show_event(self, ev: Any) -> None:
        """Show a training event (previews are drawn by the preview layers, not here)."""
        from ...engine import events as E

        if isinstance(ev, E.Started):
            what = "resuming" if ev.resumed else "training"
            self.set_text(
                f"{what} {ev.method} on {ev.device} ({ev.precision}), {ev.n_train_slices} annotated slices"
                + "".join(f"\n{line}" for line in ev.info)
            )
            for note in ev.notes:
                notify_warning(note)
        elif isinstance(ev, E.Progress):
            loss = ev.losses.get("loss", next(iter(ev.losses.values()), float("nan")))
            text = f"step {ev.step} · loss {loss:.3f} · ETA {format_seconds(ev.eta)}"
            if ev.fraction is not None:
                self.set_fraction(ev.fraction, text)
            else:
                self.progress.setRange(0, 0)
                self.progress.setFormat(text)
        elif isinstance(ev, E.Validation):
            self.set_text(f"validation at step {ev.step}: {ev.loss:.4f}{' (best)' if ev.best else ''}")
        elif isinstance(ev, E.Finished):
            self.progress.setRange(0, STEPS)
            self.progress.setValue(STEPS if ev.reason != "stopped" else self.progress.value())
            self.progress.setFormat(f"done: {ev.reason} at step {ev.step}")
            self.set_text(
                f"training ended ({ev.reason}) after {ev.elapsed:.0f} s at step {ev.step}; "
                "correct the scribbles and Continue, or Predict"
            )
        elif isinstance(ev, E.Failed):
            if ev.details:
                log.error("training failed:\n%s", ev.details)
            notify_error(ev.message)
            self.set_text(f"training failed: {ev.message}")
