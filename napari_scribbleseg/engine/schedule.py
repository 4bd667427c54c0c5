"""How long a run lasts and how fast it learns: stop rules, progress fraction, ETA and the LR schedule.

Pure functions of the :class:`~napari_scribbleseg.config.TrainConfig`, the step counter and the clock, so
the trainer's loop only asks "stop?", "how far?" and "which learning rate?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import TrainConfig

#: Fraction of the run spent warming the cosine schedule up from 0 to the peak learning rate.
WARMUP_FRACTION = 0.03


def lr_factor(cfg: TrainConfig, fraction: float | None, epoch: float) -> float:
    """Learning-rate multiplier in ``[min_lr / lr, 1]``.

    Parameters
    ----------
    cfg
        ``lr_schedule`` (``cosine``, ``cyclical`` or ``constant``), ``lr``, ``min_lr`` and
        ``lr_cycle_epochs`` are used.
    fraction
        How far the run is, in [0, 1] (``None`` when the run has no length: the cosine stays at the start
        of its warm-up).
    epoch
        Epochs done, for the cyclical schedule.

    Notes
    -----
    ``cosine``: a linear warm-up over the first 3 % of the run, then a half cosine down to ``min_lr``.
    ``cyclical``: triangular cycles of ``lr_cycle_epochs`` between ``lr`` and ``min_lr``, starting at the
    top (Valvano et al. (001) Sec. III-C).
    """
    lo = cfg.min_lr / cfg.lr
    if cfg.lr_schedule == "constant":
        return 1.0
    if cfg.lr_schedule == "cyclical":
        period = max(cfg.lr_cycle_epochs, 1e-6)
        phase = (epoch % period) / period
        tri = 1.0 - abs(2.0 * phase - 1.0)
        return lo + (1.0 - lo) * (1.0 - tri)  # starts at the top of the cycle
    f = 0.0 if fraction is None else min(max(fraction, 0.0), 1.0)
    warm = WARMUP_FRACTION
    if f < warm:
        return max(lo, f / warm)
    return lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * (f - warm) / (1 - warm)))


@dataclass(frozen=True)
class RunLength:
    """The end of one :meth:`~.trainer.Trainer.fit` call: a step count, a deadline, both or neither.

    Attributes
    ----------
    first_step
        Step counter when this fit started (> 0 when continuing).
    total_steps
        Step at which to stop (``epochs`` and ``max_steps``, the smaller one), or ``None``.
    budget_start
        ``time.monotonic()`` when the time budget started.
    time_budget
        Seconds of the budget (``None`` or 0: no budget).
    step_reason
        Reason reported when ``total_steps`` is reached: ``"max-steps"`` or ``"epochs"``.
    """

    first_step: int
    total_steps: int | None
    budget_start: float
    time_budget: float | None
    step_reason: str

    @property
    def deadline(self) -> float | None:
        """``time.monotonic()`` at which the time budget ends, or ``None``."""
        return self.budget_start + self.time_budget if self.time_budget else None

    @classmethod
    def create(
        cls, cfg: TrainConfig, first_step: int, steps_per_epoch: int, budget_start: float
    ) -> RunLength:
        """The run length of ``cfg`` for a fit from ``first_step`` (time budget from ``budget_start``)."""
        total = None
        if cfg.epochs:
            total = first_step + cfg.epochs * steps_per_epoch
        if cfg.max_steps is not None:
            total = min(total or (first_step + cfg.max_steps), first_step + cfg.max_steps)
        reason = "max-steps" if cfg.max_steps is not None and not cfg.epochs else "epochs"
        return cls(first_step, total, budget_start, cfg.time_budget, reason)

    def stop_reason(self, now: float, step: int, step_time: float | None, reserve: float) -> str | None:
        """Why to stop before the next step, or ``None`` to go on.

        With a deadline, stop when one more step (``step_time`` seconds), then ``reserve`` seconds (a final
        validation) and one second for saving would overrun it.
        """
        if self.total_steps is not None and step >= self.total_steps:
            return self.step_reason
        deadline = self.deadline
        if deadline is not None and step_time is not None and now + step_time + reserve + 1.0 > deadline:
            return "budget"
        return None

    def fraction(self, now: float, step: int) -> float | None:
        """How far the run is (time when there is a budget, else steps); ``None`` for an open-ended run."""
        if self.time_budget:
            return (now - self.budget_start) / max(self.time_budget, 1e-9)
        if self.total_steps is not None:
            return (step - self.first_step) / max(self.total_steps - self.first_step, 1)
        return None

    def eta(self, now: float, step: int, step_time: float) -> float | None:
        """Seconds left: to the deadline, else the steps left at ``step_time`` each; ``None`` if unknown."""
        deadline = self.deadline
        if deadline is not None:
            return max(deadline - now, 0.0)
        if self.total_steps is not None:
            return (self.total_steps - step) * step_time
        return None
