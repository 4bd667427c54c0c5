"""AttenScribble: attention previews and the check of the attention level."""

from __future__ import annotations

from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.trainer import Trainer


def test_attenscribble_previews_its_attention_and_checks_the_level(
    pre, classes, train_config, run_trainer, make_cases
):
    trainer = Trainer(
        make_cases(), classes, train_config("attenscribble", preview_every=1e-9, max_steps=2), None, pre
    )
    previews = [e for e in run_trainer(trainer) if isinstance(e, ev.Preview)]
    assert previews and set(previews[-1].attention) == {"scale 1/4"}
    (a,) = previews[-1].attention.values()
    assert a.shape == previews[-1].prediction.shape and 0 <= a.min() and a.max() <= 1
    bad = Trainer(make_cases(), classes, train_config("attenscribble"), {"level": 3}, pre)
    last = list(bad.fit())[-1]
    assert isinstance(last, ev.Failed) and "level 3" in last.message
