"""Training methods; importing this package registers them all in :data:`METHODS`."""

from . import adversarial, crf, simple  # noqa: F401  (registration)
from .base import METHODS, MethodContext, StepData, TrainingMethod, register_method

__all__ = ["METHODS", "MethodContext", "StepData", "TrainingMethod", "register_method"]
