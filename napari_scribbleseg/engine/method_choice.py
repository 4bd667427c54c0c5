"""``--method auto``: the engine picks the method from the user's data, and says what it picked and why.

The rule follows what won on real images (real cine MRI with expert scribbles, 2-core AVX2 CPU, figures in
``bench/results/real.md``), not on the synthetic sample:

- unpaired masks given: ``aag`` -- the adversarial shape prior is what the masks are for (001 Sec. III;
  cohort + masks: aag 0.805, unetd 0.793, isdnet 0.790, size 0.782, the pce control 0.779 mean Dice);
- few annotated slices (fewer than :data:`FEW_SLICES`, e.g. one volume scribbled on 3 slices): ``aag``
  with the shape prior from the propagated scribbles -- a partial-CE network without a shape prior
  labels most of the image outside the heart as a structure there (one volume, 60 s: aag 0.764 mean
  Dice, RV 0.84; crf RV 0.04-0.09 on each of the 6 volumes tried);
- many annotated slices without masks (a scribbled cohort): ``crf`` -- the best scribble-only method
  (cohort of 952 annotated slices, 15 min: crf 0.827, aag with the pseudo-label prior 0.807);
- continuing a model folder: that folder's method.

Between 3 and 952 annotated slices nothing was measured: :data:`FEW_SLICES` sits where a user moves from
annotating one volume to annotating a dataset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PreprocessConfig, TrainConfig
from ..errors import ConfigError

__all__ = [
    "AUTO",
    "AUTO_DESCRIPTION",
    "FEW_SLICES",
    "MethodChoice",
    "annotated_slices",
    "choose_method",
    "resolve_method",
]

#: The method name that lets the engine choose.
AUTO = "auto"
AUTO_DESCRIPTION = (
    "choose from your data (what won on real cardiac MRI): aag when unpaired masks are given or few "
    "slices are annotated, crf for a scribbled cohort; the choice is reported when training starts"
)
#: Below this many annotated slices, ``auto`` trains ``aag`` even without unpaired masks.
FEW_SLICES = 100


@dataclass(frozen=True)
class MethodChoice:
    """The method ``auto`` chose and why (one line for the user)."""

    method: str
    reason: str

    @property
    def note(self) -> str:
        """``method auto -> crf: <reason>``."""
        return f"method auto -> {self.method}: {self.reason}"


def choose_method(
    n_volumes: int,
    n_slices: int,
    has_unpaired_masks: bool,
    resumed_method: str | None = None,
    pseudo_labels: bool = True,
) -> MethodChoice:
    """The method for a run on ``n_slices`` annotated slices of ``n_volumes`` volumes (module docstring).

    Parameters
    ----------
    n_volumes
        Annotated training volumes (reported).
    n_slices
        Annotated slices (along each volume's slice axis) of all of them.
    has_unpaired_masks
        Whether unpaired masks are given for the adversarial shape prior.
    resumed_method
        The method of the model folder being continued, if any; it is kept.
    pseudo_labels
        Whether pseudo-labels are on (without them and without masks, aag has no shape prior: crf).
    """
    if resumed_method:
        return MethodChoice(resumed_method, "the method of the model being continued")
    what = f"{n_slices} annotated slice(s) in {n_volumes} volume(s)"
    if has_unpaired_masks:
        return MethodChoice(
            "aag", f"unpaired masks are given: the adversarial shape prior uses them ({what})"
        )
    if n_slices < FEW_SLICES and pseudo_labels:
        return MethodChoice(
            "aag",
            f"{what}, fewer than {FEW_SLICES}: the shape prior from the propagated scribbles keeps "
            f"structures where they belong (the best answer for one volume on real MRI)",
        )
    return MethodChoice("crf", f"{what}, no unpaired masks: the best scribble-only method for a cohort")


def annotated_slices(cases: Sequence[Any], slice_axis: int | None = None) -> int:
    """How many slices (along each case's slice axis) carry a scribble; a dense mask annotates them all."""
    from ..data.slices import choose_slice_axis

    total = 0
    for case in cases:
        axis = choose_slice_axis(case.spacing, slice_axis)
        if case.mask is not None:
            total += int(np.asarray(case.mask).shape[axis])
            continue
        other = tuple(a for a in range(3) if a != axis)
        marked = [np.asarray(s).any(axis=other) for s in case.scribbles]
        total += int(np.logical_or.reduce(marked).sum()) if marked else 0
    return total


def resolve_method(
    config: TrainConfig,
    cases: Sequence[Any],
    has_unpaired_masks: bool,
    method_options: Any = None,
    resume: str | Path | None = None,
    preprocess: PreprocessConfig | None = None,
) -> tuple[TrainConfig, MethodChoice | None]:
    """``config`` with ``method="auto"`` replaced by the chosen method, and the choice (``None`` if named).

    ``cases`` are the training :class:`~napari_scribbleseg.data.dataset.Case` objects (their annotated
    slices count); ``resume`` is the model folder being continued: its method is kept; ``preprocess``
    gives the slice axis and whether pseudo-labels are on.

    Raises
    ------
    ConfigError
        Method options given with ``auto``: they belong to one method, so name it.
    """
    if config.method != AUTO:
        from .methods import METHODS

        try:
            METHODS.get(config.method)
        except ConfigError as exc:
            raise ConfigError(f"{exc}, or {AUTO} (let the engine choose)") from None
        return config, None
    keys = method_options if isinstance(method_options, dict) else {}
    if dataclasses.is_dataclass(method_options) and not isinstance(method_options, type):
        keys = dataclasses.asdict(method_options)
    if keys:
        raise ConfigError(
            f"method options ({', '.join(sorted(keys))}) belong to one method: "
            f"give --method (e.g. crf or aag) instead of auto"
        )
    resumed = None
    if resume is not None:
        from ..io.checkpoint import load_meta

        resumed = str(load_meta(resume).get("method") or "") or None
    pre = preprocess or PreprocessConfig()
    n_slices = annotated_slices(cases, pre.slice_axis)
    choice = choose_method(len(cases), n_slices, has_unpaired_masks, resumed, pre.pseudo_labels)
    return dataclasses.replace(config, method=choice.method), choice
