"""Validation: the split, and scores equal to a plain reference computation."""

from __future__ import annotations

import numpy as np
import torch

from napari_scribbleseg.data.dataset import Case, PreparedCase
from napari_scribbleseg.data.slices import SliceGeometry
from napari_scribbleseg.engine.validation import (
    VALIDATION_SHARE,
    decide_keep_largest,
    split_validation,
    validate,
    validation_interval,
)
from napari_scribbleseg.inference.postprocess import KeepLargest
from napari_scribbleseg.labels import IGNORE


def _case(i: int, scribbled: bool = True, dense: bool = False) -> Case:
    img = np.zeros((8, 8, 2), np.float32)
    s = np.zeros(img.shape, np.uint8)
    s[1, 1, 0] = 1
    return Case(img, (1.0, 1.0, 2.0), [s] if scribbled else [], s.copy() if dense else None, f"c{i}")


def test_split_needs_five_annotated_volumes():
    assert split_validation([_case(i) for i in range(4)], 0.5, 0) == []
    val = split_validation([_case(i) for i in range(10)], 0.2, 0)
    assert len(val) == 2 and val == sorted(val)
    assert split_validation([_case(i) for i in range(10)], 0.2, 0) == val  # seeded


def test_split_keeps_dense_volumes_and_skips_unannotated_ones():
    cases = [_case(i, dense=i < 3) for i in range(8)] + [_case(8, scribbled=False)]
    for seed in range(10):
        val = split_validation(cases, 0.25, seed)
        assert len(val) == 2 and all(3 <= i < 8 for i in val), (seed, val)


class _Fixed(torch.nn.Module):
    """Returns fixed logits (C, S, H, W) whatever the input (slices in order)."""

    depth = 1

    def __init__(self, logits: np.ndarray) -> None:
        super().__init__()
        self.logits = torch.from_numpy(logits)
        self.i = 0

    def forward(self, x):
        out = self.logits[:, self.i : self.i + x.shape[0]].permute(1, 0, 2, 3)
        self.i += x.shape[0]
        return {"logits": out}


def test_scores_match_a_reference_computation():
    rng = np.random.default_rng(0)
    n, shape = 5, (3, 10, 12)
    logits = rng.normal(size=(n, *shape)).astype(np.float32) * 3
    logits[4] = -20.0  # structure 4 is in neither mask: it gets no score (not a Dice of 1)
    dense = rng.integers(0, 4, shape).astype(np.int8)
    dense[dense == 3] = 2  # structure 3 absent from the mask: it is scored only where predicted
    scribbles = np.full(shape, IGNORE, np.int8)
    scribbles[:, ::4, ::3] = rng.integers(0, 4, scribbles[:, ::4, ::3].shape)
    geom = SliceGeometry((10, 12, 3), 2, (1.0, 1.0), 1.0, (10, 12))
    pc = PreparedCase(
        "c", geom, np.zeros(shape, np.float32), np.stack([scribbles, dense]), np.array([False, True]), None
    )
    loss, metrics = validate(_Fixed(logits), [pc], n, torch.device("cpu"), None, keep_largest=False)

    probs = torch.softmax(torch.from_numpy(logits), 0).numpy()
    ce = []
    for t in (scribbles, dense):
        ann = t != IGNORE
        ce += list(-np.log(np.clip(np.take_along_axis(probs, np.where(ann, t, 0)[None], 0)[0][ann], 1e-7, 1)))
    pred = probs.argmax(0)
    dice = []
    for k in range(1, n):  # the trainer's Dice before it used metrics.dice_per_class
        p, g = pred == k, dense == k
        if p.any() or g.any():
            dice.append(2 * (p & g).sum() / (p.sum() + g.sum()))
    assert (pred == 3).any() and not (dense == 3).any() and not (pred == 4).any()
    assert len(dice) == 3
    assert loss == metrics["val_pce"]
    np.testing.assert_allclose(loss, np.mean(ce), rtol=1e-5)
    np.testing.assert_allclose(metrics["val_dice"], np.mean(dice), rtol=1e-12)


