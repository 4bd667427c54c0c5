"""The method and training option forms, built by magicgui from the config dataclasses."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

pytestmark = [
    pytest.mark.qt,
    pytest.mark.skipif(not ensure_display(), reason="napari's canvas needs a display: install Xvfb"),
]


def test_train_form_has_typed_inputs_and_round_trips_into_the_config(qtbot):
    from magicgui import widgets as mw

    from napari_scribbleseg._napari.config_form import FLOAT_MAX, INT_MAX, ConfigForm, OptionalValue
    from napari_scribbleseg._napari.panels.settings import OWN_FIELDS
    from napari_scribbleseg.config import TrainConfig, from_dict

    def declared(name: str, lo: float, hi: float) -> tuple[float, float]:
        """The field's declared range, else the form's default one."""
        meta = next(f for f in dataclasses.fields(TrainConfig) if f.name == name).metadata
        return meta.get("min", lo), meta.get("max", hi)

    form = ConfigForm(TrainConfig, exclude=OWN_FIELDS)
    lr, width, threads = form.input("lr"), form.input("width"), form.input("threads")
    assert isinstance(lr, mw.FloatSpinBox) and (lr.min, lr.max) == declared("lr", 0.0, FLOAT_MAX)
    assert isinstance(width, mw.SpinBox) and (width.min, width.max) == declared("width", 0, INT_MAX)
    assert isinstance(threads, OptionalValue) and isinstance(threads.inner, mw.SpinBox)
    assert "method" not in form.values() and "time_budget" not in form.values()
    # defaults survive the widgets (1e-5 is not rounded away by the spin box's decimals)
    assert from_dict(TrainConfig, form.values()) == TrainConfig()
    with pytest.raises(ValueError, match="range"):
        form.set_values({"lr": -1.0})  # a spin box refuses what its bounds exclude
    form.set_values({"lr": 2e-4, "min_lr": 3e-6, "width": 8, "threads": 2, "seed": 7})
    assert float(lr.native.text()) == 2e-4  # shown without rounding
    cfg = from_dict(TrainConfig, form.values())
    assert (cfg.lr, cfg.min_lr, cfg.width, cfg.threads, cfg.seed) == (2e-4, 3e-6, 8, 2, 7)
    form.set_values({"threads": None})
    assert form.values()["threads"] is None and not threads.inner.enabled


def test_choice_range_and_path_fields_get_a_drop_down_bounded_spin_boxes_and_a_file_picker(qtbot, tmp_path):
    from magicgui import widgets as mw

    from napari_scribbleseg._napari.config_form import ConfigForm
    from napari_scribbleseg.config import from_dict

    @dataclasses.dataclass(frozen=True)
    class Options:  # annotations resolve in this module's globals (Literal, Path)
        schedule: Literal["cosine", "cyclical"] = "cosine"
        norm: str = dataclasses.field(default="minmax", metadata={"choices": ("median-iqr", "minmax")})
        sigma: float = dataclasses.field(default=0.5, metadata={"min": 0.1, "max": 2.0, "help": "σ"})
        radius: int = dataclasses.field(default=3, metadata={"min": 1, "max": 9})
        masks: Path | None = None
        flips: bool = False

    form = ConfigForm(Options)
    schedule, norm = form.input("schedule"), form.input("norm")
    assert isinstance(schedule, mw.ComboBox) and schedule.choices == ("cosine", "cyclical")
    assert isinstance(norm, mw.ComboBox) and norm.value == "minmax"
    sigma, radius = form.input("sigma"), form.input("radius")
    assert isinstance(sigma, mw.FloatSpinBox) and (sigma.min, sigma.max) == (0.1, 2.0)
    assert sigma.native.toolTip() == "σ"
    assert isinstance(radius, mw.SpinBox) and (radius.min, radius.max) == (1, 9)
    assert isinstance(form.input("masks").inner, mw.FileEdit)
    assert isinstance(form.input("flips"), mw.CheckBox) and form.input("flips").text == "flips"
    assert from_dict(Options, form.values()) == Options()
    with pytest.raises(ValueError, match="not one of"):
        form.set_values({"schedule": "cosin"})  # a typo cannot reach the engine
    form.set_values({"schedule": "cyclical", "sigma": "1.5", "radius": 9, "masks": tmp_path, "flips": True})
    assert from_dict(Options, form.values()) == Options("cyclical", "minmax", 1.5, 9, tmp_path, True)


def test_the_real_choice_fields_are_drop_downs_that_reach_the_config(qtbot):
    from magicgui import widgets as mw

    from napari_scribbleseg._napari.config_form import ConfigForm
    from napari_scribbleseg.config import PreprocessConfig, TrainConfig, from_dict

    pre = ConfigForm(PreprocessConfig)
    norm = pre.input("normalization")
    assert isinstance(norm, mw.ComboBox)
    assert set(norm.choices) == {"median-iqr", "minmax"}
    norm.value = "minmax"
    assert from_dict(PreprocessConfig, pre.values()).normalization == "minmax"
    train = ConfigForm(TrainConfig)
    assert isinstance(train.input("lr_schedule"), mw.ComboBox)
    assert isinstance(train.input("precision"), mw.ComboBox)
    assert train.input("depth").min == 2 and train.input("depth").max == 8


def test_auto_is_the_first_and_default_method_and_takes_unpaired_masks_but_no_options(qtbot):
    from types import SimpleNamespace

    from napari_scribbleseg._napari.panels.settings import TrainingSettings
    from napari_scribbleseg.engine.methods import METHODS

    settings = TrainingSettings(SimpleNamespace(layers=[]))
    qtbot.addWidget(settings)
    settings.set_engine(METHODS, [])
    combo = settings.method_combo
    assert combo.itemText(0) == "auto" and combo.currentText() == "auto"
    assert settings.method_form is None and settings.method_options() == {}
    assert "crf" in settings.method_desc.text() and "aag" in settings.method_desc.text()
    assert not settings.unpaired.combo.isHidden()  # masks given here make auto choose aag
    assert settings.train_config().method == "auto"
    combo.setCurrentText("crf")
    assert settings.method_form is not None and "crf_weight" in settings.method_options()
    assert settings.unpaired.combo.isHidden() and settings.unpaired_source() is None
    combo.setCurrentText("auto")
    assert settings.method_form is None
