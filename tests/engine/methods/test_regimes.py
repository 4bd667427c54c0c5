"""The newer methods train in every regime: unlabeled images, two annotators, a dense mask."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.methods import METHODS
from napari_scribbleseg.engine.trainer import Trainer

NEW = ("attenscribble", "size", "isdnet")


FAST = {"isdnet": {"semi_warmup_steps": 1}, "size": {"every": 1, "warmup_steps": 0}, "attenscribble": {}}


@pytest.mark.parametrize("method", NEW)
def test_new_methods_are_registered_with_documented_options(method):
    cls = METHODS.get(method)
    assert cls.description and cls.__doc__ and "Sec." in cls.__doc__

    for f in dataclasses.fields(cls.Config):
        assert f.metadata.get("help"), f"{method}.{f.name} has no help"


@pytest.mark.parametrize("method", NEW)
def test_methods_train_with_unlabeled_images(
    method, tiny_masks, pre, classes, train_config, run_trainer, make_cases, unlabeled_cases
):
    trainer = Trainer(
        make_cases(),
        classes,
        train_config(method),
        FAST[method],
        pre,
        unpaired_masks=tiny_masks,
        unlabeled=unlabeled_cases,
    )
    events = run_trainer(trainer)
    losses = next(e for e in events if isinstance(e, ev.Progress)).losses
    assert trainer.step == 3 and all(np.isfinite(v) for v in losses.values())
    if method == "isdnet":
        assert {"adv_unlabeled", "importance", "disc", "d0"} <= set(losses)
    if method == "attenscribble":
        assert {"crf", "atn"} <= set(losses)
    if method == "size":
        assert "size" in losses and trainer.method.bounds_summary()["disk"][2] == "common"


@pytest.mark.parametrize("method", NEW)
def test_methods_train_with_two_annotators_and_a_dense_mask(
    method, pre, classes, train_config, run_trainer, make_cases
):
    # no unpaired masks: ISDNet's real label maps come from the dense mask
    trainer = Trainer(
        make_cases(annotators=2, dense_first=True),
        classes,
        train_config(method, max_steps=4),
        FAST[method],
        pre,
    )
    events = run_trainer(trainer)
    prog = [e for e in events if isinstance(e, ev.Progress)]
    assert trainer.step == 4 and all(np.isfinite(v) for e in prog for v in e.losses.values())
    assert trainer.sampler.n_annotators == 3  # two scribble sets + the dense row
