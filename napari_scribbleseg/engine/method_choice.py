"""``--method auto``: the engine picks the method from the user's data, and says what it picked and why.

The rule follows what won on real images (real cine MRI with expert scribbles, 2-core AVX2 CPU, figures in
``bench/results/real.md``), not on the synthetic sample:

- unpaired masks given: ``aag`` -- the adversarial shape prior is what the masks are for (001 Sec. III);
- no unpaired masks: ``crf`` -- best of every scribble-only method in the cohort protocol (0.827 mean
  Dice; ``aag`` with a shape prior from pseudo-labels 0.807) and in the one-volume protocol;
- continuing a model folder: that folder's method.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import ConfigError

__all__ = ["AUTO", "AUTO_DESCRIPTION", "MethodChoice", "choose_method", "method_names", "resolve_method"]

#: The method name that lets the engine choose.
AUTO = "auto"
AUTO_DESCRIPTION = (
    "choose from your data: crf with scribbles alone, aag when unpaired masks are given "
    "(what won on real cardiac MRI); the choice is reported when training starts"
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
    n_volumes: int, has_unpaired_masks: bool, resumed_method: str | None = None
) -> MethodChoice:
    """The method for a run on ``n_volumes`` annotated volumes (see the module docstring for the rule).

    Parameters
    ----------
    n_volumes
        Annotated training volumes (only reported: the same method won with one volume and with 60).
    has_unpaired_masks
        Whether unpaired masks are given for the adversarial shape prior.
    resumed_method
        The method of the model folder being continued, if any; it is kept.
    """
    if resumed_method:
        return MethodChoice(resumed_method, "the method of the model being continued")
    if has_unpaired_masks:
        return MethodChoice("aag", "unpaired masks are given, so the adversarial shape prior can use them")
    what = "one volume" if n_volumes == 1 else f"{n_volumes} volumes"
    return MethodChoice(
        "crf", f"scribbles alone ({what}, no unpaired masks): the best scribble-only method on real MRI"
    )


def resolve_method(
    config: TrainConfig,
    n_volumes: int,
    has_unpaired_masks: bool,
    method_options: Any = None,
    resume: str | Path | None = None,
) -> tuple[TrainConfig, MethodChoice | None]:
    """``config`` with ``method="auto"`` replaced by the chosen method, and the choice (``None`` if named).

    ``resume`` is the model folder being continued: its method is kept.

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
    choice = choose_method(n_volumes, has_unpaired_masks, resumed)
    return dataclasses.replace(config, method=choice.method), choice


def method_names(registered: list[str]) -> list[str]:
    """The names a user may give: ``auto`` first, then the registered methods."""
    return [AUTO, *registered]
