"""``--method auto``: the engine picks the method from the user's data, and says what it picked and why.

The rule follows what won on real images (real cine MRI with expert scribbles, 2-core CPU in fp32, figures
in ``bench/results/real.md`` and ``bench/results/few.md``), not on the synthetic sample:

- unpaired masks given: ``aag`` -- the adversarial shape prior is what the masks are for (001 Sec. III;
  cohort + masks: aag 0.805, unetd 0.793, isdnet 0.790, size 0.782, the pce control 0.779 mean Dice);
- pseudo-labels on (the default): ``aag`` with the shape prior from the propagated scribbles, however many
  slices are annotated. ``aag`` against ``crf`` on new patients: one volume scribbled on 3 slices, 60 s:
  0.764 against RV Dice 0.04-0.09 (``crf`` labels the far image RV); paired runs of one code version on
  one machine, the scribbles of 3, 10, 30 and 60 patients (44, 164, 496 and 952 annotated slices), 5 min:
  0.664/0.546, 0.772/0.747, 0.758/0.745, 0.816/0.810; 60 patients, 15 min: 0.825/0.819. The prior never
  lost, and without it a network trained on few slices fails;
- pseudo-labels off and no masks: ``crf`` (``aag`` would have no shape prior);
- continuing a model folder: that folder's method.
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
    "MethodChoice",
    "annotated_slices",
    "choose_method",
    "resolve_method",
]

#: The method name that lets the engine choose.
AUTO = "auto"
AUTO_DESCRIPTION = (
    "choose from your data (what won on real cardiac MRI): aag with a shape prior from unpaired masks or "
    "from the propagated scribbles, crf when neither exists; the choice is reported when training starts"
)


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
    if pseudo_labels:
        return MethodChoice(
            "aag",
            f"{what}, no unpaired masks: the shape prior from the propagated scribbles keeps structures "
            f"where they belong (it won from one volume to a cohort on real MRI)",
        )
    return MethodChoice(
        "crf", f"{what}, no unpaired masks and no pseudo-labels: no shape prior, the CRF-regularised UNet"
    )


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
