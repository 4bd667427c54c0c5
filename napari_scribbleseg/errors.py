"""Exceptions raised by napari-scribbleseg.

Every error meant for a user names the file (or layer) and the problem, so that the CLI and the napari
widget can show it as is.
"""

from __future__ import annotations


class ScribbleSegError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(ScribbleSegError, ValueError):
    """An input file or array cannot be used (missing, unreadable, wrong shape, bad values...)."""


class LabelError(DataError):
    """Scribbles or masks that break the label encoding (see :mod:`napari_scribbleseg.labels`)."""


class ConfigError(ScribbleSegError, ValueError):
    """An invalid option: unknown method, bad value, inconsistent settings."""


class CheckpointError(ScribbleSegError, ValueError):
    """A model file that cannot be loaded."""


class OutOfMemoryWarning(UserWarning):
    """The device ran out of memory and the work went on in a slower way (smaller batches, the CPU)."""
