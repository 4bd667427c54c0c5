"""A few training steps of every method on tiny data, checkpoints, resume, stop and events."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from napari_scribbleseg.data.dataset import Batch, Case
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine import trainer as trainer_module
from napari_scribbleseg.engine.methods import METHODS, StepData
from napari_scribbleseg.engine.run_data import step_data
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.inference import Predictor
from napari_scribbleseg.inference.postprocess import KeepLargest


@pytest.mark.parametrize("method", METHODS.names())
def test_every_method_trains_a_few_steps(
    method, tiny_cases, tiny_masks, tmp_path, pre, classes, train_config, run_trainer
):
    trainer = Trainer(
        tiny_cases,
        classes,
        train_config(method),
        preprocess=pre,
        unpaired_masks=tiny_masks,
        out_dir=tmp_path / "m",
    )
    events = run_trainer(trainer)
    assert isinstance(events[0], ev.Started) and isinstance(events[-1], ev.Finished)
    assert events[-1].reason == "max-steps" and trainer.step == 3
    progress = [e for e in events if isinstance(e, ev.Progress)]
    assert progress and all(np.isfinite(v) for v in progress[0].losses.values())
    assert (tmp_path / "m" / "model.safetensors").is_file() and (tmp_path / "m" / "meta.json").is_file()
    pred = Predictor.load(tmp_path / "m", device="cpu")
    assert isinstance(pred.keep_largest, KeepLargest)  # the clean-up decided at the end of the run
    img = tiny_cases[0].image
    mask = pred.predict(img, tiny_cases[0].spacing)
    assert mask.shape == img.shape and mask.dtype == np.uint8 and mask.max() < len(classes)


def test_adversarial_methods_require_unpaired_masks_or_pseudo_labels(tiny_cases, pre, classes, train_config):
    no_pseudo = dataclasses.replace(pre, pseudo_labels=False)
    with pytest.raises(ConfigError, match="unpaired masks.*pseudo-labels on"):
        Trainer(tiny_cases, classes, train_config("aag"), preprocess=no_pseudo)


@pytest.mark.parametrize("method", ["aag", "unetd"])
def test_without_unpaired_masks_the_pseudo_labels_are_the_shape_prior(
    method, tiny_cases, pre, classes, train_config, run_trainer
):
    trainer = Trainer(tiny_cases, classes, train_config(method), preprocess=pre)
    events = run_trainer(trainer)
    assert any("shape prior" in line and "3 volume(s)" in line for line in events[0].info)
    assert trainer.method.ctx.has_unpaired_masks
    # the discriminator's real samples are the propagated scribbles: structures, not background only
    t = trainer
    samplers = (t.mask_sampler, t.unlabeled_sampler)
    real = step_data(t.rng, t.step, t.prepared, t.train_ids, samplers, t.device).unpaired_masks(8)
    assert real.shape == (8, pre.patch_size, pre.patch_size) and int(real.max()) >= 1
    assert set(np.unique(real.numpy())) <= set(range(len(classes)))


def test_a_pseudo_prior_without_propagatable_scribbles_is_an_error(
    tiny_cases, pre, classes, train_config, run_trainer
):
    only_structures = [
        Case(c.image, c.spacing, [np.where(c.scribbles[0] == 1, 0, c.scribbles[0])], None, c.name)
        for c in tiny_cases
    ]
    trainer = Trainer(only_structures, classes, train_config("aag"), preprocess=pre)
    events = list(trainer.fit())
    assert isinstance(events[-1], ev.Failed) and "could be propagated" in events[-1].message


def test_unknown_method_lists_valid_ones(tiny_cases, pre, classes, train_config):
    with pytest.raises(ConfigError, match="Did you mean 'aag'.*Valid: .*crf"):
        Trainer(tiny_cases, classes, train_config("aga"), preprocess=pre)


def _scribble_ce(predictor, cases) -> float:
    total, n = 0.0, 0
    for c in cases:
        probs = predictor.predict_proba(c.image, c.spacing)
        s = c.scribbles[0].astype(int)
        ann = s > 0
        p = np.take_along_axis(probs, np.where(ann, s - 1, 0)[None], 0)[0]
        total += float(-np.log(np.clip(p[ann], 1e-7, 1)).sum())
        n += int(ann.sum())
    return total / n


def test_training_reduces_the_loss(tiny_cases, pre, classes, train_config, run_trainer):
    trainer = Trainer(
        tiny_cases,
        classes,
        train_config("pce", max_steps=60, lr=3e-3, lr_schedule="constant", width=8),
        preprocess=pre,
    )
    trainer._setup()
    before = _scribble_ce(trainer.predictor(), tiny_cases)
    run_trainer(trainer)
    after = _scribble_ce(trainer.predictor(), tiny_cases)
    assert after < 0.5 * before


def test_resume_restores_weights_and_optimizer(
    tiny_cases, tiny_masks, tmp_path, pre, classes, train_config, run_trainer
):
    t1 = Trainer(
        tiny_cases,
        classes,
        train_config("aag"),
        preprocess=pre,
        unpaired_masks=tiny_masks,
        out_dir=tmp_path / "a",
    )
    run_trainer(t1)
    t2 = Trainer(
        tiny_cases,
        classes,
        train_config("aag", max_steps=2),
        preprocess=pre,
        unpaired_masks=tiny_masks,
        out_dir=tmp_path / "b",
        resume=tmp_path / "a",
    )
    t2._setup()
    for name, net in t1.method.networks.items():
        for (k, a), (_, b) in zip(net.state_dict().items(), t2.method.networks[name].state_dict().items()):
            assert torch.equal(a.cpu(), b.cpu()), (name, k)
    s1 = t1.method.optimizers["segmentor"].state_dict()["state"]
    s2 = t2.method.optimizers["segmentor"].state_dict()["state"]
    assert torch.equal(s1[0]["exp_avg"], s2[0]["exp_avg"])
    assert t2.step == 3
    events = run_trainer(t2)
    assert t2.step == 5 and events[0].resumed


def test_resume_refuses_another_method(tiny_cases, tmp_path, pre, classes, train_config, run_trainer):
    run_trainer(Trainer(tiny_cases, classes, train_config("pce"), preprocess=pre, out_dir=tmp_path / "a"))
    t = Trainer(tiny_cases, classes, train_config("wpce"), preprocess=pre, resume=tmp_path / "a")
    events = list(t.fit())
    assert isinstance(events[-1], ev.Failed) and "was trained with method 'pce'" in events[-1].message


def test_stop_from_another_thread_keeps_the_model(tiny_cases, tmp_path, pre, classes, train_config):
    trainer = Trainer(
        tiny_cases,
        classes,
        train_config("pce", max_steps=None, time_budget=60),
        preprocess=pre,
        out_dir=tmp_path / "m",
    )
    got = []
    for e in trainer.fit():
        got.append(e)
        if isinstance(e, ev.Progress) and e.step >= 2:
            threading.Thread(target=trainer.stop).start()
    assert got[-1].reason == "stopped" and (tmp_path / "m" / "model.safetensors").is_file()


def test_continue_after_finish_keeps_counting(tiny_cases, pre, classes, train_config, run_trainer):
    trainer = Trainer(tiny_cases, classes, train_config("crf"), preprocess=pre)
    run_trainer(trainer)
    run_trainer(trainer)
    assert trainer.step == 6


def test_previews_and_attention_maps(tiny_cases, tiny_masks, pre, classes, train_config, run_trainer):
    trainer = Trainer(
        tiny_cases,
        classes,
        train_config("aag", preview_every=1e-9, max_steps=2, depth=4),
        preprocess=pre,
        unpaired_masks=tiny_masks,
    )
    trainer.preview_request = (1, 2)
    previews = [e for e in run_trainer(trainer) if isinstance(e, ev.Preview)]
    assert previews, "no preview"
    p = previews[-1]
    assert (p.volume, p.slice_index) == (1, 2)
    assert p.prediction.shape == tiny_cases[1].image.shape[:2]
    assert set(p.attention) == {"scale 1/4", "scale 1/2"}
    assert all(a.shape == p.prediction.shape and 0 <= a.min() and a.max() <= 1 for a in p.attention.values())


class FakeClock:
    """``time.monotonic`` for the trainer: every reading advances by ``tick`` seconds.

    Steps, validations and the deadline then follow the readings, not the load of the machine, so a time
    budget can be tested exactly.
    """

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.now = 1000.0

    def monotonic(self) -> float:
        self.now += self.tick
        return self.now


def test_validation_split_and_time_budget(tiny_cases, pre, classes, train_config, run_trainer, monkeypatch):
    clock = FakeClock(tick=0.05)
    monkeypatch.setattr(trainer_module, "time", clock)
    cases = tiny_cases + tiny_cases[:2]
    for i, c in enumerate(cases):
        c.name = f"c{i}"
    budget = 3.0
    trainer = Trainer(
        cases,
        classes,
        train_config("pce", max_steps=None, time_budget=budget, val_fraction=0.2, val_every=0.5),
        preprocess=pre,
    )
    events = run_trainer(trainer)
    vals = [e for e in events if isinstance(e, ev.Validation)]
    finished = events[-1]
    assert len(trainer.val_ids) == 1 and isinstance(finished, ev.Finished) and finished.reason == "budget"
    assert len(vals) >= 2  # validated during the run (every 0.5 s of the clock) and at the end
    # the run, its final validation and saving end inside the budget; every step reads the clock
    assert finished.elapsed <= budget
    assert 0 < trainer.step <= budget / clock.tick


def test_volumes_with_dense_masks_stay_in_training(tiny_cases, pre, classes, train_config, tiny_volume):
    cases = []
    for i in range(6):
        c = tiny_cases[i % 3]
        dense = tiny_volume(i % 3)[1] if i < 2 else None  # volumes 0 and 1 also have a dense mask
        cases.append(Case(c.image, c.spacing, c.scribbles, dense, f"c{i}"))
    for seed in range(8):
        trainer = Trainer(cases, classes, train_config("pce", val_fraction=0.2, seed=seed), preprocess=pre)
        trainer._setup()
        assert len(trainer.val_ids) == 1 and trainer.val_ids[0] >= 2, (seed, trainer.val_ids)


def test_a_batch_without_scribbles_skips_the_update(tiny_cases, pre, classes, train_config):
    trainer = Trainer(tiny_cases, classes, train_config("pce"), preprocess=pre)
    trainer._setup()
    m = trainer.method
    before = [p.detach().clone() for p in m.segmentor.parameters()]
    batch = Batch(
        torch.randn(2, 1, 32, 32),
        torch.full((1, 2, 32, 32), -1),
        torch.zeros(1, 2, dtype=torch.bool),
        torch.ones(2, 32, 32, dtype=torch.bool),
    )
    losses = m.train_step(batch, StepData(np.random.default_rng(0), 0))
    assert losses["loss"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, m.segmentor.parameters()))


def _without(cases, value: int):
    """Copies of ``cases`` whose scribbles lose every pixel of scribble value ``value``."""
    out = []
    for c in cases:
        scribbles = [np.where(s == value, 0, s).astype(s.dtype) for s in c.scribbles]
        out.append(Case(c.image, c.spacing, scribbles, None, c.name))
    return out


def test_started_warns_about_classes_nobody_annotated(tiny_cases, pre, classes, train_config, run_trainer):
    def notes(cases, method: str) -> tuple[str, ...]:
        trainer = Trainer(cases, classes, train_config(method, max_steps=1), preprocess=pre)
        started = run_trainer(trainer)[0]
        assert isinstance(started, ev.Started)
        return started.notes

    assert notes(tiny_cases, "pce") == ()
    no_background = notes(_without(tiny_cases, 1), "pce")
    assert len(no_background) == 1 and "nobody scribbled background" in no_background[0]
    # size's bounds teach the background, so it does not warn about it
    assert notes(_without(tiny_cases, 1), "size") == ()
    no_disk = notes(_without(tiny_cases, 3), "size")
    assert len(no_disk) == 1 and "nobody annotated disk" in no_disk[0]
