"""Fixtures of the engine tests: a tiny training configuration and a runner that fails on ``Failed``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from napari_scribbleseg.config import PreprocessConfig, TrainConfig
from napari_scribbleseg.engine import events as ev


@pytest.fixture(scope="session")
def pre() -> PreprocessConfig:
    """32-pixel patches: the tiny volumes are 48x48."""
    return PreprocessConfig(patch_size=32)


@pytest.fixture(scope="session")
def train_config() -> Callable[..., TrainConfig]:
    """``train_config(method, **overrides)`` -> a TrainConfig for a few fast CPU steps (3 by default)."""

    def make(method: str, **kw) -> TrainConfig:
        base = dict(
            method=method,
            batch_size=2,
            width=4,
            depth=3,
            max_steps=3,
            val_fraction=0.0,
            preview_every=0,
            device="cpu",
            precision="fp32",
            threads=1,
        )
        base.update(kw)
        return TrainConfig(**base)

    return make


@pytest.fixture(scope="session")
def run_trainer() -> Callable[..., list]:
    """``run_trainer(trainer)`` -> every event of ``trainer.fit()``; a ``Failed`` event fails the test."""

    def run(trainer) -> list:
        events = list(trainer.fit())
        failed = [e for e in events if isinstance(e, ev.Failed)]
        assert not failed, failed[0].message + failed[0].details
        return events

    return run
