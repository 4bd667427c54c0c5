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
class RunPlan:
    """The length of a run as it was planned, so an interrupted run continues it exactly.

    ``first_step`` is the step the run started from, ``total_steps`` the step it ends at (or ``None``),
    ``time_budget`` its budget in seconds and ``elapsed`` the seconds of it used; ``length`` the options
    that set the plan (``time_budget``, ``max_steps``, ``epochs``): a resume with other options starts a new
    plan.
    """

    first_step: int
    total_steps: int | None
    time_budget: float | None
    elapsed: float
    length: tuple

    @staticmethod
    def length_of(config: TrainConfig) -> tuple:
        """The options of ``config`` that decide a run's length."""
        return (config.time_budget, config.max_steps, config.epochs)

    @classmethod
    def of(cls, length: Any, config: TrainConfig) -> RunPlan:
        """The plan of a running :class:`~.schedule.RunLength` of ``config``, with the time used so far."""
        elapsed = time.monotonic() - length.budget_start
        return cls(length.first_step, length.total_steps, length.time_budget, elapsed, cls.length_of(config))


@dataclass(frozen=True)
class ResumePoint:
    """What a resumed run continues with: counters, spacing, best score and weights, RNG streams, plan.

    ``plan`` is set only when the saved run did not finish its plan (stopped, interrupted, or saved
    periodically before a crash); a finished run's continuation plans anew.
    """

    step: int
    epoch: float
    target_spacing: float | None
    best_loss: float | None = None
    best_step: int | None = None
    best_state: dict[str, Any] | None = None
    rng_state: dict[str, Any] | None = None
    torch_rng_state: Any = None
    plan: RunPlan | None = None

    def restore_streams(self, rng: Any) -> None:
        """Put the saved random streams back: the NumPy generator ``rng`` (sampling) and torch's CPU one."""
        if self.rng_state is not None:
            rng.bit_generator.state = self.rng_state
        if self.torch_rng_state is not None:
            import torch

            torch.set_rng_state(self.torch_rng_state)


def run_metadata(
    config: TrainConfig,
    method_options: Any,
    pre: PreprocessConfig,
    target_spacing: float | None,
    class_names: Sequence[str],
    method: Any,
    progress: tuple[int, int | None, float | None],
    keep_largest: Any = None,
) -> dict[str, Any]:
    """The ``meta.json`` of a model: what inference and Continue need to rebuild and check the run.

    ``progress`` is ``(step, best_step, best_val_loss)``; ``keep_largest`` the
    :class:`~napari_scribbleseg.inference.postprocess.KeepLargest` rule the run chose (``postprocess``).
    The segmentor is described by name and init arguments (rebuilt through the model registry, never
    unpickled).
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
        "postprocess": {"keep_largest": keep_largest.to_meta()} if keep_largest is not None else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def save_run(
    folder: Path,
    best_state: dict[str, Any],
    meta: dict[str, Any],
    method: Any,
    counters: dict[str, Any],
) -> None:
    """Write ``best_state`` (the segmentor weights ``predict`` uses) with ``meta``, and the training state.

    The training state holds the latest weights of every network of ``method``, its optimiser states and
    ``counters``: ``step``, ``epoch``, ``rng`` (the NumPy generator's state) and ``plan``
    (a :class:`RunPlan` while the run is unfinished, else ``None``), plus torch's CPU random state: what
    Continue and ``--resume`` need.
    """
    import torch

    counters = {**counters, "torch_rng": torch.get_rng_state()}
    plan = counters.pop("plan", None)
    if plan is not None:
        counters["plan"] = {**plan.__dict__, "length": list(plan.length)}
    optim = {"optimizers": method.optimizer_state(), "trainer": counters}
    ckpt.save_model_folder(folder, best_state, meta, method.networks, optim)


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
    plan = counters.get("plan")
    if plan is not None:
        plan = RunPlan(**{**plan, "length": tuple(plan["length"])})
    best_loss = meta.get("best_val_loss")
    return ResumePoint(
        int(counters.get("step", 0)),
        float(counters.get("epoch", 0.0)),
        spacing,
        best_loss=float(best_loss) if best_loss is not None else None,
        best_step=meta.get("best_step"),
        best_state=ckpt.load_weights(Path(folder) / "model.safetensors") if best_loss is not None else None,
        rng_state=counters.get("rng"),
        torch_rng_state=counters.get("torch_rng"),
        plan=plan,
    )
