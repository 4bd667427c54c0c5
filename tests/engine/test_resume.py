"""Resuming continues the run: weights, optimisers, best score, random streams and the schedule's plan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_scribbleseg.data.dataset import Case
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.io import checkpoint as ckpt


def _recording(trainer: Trainer, losses: list, stop_after: int | None = None) -> Trainer:
    """Set ``trainer`` up and record the losses of every step (stop it after step ``stop_after``)."""
    trainer._setup()
    step = trainer.method.train_step

    def train_step(batch, data):
        out = step(batch, data)
        losses.append(out)
        if stop_after is not None and trainer.step + 1 == stop_after:
            trainer.stop()
        return out

    trainer.method.train_step = train_step
    return trainer


def test_n_steps_interrupted_then_resumed_equal_one_run(
    tiny_cases, tiny_masks, tmp_path, pre, classes, train_config, run_trainer
):
    cfg = train_config("aag", max_steps=6, lr_schedule="cosine")
    one_go: list = []
    run_trainer(
        _recording(Trainer(tiny_cases, classes, cfg, preprocess=pre, unpaired_masks=tiny_masks), one_go)
    )

    first: list = []
    t1 = Trainer(tiny_cases, classes, cfg, preprocess=pre, unpaired_masks=tiny_masks, out_dir=tmp_path / "m")
    events = run_trainer(_recording(t1, first, stop_after=3))
    assert events[-1].reason == "stopped" and t1.step == 3
    second: list = []
    t2 = Trainer(
        tiny_cases, classes, cfg, preprocess=pre, unpaired_masks=tiny_masks, out_dir=tmp_path / "m",
        resume=tmp_path / "m",
    )  # fmt: skip
    events = run_trainer(_recording(t2, second))
    assert events[-1].reason == "max-steps" and t2.step == 6  # the plan of 6 steps, not 3 more than 3
    assert len(one_go) == 6 and len(first) == 3 and len(second) == 3
    for a, b in zip(one_go, first + second):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-7), k


def test_a_finished_run_resumed_plans_anew(tiny_cases, tmp_path, pre, classes, train_config, run_trainer):
    run_trainer(Trainer(tiny_cases, classes, train_config("pce"), preprocess=pre, out_dir=tmp_path / "m"))
    again = Trainer(tiny_cases, classes, train_config("pce"), preprocess=pre, resume=tmp_path / "m")
    run_trainer(again)
    assert again.step == 6


@pytest.fixture
def six_cases(tiny_volume, scribbles_from) -> list[Case]:
    """Six scribbled volumes: enough for a validation split."""
    cases = []
    for i in range(6):
        img, mask = tiny_volume(i)
        cases.append(Case(img, (1.0, 1.0, 4.0), [scribbles_from(mask, i)], None, f"case{i}"))
    return cases


def test_resume_restores_the_best_score_and_model(
    six_cases, tmp_path, pre, classes, train_config, run_trainer
):
    cfg = train_config("pce", max_steps=4, val_fraction=0.34, val_every=1e-9)
    t1 = Trainer(six_cases, classes, cfg, preprocess=pre, out_dir=tmp_path / "m")
    run_trainer(t1)
    assert t1.val_ids and t1.best_loss is not None
    t2 = Trainer(six_cases, classes, cfg, preprocess=pre, out_dir=tmp_path / "m", resume=tmp_path / "m")
    t2._setup()
    assert t2.best_loss == pytest.approx(t1.best_loss) and t2.best_step == t1.best_step
    for k, v in t1._best_state.items():
        torch.testing.assert_close(t2._best_state[k], v)


def test_without_validation_the_run_is_saved_periodically(
    tiny_cases, tmp_path, pre, classes, train_config, monkeypatch
):
    """A crash after a few steps leaves the last periodic save, which resumes."""
    trainer = Trainer(
        tiny_cases, classes, train_config("pce", max_steps=10, val_every=1e-9), preprocess=pre,
        out_dir=tmp_path / "m",
    )  # fmt: skip
    trainer._setup()
    step = trainer.method.train_step

    def crash_at_4(batch, data):
        if trainer.step == 4:
            raise RuntimeError("power cut")
        return step(batch, data)

    trainer.method.train_step = crash_at_4
    events = list(trainer.fit())
    assert isinstance(events[-1], ev.Failed) and "power cut" in events[-1].message
    saves = [e for e in events if isinstance(e, ev.CheckpointSaved)]
    assert saves and not saves[-1].best
    assert ckpt.load_meta(tmp_path / "m")["step"] == 4
    resumed = Trainer(
        tiny_cases, classes, train_config("pce", max_steps=10), preprocess=pre, resume=tmp_path / "m"
    )
    resumed._setup()
    assert resumed.step == 4


def test_a_stop_before_the_first_step_writes_no_model(tiny_cases, tmp_path, pre, classes, train_config):
    trainer = Trainer(tiny_cases, classes, train_config("pce"), preprocess=pre, out_dir=tmp_path / "m")
    trainer._setup()
    trainer.method.train_step = lambda *a: (_ for _ in ()).throw(AssertionError("no step expected"))
    gen = trainer.fit()
    first = next(gen)  # Started: fit cleared the stop flag; stop now
    trainer.stop()
    events = [first, *gen]
    assert events[-1].reason == "stopped" and not (tmp_path / "m").exists()
    assert np.isfinite(events[0].elapsed)
