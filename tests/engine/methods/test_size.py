"""Size constraints (004): bound tags, dense rows, the patch term, warm-up, the volume form."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from napari_scribbleseg.cli.options import parse_method_options
from napari_scribbleseg.data.dataset import Batch, PreparedCase
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.methods import method_config
from napari_scribbleseg.engine.methods.size import SizeConfig, SizeConstrained
from napari_scribbleseg.engine.methods.size_bounds import parse_bounds
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.labels import IGNORE


def test_parse_bounds_and_errors(method_context):
    assert parse_bounds("") == {}
    assert parse_bounds(" LV = 60-2000 ; MYO=50..1500, RV=0:inf") == {
        "LV": (60.0, 2000.0),
        "MYO": (50.0, 1500.0),
        "RV": (0.0, float("inf")),
    }
    for bad, msg in [
        ("LV=60", "expected NAME=MIN-MAX"),
        ("LV", "expected NAME=MIN-MAX"),
        ("LV=-5-10", "expected NAME=MIN-MAX"),
        ("LV=200-100", "larger than the maximum"),
        ("LV=1-2,lv=3-4", "given twice"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            SizeConfig(bounds=bad)
    with pytest.raises(ConfigError, match="must be text"):
        SizeConfig(bounds=5)  # type: ignore[arg-type]
    # the CLI form: --opt bounds=LV=60-2000,MYO=50-1500
    opts = parse_method_options(["bounds=ring=60-2000,disk=50-1500"], {})
    assert method_config("size", opts).bounds == "ring=60-2000,disk=50-1500"
    with pytest.raises(ConfigError, match="unknown structure 'LV'.*background, ring, disk"):
        SizeConstrained(SizeConfig(bounds="LV=1-2"), method_context())


def _prepared(targets: np.ndarray, dense: list[bool]) -> PreparedCase:
    return PreparedCase(
        "c", None, np.zeros(targets.shape[1:], np.float32), targets.astype(np.int8), np.array(dense)
    )


def test_size_bounds_tags_common_individual_and_user(method_context):
    s, h, w = 3, 10, 10
    scrib = np.full((s, h, w), IGNORE)
    scrib[0, 0, :3] = 0  # slice 0: background and ring scribbled, disk not
    scrib[0, 5, 5] = 1
    scrib[1, 5, 5] = 2  # slice 1: disk only; slice 2: nothing (not annotated)
    ref = np.zeros((2, h, w))
    ref[0, :2, :5], ref[0, 5:, 5:] = 1, 2  # ring 10 px, disk 25 px
    ref[1, :4, :5], ref[1, 5:7, 5:] = 1, 2  # ring 20 px, disk 10 px
    method = SizeConstrained(SizeConfig(), method_context())
    b = method.compute_bounds([_prepared(scrib[None], [False])], [ref])
    assert b.items == [(0, 0), (0, 1)]
    np.testing.assert_allclose(b.lower[0], [0, 9, 0])  # ring present: common 0.9 * 10; disk absent
    np.testing.assert_allclose(b.upper[0], [np.inf, 22, 0])  # ... 1.1 * 20; absent: [0, 0]
    np.testing.assert_allclose(b.lower[1], [0, 0, 9])
    np.testing.assert_allclose(b.upper[1], [np.inf, 0, 27.5])
    assert method.bounds_summary() == {}
    # without absence tags an unscribbled structure keeps only the upper bound
    loose = SizeConstrained(SizeConfig(absent_if_unscribbled=False, bounds="disk=3-40"), method_context())
    b2 = loose.compute_bounds([_prepared(scrib[None], [False])], [ref])
    np.testing.assert_allclose(b2.upper[0], [np.inf, 22, 40])
    np.testing.assert_allclose(b2.lower[0], [0, 9, 0])
    np.testing.assert_allclose(b2.lower[1], [0, 0, 3])  # user bounds override the common ones
    # no common bounds: tag bounds [1, |Ω|]; a dense row gives individual bounds 0.9 τ .. 1.1 τ (004 Eq. 7)
    tags = SizeConstrained(SizeConfig(common_bounds=False), method_context())
    dense = np.full((s, h, w), IGNORE)
    dense[2] = ref[0]
    b3 = tags.compute_bounds([_prepared(np.stack([scrib, dense]), [False, True])], [])
    assert b3.items == [(0, 0), (0, 1), (0, 2)]
    np.testing.assert_allclose(b3.lower[1], [0, 0, 1])
    np.testing.assert_allclose(b3.upper[1], [np.inf, 0, 100])
    np.testing.assert_allclose(b3.lower[2], [0, 9, 22.5])
    np.testing.assert_allclose(b3.upper[2], [np.inf, 11, 27.5])
    lo, hi = b3.volumes[0]  # 3D (004 Sec. 4.4): τ_B summed over the volume's dense slices
    np.testing.assert_allclose(lo, [0, 9, 22.5])
    np.testing.assert_allclose(hi, [np.inf, 11, 27.5])


def test_sizes_only_ignores_dense_rows_in_the_supervised_loss(method_context):
    method = SizeConstrained(SizeConfig(dense_masks="sizes-only"), method_context())
    targets = torch.full((2, 1, 32, 32), IGNORE)
    targets[1] = 1  # dense row only
    batch = Batch(
        torch.randn(1, 1, 32, 32), targets, torch.tensor([[False], [True]]), torch.ones(1, 32, 32, dtype=bool)
    )
    logits = method.forward(batch.image)["logits"]
    assert method.supervised_loss(logits, batch) == 0
    other = SizeConstrained(SizeConfig(), method_context())
    assert other.supervised_loss(other.forward(batch.image)["logits"], batch) > 0


def test_size_patch_term_scales_upper_bounds_and_uses_visible_dense_sizes(method_context):
    method = SizeConstrained(SizeConfig(size_weight=1.0), method_context())
    b = method.compute_bounds([_prepared(np.full((1, 2, 8, 8), IGNORE), [False])], [])
    b.items = [(0, 0), (0, 1)]
    b.lower = np.array([[0, 5, 0], [0, 5, 0]], np.float32)
    b.upper = np.array([[np.inf, 10, 0], [np.inf, 10, 0]], np.float32)
    probs = torch.zeros(2, 3, 8, 8)
    probs[:, 1] = 1.0  # 64 px of the ring in each patch
    targets = torch.full((2, 2, 8, 8), IGNORE)
    targets[1, 1, :2] = 1  # patch 1 has a dense row: 16 visible ring pixels
    targets[1, 1, 2:] = 0
    dense = torch.tensor([[False, False], [False, True]])
    batch = Batch(
        torch.zeros(2, 1, 8, 8),
        targets,
        dense,
        torch.ones(2, 8, 8, dtype=bool),
        np.array([[0, 0], [0, 1]]),
        torch.tensor([2.0, 1.0]),
    )
    got = method.patch_term(probs, batch, b)
    # patch 0: upper 10 * 2 = 20 -> (64 - 20)^2 (the lower bound 5 is dropped); patch 1: [14.4, 17.6]
    want = ((64 - 20) ** 2 / 64 + (64 - 17.6) ** 2 / 64) / 2
    assert got.item() == pytest.approx(want, rel=1e-5)
    probs[0, 1], probs[0, 0] = 0.0, 1.0  # nothing predicted: no penalty, the lower bound is not kept
    probs[1, 1] = 0.0
    probs[1, 1, :2] = 1.0  # exactly the visible 16 pixels
    probs[1, 0] = 1.0 - probs[1, 1]
    assert method.patch_term(probs, batch, b).item() == pytest.approx(0.0, abs=1e-6)


def test_size_penalty_waits_for_its_warm_up(pre, classes, train_config, run_trainer, make_cases):
    trainer = Trainer(
        make_cases(), classes, train_config("size", max_steps=2), {"every": 1}, pre
    )  # default 300 steps
    prog = [e for e in run_trainer(trainer) if isinstance(e, ev.Progress)]
    assert prog and all("size" not in e.losses for e in prog)
    trainer = Trainer(
        make_cases(), classes, train_config("size", max_steps=2), {"every": 1, "warmup_steps": 0}, pre
    )
    prog = [e for e in run_trainer(trainer) if isinstance(e, ev.Progress)]
    assert prog and all("size" in e.losses for e in prog)


def test_size_volume_form_with_dense_sizes_only(pre, classes, train_config, run_trainer, make_cases):
    opts = {"volume": True, "dense_masks": "sizes-only", "every": 1, "warmup_steps": 0}
    trainer = Trainer(make_cases(dense_first=True), classes, train_config("size"), opts, pre)
    losses = next(e for e in run_trainer(trainer) if isinstance(e, ev.Progress)).losses
    assert "size3d" in losses and np.isfinite(losses["size3d"])
    no_pseudo = dataclasses.replace(pre, pseudo_labels=False)
    failing = Trainer(make_cases(), classes, train_config("size"), {"volume": True}, no_pseudo)
    last = list(failing.fit())[-1]
    assert isinstance(last, ev.Failed) and "dense masks" in last.message and "--pseudo-labels" in last.message


def test_size_whole_slice_forward_leaves_batchnorm_statistics_alone(tiny_cases, pre, classes, train_config):
    trainer = Trainer(tiny_cases, classes, train_config("size", max_steps=1), preprocess=pre)
    trainer._setup()
    bn = next(m for m in trainer.segmentor.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    trainer.method._probs(torch.randn(2, 1, 48, 48) * 5 + 3)
    assert torch.equal(bn.running_mean, before) and bn.momentum == 0.1
