"""Typed, frozen configuration shared by the CLI, the napari widget and checkpoints.

Configs are data: every field has a default, a type and a one-line help (``metadata["help"]``), so the
CLI and the widget can build their options from them and checkpoints can store them as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

C = TypeVar("C")


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A config field: default, one-line help and optional ``min``/``max``/``choices`` bounds."""
    return field(default=default, metadata={"help": help, **kw})


def check_fields(cfg: Any) -> None:
    """Check every field of a config dataclass against its declared ``min``, ``max`` and ``choices``.

    One rule for the CLI, the widget form and loaded checkpoints: a value outside the declared range
    (NaN included) or choice list raises :class:`ConfigError` naming the field, before anything is built.
    """
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if value is None:
            continue
        meta = f.metadata
        name = f"{type(cfg).__name__}.{f.name}"
        if "choices" in meta and value not in meta["choices"]:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}")
        if "min" in meta or "max" in meta:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            lo, hi = meta.get("min", -math.inf), meta.get("max", math.inf)
            if not lo <= value <= hi:  # also refuses NaN
                raise ConfigError(f"{name} must be in [{lo}, {hi}], got {value!r}")


@dataclass(frozen=True)
class PreprocessConfig:
    """How volumes become training slices and predictions go back (DESIGN.md Sec. 2)."""

    slice_axis: int | None = _f(None, "slice axis; default: the axis with the largest spacing (ties: last)")
    target_spacing: float | None = _f(
        None, "in-plane spacing (mm) slices are resampled to; default: median of the training volumes"
    )
    patch_size: int = _f(
        96,
        "side of the square training patches (pixels at target spacing); 96 trains twice as many steps "
        "as 128 in the same time (real cine MRI cohort, crf, 15 min on 2 CPU cores: 0.83 vs 0.75 Dice)",
        min=32,
        max=1024,
    )
    normalization: str = _f(
        "median-iqr", "per-volume intensity normalisation", choices=("median-iqr", "minmax")
    )
    flips: bool = _f(False, "random flips in augmentation (off: left/right matters in cardiac/abdominal MRI)")
    rotation_degrees: float = _f(20.0, "max random in-plane rotation of augmentation", min=0.0, max=180.0)
    scale_range: float = _f(
        0.3,
        "random zoom of augmentation, +- fraction (0.3 as nnU-Net's 0.7-1.4; real cine MRI cohort, crf, "
        "15 min on 2 CPU cores: 0.832 mean Dice against 0.823 with 0.15)",
        min=0.0,
        max=0.9,
    )
    context_patches: float = _f(
        0.3,
        "fraction of training patches centred anywhere in the slice (the rest in the annotated region)",
        min=0.0,
        max=1.0,
    )
    enclosed_background: bool = _f(
        True,
        "a background scribble drawn around the structures marks everything outside it as background "
        "(per slice, only where it encloses every structure scribble)",
    )
    pseudo_labels: bool = _f(
        True,
        "also train on each training volume's scribbles propagated over the volume (3D random walker, "
        "as scribbleseg propagate) as dense pseudo-labels (real cine MRI cohort, crf, 15 min on 2 CPU "
        "cores: mean Dice 0.75 with them, 0.73 without; RV 0.76 vs 0.69)",
    )
    pseudo_confidence: float = _f(
        0.0,
        "pseudo-labels keep only voxels whose propagated probability reaches this (0: every voxel); "
        "the rest stays unannotated",
        min=0.0,
        max=1.0,
    )
    convex: str = _f(
        "",
        "structures (class names, comma-separated) drawn convex in every slice, such as a heart cavity "
        "with its papillary muscles (the ACDC convention): pseudo-labels and predictions are filled to "
        "the convex hull of their largest piece per slice (real cine MRI, LV: one volume 0.824 mean Dice "
        "against 0.804, a 60-patient cohort 0.832 against 0.820)",
    )
    keep_largest: bool = _f(
        True,
        "prediction drops far-away blobs: the largest 3D component of all structures together and of each "
        "structure is kept where that lowers no structure's score on the validation volumes (decided at the "
        "end of training, stored with the model)",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.patch_size % 16:
            raise ConfigError(f"patch_size must be a multiple of 16 and >= 32, got {self.patch_size}")


@dataclass(frozen=True)
class TrainConfig:
    """What the one trainer needs, whatever the method."""

    method: str = _f(
        "auto", "training method; auto chooses from the data and says what it chose (see train --help)"
    )
    epochs: int | None = _f(
        None, "stop after this many epochs (an epoch = as many patches as slices)", min=1, max=10**6
    )
    time_budget: float | None = _f(
        None, "stop cleanly after this many seconds, keeping the best model", min=1e-3, max=1e7
    )
    batch_size: int = _f(12, "patches per batch (12 in Valvano et al. Sec. III-C)", min=1, max=1024)
    lr: float = _f(1e-3, "peak learning rate of Adam", min=1e-8, max=1.0)
    min_lr: float = _f(1e-5, "lowest learning rate of the schedule", min=0.0, max=1.0)
    lr_schedule: str = _f(
        "cosine",
        "cosine (warm-up, decay over the run), cyclical (001 Sec. III-C) or constant",
        choices=("cosine", "cyclical", "constant"),
    )
    lr_cycle_epochs: float = _f(
        20.0, "period of the cyclical schedule in epochs (001 Sec. III-C: 20)", min=1e-3, max=1e6
    )
    weight_decay: float = _f(1e-4, "Adam weight decay", min=0.0, max=1.0)
    pseudo_dice_weight: float = _f(
        0.0,
        "weight of a soft Dice loss on the pseudo-labels, next to their cross-entropy, as DMPLS supervises "
        "its pseudo-labels (real cine MRI cohort, crf, 15 min on 2 CPU cores: 0.817 mean Dice with 1, 0.823 "
        "with 0)",
        min=0.0,
        max=100.0,
    )
    width: int = _f(16, "channels of the first network level (doubles per level)", min=2, max=256)
    depth: int = _f(5, "network levels (4 poolings)", min=2, max=8)
    seed: int = _f(0, "random seed")
    device: str = _f("auto", "auto, cpu, cuda or cuda:N")
    precision: str = _f(
        "auto",
        "auto (bf16 where the hardware runs it natively), fp32 or bf16",
        choices=("auto", "fp32", "bf16"),
    )
    threads: int | None = _f(
        None, "CPU threads for torch (default: all CPUs this process may use)", min=1, max=1024
    )
    val_fraction: float = _f(
        0.1, "fraction of training volumes held out for validation (0 = none)", min=0.0, max=0.9
    )
    val_every: float = _f(
        30.0,
        "seconds between validations (also checkpoints); longer where validating would take over 5 percent "
        "of the time",
        min=0.0,
        max=1e6,
    )
    patience: int = _f(
        8, "early stopping: validations without improvement before stopping (0 = never)", min=0, max=10**6
    )
    preview_every: float = _f(3.0, "seconds between preview events (0 = none)", min=0.0, max=1e6)
    max_steps: int | None = _f(
        None, "stop after this many optimisation steps (tests, debugging)", min=1, max=10**9
    )

    def __post_init__(self) -> None:
        check_fields(self)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-able dict of a config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=_json_default))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a config")


