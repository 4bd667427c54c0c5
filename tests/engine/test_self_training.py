"""The self-training round: pseudo-labels made again from the network averaged with the walk."""

from __future__ import annotations

import numpy as np
import torch

from napari_scribbleseg.config import PreprocessConfig
from napari_scribbleseg.data.dataset import Case, PreparedCase
from napari_scribbleseg.data.slices import SliceGeometry
from napari_scribbleseg.engine.run_data import prepare_run
from napari_scribbleseg.engine.self_training import quantize, refresh_pseudo_labels
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.labels import IGNORE


class _Fixed(torch.nn.Module):
    """A 'segmentor' whose logits favour class 2 on the left half and class 0 on the right."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        b, _, h, w = x.shape
        logits = torch.zeros(b, 3, h, w)
        logits[:, 2, :, : w // 2] = 4.0
        logits[:, 0, :, w // 2 :] = 4.0
        return {"logits": logits + 0 * self.bias}


def _case(walk_class: int) -> PreparedCase:
    s, h, w = 2, 16, 16
    user = np.full((s, h, w), IGNORE, np.int8)
    user[0, 8, 12] = 1  # a stroke of class 1 where the network says 0
    pseudo = np.full((s, h, w), walk_class, np.int8)
    walk = np.zeros((3, s, h, w), np.float32)
    walk[walk_class] = 1.0
    geom = SliceGeometry.create((h, w, s), (1.0, 1.0, 5.0), 1.0, None)
    return PreparedCase(
        "c",
        geom,
        np.zeros((s, h, w), np.float32),
        np.stack([user, pseudo]),
        np.array([False, True]),
        user != IGNORE,
        np.array([False, True]),
        quantize(walk),
    )


def test_refresh_averages_network_and_walk_and_keeps_the_strokes():
    seg = _Fixed().train()
    pc = _case(walk_class=1)
    user_before = pc.targets[0].copy()
    assert refresh_pseudo_labels(seg, [pc], torch.device("cpu"), None, network_weight=0.5) == 1
    row = pc.targets[1]
    # equal weights: the network's 0.965 for its class loses to the walk's 1.0 for class 1
    assert (row == 1).all()
    # a network weight of 0.75 lets the network win everywhere except on the stroke
    pc = _case(walk_class=1)
    refresh_pseudo_labels(seg, [pc], torch.device("cpu"), None, network_weight=0.75)
    row = pc.targets[1]
    assert (row[:, :, :8] == 2).all() and row[0, 8, 12] == 1 and row[1, 8, 12] == 0
    assert (row[:, :, 8:][pc.targets[0][:, :, 8:] == IGNORE] == 0).all()
    assert np.array_equal(pc.targets[0], user_before) and seg.training


def test_refresh_leaves_cases_without_a_walk_alone():
    pc = _case(walk_class=1)
    pc.walk = None
    before = pc.targets.copy()
    assert refresh_pseudo_labels(_Fixed(), [pc], torch.device("cpu"), None) == 0
    assert np.array_equal(pc.targets, before)


def test_walks_are_kept_only_when_a_refresh_is_planned(tiny_volume, scribbles_from, train_config):
    img, mask = tiny_volume(0)
    cases = [Case(img, (1.5, 1.5, 6.0), [scribbles_from(mask, 0)], None, "c0")]
    for at, kept in ((0.0, False), (0.5, True)):
        pre = PreprocessConfig(patch_size=32, pseudo_labels=True, pseudo_refresh=at)
        run = prepare_run(cases, [], [], pre, 1.5, train_config("pce", val_fraction=0.0), 3)
        pc = run.prepared[0]
        assert (pc.walk is not None) is kept
        if kept:
            assert pc.walk.dtype == np.uint8 and pc.walk.shape == (3, *pc.image.shape)
            assert np.array_equal(pc.walk.argmax(0), pc.targets[-1])


def test_a_run_refreshes_its_pseudo_labels_once(
    tiny_volume, scribbles_from, train_config, run_trainer, classes, monkeypatch
):
    import napari_scribbleseg.engine.trainer as trainer_module

    img, mask = tiny_volume(0)
    cases = [Case(img, (1.5, 1.5, 6.0), [scribbles_from(mask, 0)], None, "c0")]
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True, pseudo_refresh=0.5)
    trainer = Trainer(cases, classes, train_config("pce", max_steps=4), preprocess=pre)
    calls = []
    real = trainer_module.refresh_pseudo_labels

    def spy(*args, **kwargs):
        calls.append(trainer.step)
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "refresh_pseudo_labels", spy)
    run_trainer(trainer)
    assert calls == [3]  # after the step taken at half of the run, and only then
    monkeypatch.setattr(trainer, "pre", PreprocessConfig(patch_size=32, pseudo_labels=True))
    calls.clear()
    trainer = Trainer(cases, classes, train_config("pce", max_steps=4), preprocess=trainer.pre)
    run_trainer(trainer)
    assert calls == []  # pseudo_refresh 0: never
