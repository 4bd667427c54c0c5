"""Training methods; importing this package registers them all in :data:`METHODS`."""

from dataclasses import is_dataclass
from typing import Any

from ...config import from_dict
from . import adversarial, crf, simple  # noqa: F401, I001  (registration; order = listing order)

from . import attenscribble, size, isdnet  # noqa: F401, I001  # isort: skip
from .base import METHODS, MethodContext, StepData, TrainingMethod, register_method

__all__ = ["METHODS", "MethodContext", "StepData", "TrainingMethod", "method_config", "register_method"]


def method_config(method: str, options: dict[str, Any] | Any | None) -> Any:
    """The method's config dataclass from a dict of options (or pass a config instance through)."""
    cls = METHODS.get(method).Config
    if options is None:
        return cls()
    if is_dataclass(options) and not isinstance(options, type):
        return options
    return from_dict(cls, dict(options))