def option_aliases(cls: type) -> dict[str, str]:
    """``{old name: current name}`` of the renamed options of a config dataclass.

    A config class lists them in a class attribute ``option_aliases`` (a ``ClassVar``, not a field), so
    that option dicts written with the old names (a saved ``meta.json``, a config file, ``--opt``) still
    load.
    """
    return dict(getattr(cls, "option_aliases", None) or {})


def canonical_options(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every old option name of ``cls`` (:func:`option_aliases`) replaced by its current one.

    Raises
    ------
    ConfigError
        An option given under both its old and its current name with different values.
    """
    aliases = option_aliases(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = aliases.get(key, key)
        if name in out and out[name] != value:
            old = key if name != key else next(k for k in data if aliases.get(k) == name)
            raise ConfigError(
                f"{cls.__name__}: {old!r} is the old name of {name!r}; give one of them, not both"
            )
        out[name] = value
    return out


def from_dict(cls: type[C], data: dict[str, Any], *, strict: bool = True) -> C:
    """Build ``cls`` from a dict, converting lists back to tuples; old option names are accepted.

    Keys listed in ``cls.option_aliases`` (old name -> current name) are renamed first, so dicts saved
    before an option was renamed still load (see :func:`canonical_options`).

    Raises
    ------
    ConfigError
        Unknown keys (when ``strict``; the message lists the valid ones) or invalid values.
    """
    data = canonical_options(cls, data)
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(names)
    if unknown and strict:
        raise ConfigError(
            f"unknown option(s) for {cls.__name__}: {', '.join(sorted(unknown))} "
            f"(valid: {', '.join(names) or 'none'})"
        )
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
    """``dataclasses.replace`` accepting old option names; unknown fields raise :class:`ConfigError`."""
    changes = canonical_options(type(cfg), changes)
    try:
        return dataclasses.replace(cfg, **changes)  # type: ignore[type-var]
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


def field_help(cls: type) -> dict[str, str]:
    """``{field name: help text}`` of a config dataclass."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
