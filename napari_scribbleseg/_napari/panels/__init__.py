"""The panels the dock widget is composed of; each owns its Qt controls and the actions behind them.

- :class:`DataPanel` -- image, class names, scribble / dense-mask layers, legend, training data;
- :class:`TrainingPanel` -- :class:`TrainingSettings` (method, options, stopping, device), Train / Stop /
  Continue and the :class:`StatusView`;
- :class:`PredictPanel` -- Predict, Export, Save model, Load model;
- :class:`ViewPanel` -- the 3D view of the prediction and the slices suggested to scribble next;
- :class:`SessionPanel` -- Save session, Open session (:mod:`napari_scribbleseg.io.session_folder`).

A new panel takes the :class:`PanelContext` (viewer, session, task runner, preview layers) and is added
in :class:`~napari_scribbleseg._napari.widget.ScribbleSegWidget`.
"""

from .base import PanelContext, notify_error, notify_warning
from .data import DataPanel
from .predict import PredictPanel
from .session import SessionPanel
from .settings import TrainingSettings
from .status import StatusView
from .training import TrainingPanel
from .unpaired import UnpairedChooser
from .view import Suggestion, ViewPanel

__all__ = [
    "DataPanel",
    "PanelContext",
    "PredictPanel",
    "SessionPanel",
    "StatusView",
    "Suggestion",
    "TrainingPanel",
    "TrainingSettings",
    "UnpairedChooser",
    "ViewPanel",
    "notify_error",
    "notify_warning",
]
