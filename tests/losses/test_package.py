"""The losses package: one import path for every loss, one module per family."""

from __future__ import annotations

import importlib
import inspect

import napari_scribbleseg.losses as losses

MODULES = ("partial_ce", "adversarial", "crf", "attentive_similarity", "size", "dice")


def test_every_public_loss_is_exported_once():
    seen = {}
    for name in MODULES:
        mod = importlib.import_module(f"napari_scribbleseg.losses.{name}")
        public = [
            n
            for n, f in inspect.getmembers(mod, inspect.isfunction)
            if not n.startswith("_") and f.__module__ == mod.__name__
        ]
        assert public, name
        for n in public:
            assert n not in seen, f"{n} defined in {seen.get(n)} and {name}"
            seen[n] = name
            assert getattr(losses, n) is getattr(mod, n)
    assert sorted(seen) == sorted(losses.__all__)
