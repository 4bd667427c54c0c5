"""What the trainer keeps in a model folder: best weights, metadata and the state to continue from.

The file format itself is :mod:`napari_scribbleseg.io.checkpoint`; this module decides what goes in
(:func:`save_run`) and checks that a folder fits the run that continues it (:func:`restore_run`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import PreprocessConfig, TrainConfig, to_dict
from ..errors import ConfigError
from ..io import checkpoint as ckpt


@dataclass(frozen=True)
class ResumePoint:
    """Counters and spacing a resumed run continues with."""

    step: int
    epoch: float
    target_spacing: float | None


def run_metadata(
    config: TrainConfig,
    method_options: Any,
    pre: PreprocessConfig,
    target_spacing: float | None,
    class_names: Sequence[str],
    method: Any,
    progress: tuple[int, int | None, float | None],
) -> dict[str, Any]:
    """The ``meta.json`` of a model: what inference and Continue need to rebuild and check the run.

    ``progress`` is ``(step, best_step, best_val_loss)``. The segmentor is described by name and init
    arguments (rebuilt through the model registry, never unpickled).
    """
    step, best_step, best_loss = progress
    pre_dict = to_dict(pre)
    pre_dict["target_spacing"] = target_spacing
    return {
        "package_version": __version__,
        "method": config.method,
        "method_config": to_dict(method_options) if is_dataclass(method_options) else {},
        "train_config": to_dict(config),
        "preprocess": pre_dict,
        "class_names": list(class_names),
        "segmentor": {"name": method.segmentor_name, "kwargs": dict(method.segmentor_kwargs)},
        "step": step,
        "best_step": best_step,
        "best_val_loss": best_loss,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def save_run(
    folder: Path,
    best_state: dict[str, Any],
    meta: dict[str, Any],
    method: Any,
    step: int,
    epoch: float,
) -> None:
    """Write ``best_state`` (the segmentor weights ``predict`` uses) with ``meta``, and the training state.

    The training state holds the latest weights of every network of ``method``, its optimiser states and
    the step and epoch counters (what Continue and ``--resume`` need).
    """
    ckpt.save_model(folder, {k: v.detach().cpu() for k, v in best_state.items()}, meta)
    optim = {"optimizers": method.optimizer_state(), "trainer": {"step": step, "epoch": epoch}}
    ckpt.save_training_state(folder, method.networks, optim)


def restore_run(
    folder: Path,
    method: Any,
    method_name: str,
    class_names: Sequence[str],
    target_spacing: float | None,
) -> ResumePoint:
    """Load the training state of ``folder`` into ``method``; the counters to continue from.

    The spacing is the folder's (the run's own ``target_spacing`` if the folder has none).

    Raises
    ------
    ConfigError
        The folder was trained with another method or other classes, holds no training state, or its
        networks do not fit ``method``'s.
    """
    meta = ckpt.load_meta(folder)
    if meta.get("method") != method_name:
        raise ConfigError(f"{folder}: was trained with method {meta.get('method')!r}, not {method_name!r}")
    if tuple(meta.get("class_names", ())) != tuple(class_names):
        raise ConfigError(f"{folder}: classes {meta.get('class_names')} differ from {list(class_names)}")
    state = ckpt.load_training_state(folder)
    if state is None:
        raise ConfigError(f"{folder}: holds no training state to resume from")
    weights, optim = state
    try:
        method.load_state(weights, optim.get("optimizers"))
    except (KeyError, RuntimeError) as exc:
        raise ConfigError(f"{folder}: does not match this method's networks ({exc})") from None
    counters = optim.get("trainer", {})
    spacing = float(meta["preprocess"].get("target_spacing") or target_spacing)
    return ResumePoint(int(counters.get("step", 0)), float(counters.get("epoch", 0.0)), spacing)
