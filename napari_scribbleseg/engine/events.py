"""Typed events that :meth:`Trainer.fit` yields.

Consumers (CLI progress line, napari widget) dispatch on the class. Arrays in events are numpy, already on
the CPU, so a GUI thread can use them without touching torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Event:
    """Base class: ``step`` is the optimisation step, ``elapsed`` seconds since :meth:`fit` started."""

    step: int
    elapsed: float


@dataclass(frozen=True)
class Started(Event):
    """Training starts: what it runs on and with how much data.

    ``notes`` are warnings about the training data that do not stop training but likely spoil it
    (e.g. a class nobody scribbled); show them to the user. ``info`` says what the engine chose or did
    on its own (e.g. pseudo-labels propagated from the scribbles).
    """

    method: str
    device: str
    precision: str
    n_train_slices: int
    n_val_volumes: int
    resumed: bool
    notes: tuple[str, ...] = ()
    info: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress(Event):
    """Every few steps: losses, speed and an estimate of the time left (``None`` when unbounded)."""

    epoch: float
    losses: dict[str, float]
    lr: float
    slices_per_s: float
    eta: float | None
    fraction: float | None


@dataclass(frozen=True)
class Preview(Event):
    """Current prediction of one slice of one volume (mask encoding) and per-scale attention maps.

    ``volume`` indexes the training volumes, ``slice_index`` the slice along the volume's slice axis.
    ``prediction`` is the 2D mask on the volume's own in-plane grid; ``attention`` maps names
    (``"scale 1/8"``...) to 2D float maps in [0, 1] on the same grid.
    """

    volume: int
    slice_index: int
    prediction: np.ndarray
    probabilities: np.ndarray | None = None
    attention: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation(Event):
    """A validation pass: the score the trainer selects checkpoints on (lower is better) and extras."""

    loss: float
    metrics: dict[str, float]
    best: bool


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A checkpoint was written."""

    path: Path
    best: bool


@dataclass(frozen=True)
class Finished(Event):
    """Training ended (``reason``: budget, epochs, early-stopping, max-steps, stopped)."""

    reason: str
    best_loss: float | None
    best_step: int | None


@dataclass(frozen=True)
class Failed(Event):
    """Training failed; ``message`` is meant for the user, ``details`` holds the traceback of a bug."""

    message: str
    details: str = ""
