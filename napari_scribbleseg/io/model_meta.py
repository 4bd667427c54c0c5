"""The schema of a model's ``meta.json``, checked before anything is built from it.

A model folder may come from a colleague, a download or a disk that failed: every field that decides an
allocation or an architecture (spacing, network width and depth, class count) is checked against bounds
first, so a crafted or damaged file ends in one :class:`~napari_scribbleseg.errors.CheckpointError` that
names the folder and the field, never in a traceback or a multi-terabyte allocation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..config import PreprocessConfig, TrainConfig, from_dict
from ..errors import CheckpointError, ConfigError
from .limits import spacing_range

__all__ = ["check_meta"]

#: Integer arguments of a segmentor and their accepted range (the training options' bounds).
_SEGMENTOR_INTS = {"in_channels": (1, 16), "n_classes": (2, 256), "width": (2, 256), "depth": (2, 8)}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_format_header(
    content: Any,
    *,
    where: str | Path,
    folder: str | Path,
    format_name: str,
    kind: str,
    max_version: int,
    error: type[Exception],
    missing_version: Any = None,
) -> int:
    """Check the header every project JSON file starts with; return its ``format_version``.

    ``content`` must be a JSON object whose ``format`` is ``format_name`` and whose ``format_version``
    (``missing_version`` when absent) is a whole number from 1 to ``max_version``. Errors are ``error``
    naming ``where`` (the file) or ``folder``; ``kind`` says what the folder should be ("model", ...).
    """
    if not isinstance(content, dict):
        raise error(f"{where}: expected a JSON object, got {type(content).__name__}")
    if content.get("format") != format_name:
        raise error(f"{folder}: not a napari-scribbleseg {kind} (format {content.get('format')!r})")
    version = content.get("format_version", missing_version)
    if not _is_int(version) or version < 1:
        raise error(f"{where}: format_version must be a whole number of 1 or more, got {version!r}")
    if version > max_version:
        raise error(f"{folder}: written by a newer napari-scribbleseg (format {version}); please upgrade")
    return version


def check_meta(folder: str | Path, meta: Any, format_name: str, format_version: int) -> dict[str, Any]:
    """Check a parsed ``meta.json`` of model folder ``folder``; return it.

    Raises
    ------
    CheckpointError
        Naming ``folder`` and the first field that is missing, of the wrong type or out of bounds.
    """
    where = f"{folder}: meta.json"

    def bad(field: str, problem: str) -> CheckpointError:
        return CheckpointError(f"{where}: {field} {problem}")

    check_format_header(
        meta,
        where=where,
        folder=folder,
        format_name=format_name,
        kind="model",
        max_version=format_version,
        error=CheckpointError,
        missing_version=0,
    )
    names = meta.get("class_names")
    if (
        not isinstance(names, list)
        or not 2 <= len(names) <= 256
        or not all(isinstance(n, str) for n in names)
    ):
        raise bad("class_names", "must be a list of 2 to 256 names, background first")
    if not isinstance(meta.get("method"), str):
        raise bad("method", "is missing or not a name")
    for field, cls in (("preprocess", PreprocessConfig), ("train_config", TrainConfig)):
        section = meta.get(field)
        if not isinstance(section, dict):
            raise bad(field, "is missing or not a JSON object")
        if field == "preprocess":
            section = {k: v for k, v in section.items() if k != "target_spacing"}
        try:
            from_dict(cls, section, strict=False)
        except (ConfigError, TypeError, ValueError) as exc:
            raise bad(field, f"is invalid: {exc}") from None
    spacing = (meta.get("preprocess") or {}).get("target_spacing")
    lo, hi = spacing_range()
    if spacing is not None and (not _is_number(spacing) or not lo <= spacing <= hi):
        raise bad(
            "preprocess.target_spacing", f"must be a spacing between {lo:g} and {hi:g} mm, got {spacing!r}"
        )
    spec = meta.get("segmentor")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise bad("segmentor", "must name the network ({'name': ..., 'kwargs': {...}})")
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise bad("segmentor.kwargs", "must be a JSON object")
    for key, value in kwargs.items():
        if key in _SEGMENTOR_INTS:
            a, b = _SEGMENTOR_INTS[key]
            if not _is_int(value) or not a <= value <= b:
                raise bad(f"segmentor.kwargs.{key}", f"must be a whole number from {a} to {b}, got {value!r}")
        elif not (isinstance(value, (bool, str)) or value is None or _is_number(value)):
            raise bad(f"segmentor.kwargs.{key}", f"has an unsupported value {value!r}")
    if kwargs.get("n_classes", len(names)) != len(names):
        raise bad(
            "segmentor.kwargs.n_classes", f"({kwargs['n_classes']}) differs from the {len(names)} class names"
        )
    for field in ("step", "best_step"):
        value = meta.get(field)
        if value is not None and (not _is_int(value) or value < 0):
            raise bad(field, f"must be a whole number of 0 or more, got {value!r}")
    loss = meta.get("best_val_loss")
    if loss is not None and not _is_number(loss):
        raise bad("best_val_loss", f"must be a finite number, got {loss!r}")
    post = meta.get("postprocess")
    if post is not None and not isinstance(post, dict):
        raise bad("postprocess", "must be a JSON object")
    return meta
