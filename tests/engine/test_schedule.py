"""Learning-rate schedule and run length (stop rules, progress fraction, ETA)."""

from __future__ import annotations

import math

import pytest

from napari_scribbleseg.config import TrainConfig
from napari_scribbleseg.engine.schedule import WARMUP_FRACTION, RunLength, lr_factor


def test_constant_schedule():
    cfg = TrainConfig(lr_schedule="constant", lr=1e-3, min_lr=1e-5)
    assert [lr_factor(cfg, f, 3.0) for f in (None, 0.0, 0.5, 1.0)] == [1.0] * 4


def test_cosine_warms_up_then_decays_to_min_lr():
    cfg = TrainConfig(lr_schedule="cosine", lr=1e-3, min_lr=1e-5)
    lo = cfg.min_lr / cfg.lr
    assert lr_factor(cfg, 0.0, 0.0) == lo  # the warm-up starts at min_lr, not at 0
    assert lr_factor(cfg, WARMUP_FRACTION / 2, 0.0) == pytest.approx(0.5)
    assert lr_factor(cfg, WARMUP_FRACTION, 0.0) == pytest.approx(1.0)
    mid = WARMUP_FRACTION + (1 - WARMUP_FRACTION) / 2
    assert lr_factor(cfg, mid, 0.0) == pytest.approx(lo + (1 - lo) * 0.5)
    assert lr_factor(cfg, 1.0, 0.0) == pytest.approx(lo)
    assert lr_factor(cfg, 7.0, 0.0) == pytest.approx(lo)  # clipped to the run
    assert lr_factor(cfg, None, 0.0) == lo
    values = [lr_factor(cfg, f / 100, 0.0) for f in range(3, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_cyclical_is_triangular_in_epochs_starting_at_the_top():
    cfg = TrainConfig(lr_schedule="cyclical", lr=1e-3, min_lr=1e-4, lr_cycle_epochs=4)
    lo = 0.1
    assert lr_factor(cfg, 0.7, 0.0) == pytest.approx(1.0)  # the fraction does not matter
    assert lr_factor(cfg, 0.0, 2.0) == pytest.approx(lo)
    assert lr_factor(cfg, 0.0, 1.0) == pytest.approx(lo + (1 - lo) * 0.5)
    assert lr_factor(cfg, 0.0, 4.0) == pytest.approx(1.0)


def test_run_length_from_steps_and_epochs():
    cfg = TrainConfig(max_steps=10, epochs=None)
    run = RunLength.create(cfg, first_step=5, steps_per_epoch=3, budget_start=100.0)
    assert run.total_steps == 15 and run.deadline is None
    assert run.stop_reason(0.0, 14, 1.0, 0.0) is None
    assert run.stop_reason(0.0, 15, 1.0, 0.0) == "max-steps"
    assert run.fraction(0.0, 10) == pytest.approx(0.5)
    assert run.eta(0.0, 10, 2.0) == pytest.approx(10.0)
    both = RunLength.create(TrainConfig(max_steps=10, epochs=2), 0, 3, 0.0)
    assert both.total_steps == 6 and both.stop_reason(0.0, 6, None, 0.0) == "epochs"
    epochs = RunLength.create(TrainConfig(epochs=2), 4, 3, 0.0)
    assert epochs.total_steps == 10 and epochs.stop_reason(0.0, 10, None, 0.0) == "epochs"


def test_run_length_with_a_time_budget_leaves_room_for_validation_and_saving():
    run = RunLength.create(TrainConfig(time_budget=60.0), 0, 3, budget_start=100.0)
    assert run.deadline == 160.0 and run.total_steps is None
    assert run.fraction(130.0, 999) == pytest.approx(0.5)
    assert run.eta(130.0, 0, 1.0) == pytest.approx(30.0) and run.eta(170.0, 0, 1.0) == 0.0
    assert run.stop_reason(150.0, 0, None, 0.0) is None  # no step timed yet
    assert run.stop_reason(150.0, 0, 2.0, 6.0) is None  # 150 + 2 + 6 + 1 = 159
    assert run.stop_reason(150.0, 0, 2.0, 8.0) == "budget"


def test_open_ended_run():
    run = RunLength.create(TrainConfig(), 0, 3, 0.0)
    assert run.total_steps is None and run.deadline is None
    assert run.fraction(10.0, 5) is None and run.eta(10.0, 5, 1.0) is None
    assert run.stop_reason(math.inf, 10**9, 1.0, 0.0) is None
