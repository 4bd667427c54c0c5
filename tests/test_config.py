import math

import pytest

from napari_scribbleseg.config import PreprocessConfig, TrainConfig, from_dict
from napari_scribbleseg.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_budget", math.nan),
        ("time_budget", -1.0),
        ("depth", -3),
        ("width", 10**6),
        ("lr", math.inf),
        ("lr_schedule", "linear"),
        ("precision", "fp16"),
        ("batch_size", 0),
    ],
)
def test_train_config_refuses_values_outside_declared_bounds(field, value):
    with pytest.raises(ConfigError, match=f"TrainConfig.{field}"):
        TrainConfig(**{field: value})


def test_bounds_apply_to_dicts_from_saved_metadata():
    with pytest.raises(ConfigError, match="PreprocessConfig.normalization"):
        from_dict(PreprocessConfig, {"normalization": "zscore"})
    with pytest.raises(ConfigError, match="PreprocessConfig.patch_size"):
        from_dict(PreprocessConfig, {"patch_size": 10**6})
    assert from_dict(TrainConfig, {"depth": 4, "width": 8}).depth == 4


def test_optional_fields_accept_none_and_defaults_pass():
    TrainConfig(time_budget=None, threads=None, epochs=None)
    PreprocessConfig()