def test_no_dice_without_dense_masks_and_mode_restored():
    shape = (2, 8, 8)
    t = np.full(shape, IGNORE, np.int8)
    t[0, 2, 2] = 1
    geom = SliceGeometry((8, 8, 2), 2, (1.0, 1.0), 1.0, (8, 8))
    pc = PreparedCase("c", geom, np.zeros(shape, np.float32), t[None], np.array([False]), None)
    net = _Fixed(np.zeros((2, *shape), np.float32)).train()
    loss, metrics = validate(net, [pc], 2, torch.device("cpu"), None, keep_largest=True)
    assert set(metrics) == {"val_pce"} and np.isclose(loss, np.log(2))
    assert net.training


def test_pseudo_label_rows_never_score():
    shape = (2, 8, 8)
    t = np.full(shape, IGNORE, np.int8)
    t[0, 2, 2] = 1
    pseudo = np.zeros(shape, np.int8)
    geom = SliceGeometry((8, 8, 2), 2, (1.0, 1.0), 1.0, (8, 8))
    logits = np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32)
    plain = PreparedCase("c", geom, np.zeros(shape, np.float32), t[None], np.array([False]), None)
    with_pseudo = PreparedCase(
        "c", geom, np.zeros(shape, np.float32), np.stack([t, pseudo]), np.array([False, True]), None,
        np.array([False, True]),
    )  # fmt: skip
    ref = validate(_Fixed(logits), [plain], 2, torch.device("cpu"), None, keep_largest=False)
    got = validate(_Fixed(logits), [with_pseudo], 2, torch.device("cpu"), None, keep_largest=False)
    assert got == ref and "val_dice" not in got[1]


def test_keep_largest_is_decided_per_structure_on_the_annotations():
    """Two kidneys (structure 1, both scribbled) survive; a far blob of structure 2 on background goes."""
    shape = (3, 20, 30)
    mask = np.zeros(shape, np.int64)
    mask[:, 2:8, 2:8] = 1  # left kidney
    mask[:, 2:8, 8:12] = 2  # structure 2, touching it
    mask[:, 2:8, 20:26] = 1  # right kidney: separate
    mask[:, 14:17, 14:17] = 2  # a false blob of structure 2
    logits = np.stack([(mask == k) * 10.0 for k in range(3)]).astype(np.float32)
    scribbles = np.full(shape, IGNORE, np.int8)
    scribbles[1, 4, 4] = scribbles[1, 4, 22] = 1
    scribbles[1, 4, 10] = 2
    scribbles[1, 15, 15] = scribbles[1, 18, 2] = 0
    geom = SliceGeometry((20, 30, 3), 2, (1.0, 1.0), 1.0, (20, 30))
    pc = PreparedCase("c", geom, np.zeros(shape, np.float32), scribbles[None], np.array([False]), None)
    net = _Fixed(logits)
    rule = decide_keep_largest(net, [pc], 3, torch.device("cpu"), None)
    assert rule == KeepLargest(foreground=False, classes=(2,))
    out = rule.apply(mask.astype(np.uint8))
    assert (out[:, 2:8, 20:26] == 1).all() and (out[:, 14:17, 14:17] == 0).all()


def test_keep_largest_decision_puts_the_weights_back():
    net = torch.nn.Conv2d(1, 2, 1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    best = {k: v + 1 for k, v in before.items()}
    shape = (1, 8, 8)
    t = np.full(shape, IGNORE, np.int8)
    t[0, 2, 2] = 1
    geom = SliceGeometry((8, 8, 1), 2, (1.0, 1.0), 1.0, (8, 8))
    pc = PreparedCase("c", geom, np.zeros(shape, np.float32), t[None], np.array([False]), None)

    class Wrap(torch.nn.Module):
        depth = 1

        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return {"logits": self.net(x)}

    wrapped = Wrap()
    decide_keep_largest(wrapped, [pc], 2, torch.device("cpu"), None, {f"net.{k}": v for k, v in best.items()})
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_slow_validations_are_spaced_to_a_small_share_of_the_run():
    assert validation_interval(30.0, 0.5) == 30.0  # fast: the user's interval
    slow = validation_interval(30.0, 5.5)  # 6 cine volumes on 2 CPU cores
    assert slow > 30.0
    assert abs(5.5 / (slow + 5.5) - VALIDATION_SHARE) < 1e-9
    assert validation_interval(300.0, 5.5) == 300.0
