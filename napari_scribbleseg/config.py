"""Typed, frozen configuration shared by the CLI, the napari widget and checkpoints.

Configs are data: every field has a default, a type and a one-line help (``metadata["help"]``), so the
CLI and the widget can build their options from them and checkpoints can store them as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

C = TypeVar("C")


def _f(default: Any, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class PreprocessConfig:
    """How volumes become training slices and predictions go back (DESIGN.md Sec. 2, issue 2 part 3)."""

    slice_axis: int | None = _f(None, "slice axis; default: the axis with the largest spacing (ties: last)")
    target_spacing: float | None = _f(
        None, "in-plane spacing (mm) slices are resampled to; default: median of the training volumes"
    )
    patch_size: int = _f(128, "side of the square training patches (pixels at target spacing)")
    normalization: str = _f("median-iqr", "per-volume intensity normalisation: median-iqr or minmax")
    flips: bool = _f(False, "random flips in augmentation (off: left/right matters in cardiac/abdominal MRI)")
    rotation_degrees: float = _f(20.0, "max random in-plane rotation of augmentation")
    scale_range: float = _f(0.15, "random zoom of augmentation, +- fraction")
    context_patches: float = _f(
        0.3, "fraction of training patches centred anywhere in the slice (the rest in the annotated region)"
    )
    enclosed_background: bool = _f(
        True,
        "a background scribble drawn around the structures marks everything outside it as background "
        "(per slice, only where it encloses every structure scribble)",
    )
    keep_largest: bool = _f(
        True,
        "prediction keeps only the largest 3D connected component of the structures (drops far-away blobs)",
    )

    def __post_init__(self) -> None:
        if self.patch_size < 32 or self.patch_size % 16:
            raise ConfigError(f"patch_size must be a multiple of 16 and >= 32, got {self.patch_size}")
        if self.normalization not in ("median-iqr", "minmax"):
            raise ConfigError(f"normalization must be median-iqr or minmax, got {self.normalization!r}")


@dataclass(frozen=True)
class TrainConfig:
    """What the one trainer needs, whatever the method."""

    method: str = _f("aag", "training method (see `scribbleseg train --help`)")
    epochs: int | None = _f(None, "stop after this many epochs (an epoch = as many patches as slices)")
    time_budget: float | None = _f(None, "stop cleanly after this many seconds, keeping the best model")
    batch_size: int = _f(12, "patches per batch (12 in Valvano et al. Sec. III-C)")
    lr: float = _f(1e-3, "peak learning rate of Adam")
    min_lr: float = _f(1e-5, "lowest learning rate of the schedule")
    lr_schedule: str = _f(
        "cosine", "cosine (warm-up, decay over the run), cyclical (001 Sec. III-C) or constant"
    )
    lr_cycle_epochs: float = _f(20.0, "period of the cyclical schedule in epochs (001 Sec. III-C: 20)")
    weight_decay: float = _f(1e-4, "Adam weight decay")
    width: int = _f(16, "channels of the first network level (doubles per level)")
    depth: int = _f(5, "network levels (4 poolings)")
    seed: int = _f(0, "random seed")
    device: str = _f("auto", "auto, cpu, cuda or cuda:N")
    precision: str = _f("auto", "auto (bf16 where the hardware runs it natively), fp32 or bf16")
    threads: int | None = _f(None, "CPU threads for torch (default: all CPUs this process may use)")
    val_fraction: float = _f(0.1, "fraction of training volumes held out for validation (0 = none)")
    val_every: float = _f(30.0, "seconds between validations (also checkpoints)")
    patience: int = _f(8, "early stopping: validations without improvement before stopping (0 = never)")
    preview_every: float = _f(3.0, "seconds between preview events (0 = none)")
    max_steps: int | None = _f(None, "stop after this many optimisation steps (tests, debugging)")

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError(f"time budget must be > 0 seconds, got {self.time_budget}")
        if self.lr_schedule not in ("cosine", "cyclical", "constant"):
            raise ConfigError(f"lr_schedule must be cosine, cyclical or constant, got {self.lr_schedule!r}")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-able dict of a config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=_json_default))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a config")


def from_dict(cls: type[C], data: dict[str, Any], *, strict: bool = True) -> C:
    """Build ``cls`` from a dict, converting lists back to tuples.

    Raises
    ------
    ConfigError
        Unknown keys (when ``strict``) or invalid values.
    """
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(names)
    if unknown and strict:
        raise ConfigError(f"unknown option(s) for {cls.__name__}: {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for k, v in data.items():
        if k not in names:
            continue
        if isinstance(v, list) and "tuple" in str(hints.get(k, "")):
            v = tuple(v)
        kwargs[k] = v
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from None


def replace(cfg: C, **changes: Any) -> C:
    """``dataclasses.replace`` that reports unknown fields as :class:`ConfigError`."""
    try:
        return dataclasses.replace(cfg, **changes)  # type: ignore[type-var]
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


def field_help(cls: type) -> dict[str, str]:
    """``{field name: help text}`` of a config dataclass."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
