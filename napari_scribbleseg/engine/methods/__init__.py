"""Training methods; importing this package registers them all in :data:`METHODS`."""

from . import adversarial, crf, simple  # noqa: F401, I001  (registration; order = listing order)
from . import attenscribble, size, isdnet  # noqa: F401, I001  # isort: skip
from .base import METHODS, MethodContext, StepData, TrainingMethod, register_method

__all__ = ["METHODS", "MethodContext", "StepData", "TrainingMethod", "register_method"]
