"""``method auto``: the engine picks the method from the data and says what it picked."""

from __future__ import annotations

import pytest

from napari_scribbleseg.config import TrainConfig
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.method_choice import AUTO, choose_method, resolve_method
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.errors import ConfigError


def test_auto_is_the_default_method():
    assert TrainConfig().method == AUTO


@pytest.mark.parametrize(
    ("n", "masks", "resumed", "expected"),
    [(1, False, None, "crf"), (60, False, None, "crf"), (30, True, None, "aag"), (1, True, "pce", "pce")],
)
def test_the_choice_follows_the_data(n, masks, resumed, expected):
    choice = choose_method(n, masks, resumed)
    assert choice.method == expected
    assert choice.note.startswith(f"method auto -> {expected}: ") and choice.reason


def test_a_named_method_is_kept_and_options_need_one():
    cfg = TrainConfig(method="pce")
    assert resolve_method(cfg, 3, True) == (cfg, None)
    with pytest.raises(ConfigError, match="crf_weight.*instead of auto"):
        resolve_method(TrainConfig(), 3, False, {"crf_weight": 0.5})


@pytest.mark.parametrize(("with_masks", "expected"), [(False, "crf"), (True, "aag")])
def test_the_trainer_resolves_auto_and_reports_it(
    with_masks, expected, tiny_cases, tiny_masks, pre, classes, train_config, run_trainer, tmp_path
):
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
