"""Fixtures of the method tests: a method context, and tiny cases in every supervision regime."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from napari_scribbleseg.config import TrainConfig
from napari_scribbleseg.data.dataset import Case
from napari_scribbleseg.engine.methods import MethodContext

SPACING = (1.5, 1.5, 6.0)


@pytest.fixture(scope="session")
def method_context(pre, classes) -> Callable[..., MethodContext]:
    """``method_context(**overrides)`` -> the context a method is built with (3 classes, tiny UNet, CPU)."""

    def make(**kw) -> MethodContext:
        base = dict(
            n_classes=3,
            train=TrainConfig(width=4, depth=3, device="cpu", precision="fp32"),
            pre=pre,
            device=torch.device("cpu"),
            autocast_dtype=None,
            class_names=classes,
        )
        base.update(kw)
        return MethodContext(**base)

    return make


@pytest.fixture(scope="session")
def make_cases(tiny_volume, scribbles_from) -> Callable[..., list[Case]]:
    """``make_cases(n=3, annotators=1, dense_first=False)``: scribbled tiny cases, optionally a dense mask."""

    def make(n: int = 3, annotators: int = 1, dense_first: bool = False) -> list[Case]:
        cases = []
        for i in range(n):
            img, mask = tiny_volume(i)
            scribbles = [scribbles_from(mask, i + 7 * a) for a in range(annotators)]
            dense = mask if (dense_first and i == 0) else None
            cases.append(Case(img, SPACING, scribbles, dense, f"case{i}"))
        return cases

    return make


@pytest.fixture
def unlabeled_cases(tiny_volume) -> list[Case]:
    """Two images without any annotation (semi-supervised methods)."""
    return [Case(tiny_volume(20 + i)[0], SPACING, [], None, f"unl{i}") for i in range(2)]
