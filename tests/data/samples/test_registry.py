"""The sample registry: names, suggestions, argument checks, the packaged data folder."""

from __future__ import annotations

import pytest

from napari_scribbleseg.data.samples import SAMPLES, write_sample
from napari_scribbleseg.errors import ConfigError


def test_registry():
    assert SAMPLES.names() == ["cardiac", "brain"]
    with pytest.raises(ConfigError, match="cardiac"):
        SAMPLES.get("cardio")
    assert SAMPLES.get("cardiac").class_names == ("background", "RV", "MYO", "LV")


def test_write_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="at least 3"):
        write_sample("cardiac", tmp_path, n_subjects=2)
    with pytest.raises(ConfigError, match="Did you mean"):
        write_sample("brian", tmp_path)
    with pytest.raises(ConfigError, match="single subject"):
        write_sample("brain", tmp_path, n_subjects=4)
