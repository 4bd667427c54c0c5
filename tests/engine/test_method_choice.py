"""``method auto``: the engine picks the method from the data and says what it picked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_scribbleseg.config import TrainConfig
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.method_choice import AUTO, choose_method, resolve_method
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.errors import ConfigError


def test_auto_is_the_default_method():
    assert TrainConfig().method == AUTO


@pytest.mark.parametrize(
    ("volumes", "slices", "masks", "resumed", "pseudo", "expected"),
    [
        (1, 3, False, None, True, "aag"),  # one volume, a few slices: the shape prior from pseudo-labels
        (1, 3, False, None, False, "crf"),  # ... unless pseudo-labels are off (no prior without masks)
        (120, 952, False, None, True, "aag"),  # a scribbled cohort: the prior from pseudo-labels too
        (120, 952, False, None, False, "crf"),  # no masks, no pseudo-labels: no shape prior
        (30, 300, True, None, True, "aag"),  # unpaired masks
        (1, 3, True, "pce", True, "pce"),  # continuing a folder
    ],
)
def test_the_choice_follows_the_data(volumes, slices, masks, resumed, pseudo, expected):
    choice = choose_method(volumes, slices, masks, resumed, pseudo)
    assert choice.method == expected
    assert choice.note.startswith(f"method auto -> {expected}: ") and choice.reason


def test_annotated_slices_count_along_each_slice_axis(tiny_cases):
    from napari_scribbleseg.data.dataset import Case
    from napari_scribbleseg.engine.method_choice import annotated_slices

    assert annotated_slices(tiny_cases) == 12  # 3 volumes scribbled on each of their 4 slices
    img = np.zeros((8, 8, 5), np.float32)
    scr = np.zeros(img.shape, np.uint8)
    scr[2, 3, 1] = scr[4, 4, 1] = scr[5, 5, 3] = 1
    assert annotated_slices([Case(img, (1.0, 1.0, 5.0), [scr])]) == 2
    assert annotated_slices([Case(img, (1.0, 1.0, 5.0), [scr])], slice_axis=0) == 3
    assert annotated_slices([Case(img, (1.0, 1.0, 5.0), [], np.zeros(img.shape, np.uint8))]) == 5


def test_a_named_method_is_kept_and_options_need_one():
    cfg = TrainConfig(method="pce")
    assert resolve_method(cfg, [], True) == (cfg, None)
    with pytest.raises(ConfigError, match="crf_weight.*instead of auto"):
        resolve_method(TrainConfig(), [], False, {"crf_weight": 0.5})


@pytest.mark.parametrize(
    ("with_masks", "pseudo", "expected"), [(False, False, "crf"), (True, True, "aag"), (False, True, "aag")]
)
def test_the_trainer_resolves_auto_and_reports_it(
    with_masks,
    pseudo,
    expected,
    tiny_cases,
    tiny_masks,
    pre,
    classes,
    train_config,
    run_trainer,
    tmp_path,
):
    pre = dataclasses.replace(pre, pseudo_labels=pseudo)
    unpaired = tiny_masks if with_masks else []
    trainer = Trainer(
        tiny_cases,
        classes,
        train_config(AUTO, max_steps=1),
        preprocess=pre,
        unpaired_masks=unpaired,
        out_dir=tmp_path / "m",
    )
    assert trainer.config.method == expected
    events = run_trainer(trainer)
    started = events[0]
    assert isinstance(started, ev.Started) and started.method == expected
    assert started.info[0].startswith(f"method auto -> {expected}")
    assert trainer.metadata()["method"] == expected  # the model folder names the real method
    # continuing that folder with auto keeps its method, whatever the data now
    again = Trainer(
        tiny_cases, classes, train_config(AUTO, max_steps=2), preprocess=pre, resume=tmp_path / "m"
    )
    assert again.config.method == expected
