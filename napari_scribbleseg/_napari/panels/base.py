"""What the panels of the dock widget share: the viewer, the session, the task runner, the previews."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...engine.session import TrainingSession
from ..preview import PreviewLayers
from ..workers import TaskRunner


def notify_error(message: str) -> None:
    """Show ``message`` as a napari error notification."""
    from napari.utils.notifications import show_error

    show_error(message)


def notify_warning(message: str) -> None:
    """Show ``message`` as a napari warning notification."""
    from napari.utils.notifications import show_warning

    show_warning(message)


@dataclass
class PanelContext:
    """The objects every panel works with (one per dock widget).

    Attributes
    ----------
    viewer
        The napari viewer.
    session
        The Qt-free model: trainer, loaded model, what Train/Continue/Predict/Save/Load do.
    runner
        Runs one worker task at a time.
    previews
        The prediction, attention and uncertainty layers.
    ready
        Whether the engine is imported (set by the widget when the start-up worker returns).
    """

    viewer: Any
    session: TrainingSession
    runner: TaskRunner
    previews: PreviewLayers
    ready: bool = False

    def can_start(self) -> bool:
        """True when a new task may start; otherwise tell the user why not."""
        if not self.ready:
            notify_error("the training engine is still loading; try again in a moment")
            return False
        if self.runner.busy:
            notify_error("busy: wait for the current task or press Stop")
            return False
        return True
