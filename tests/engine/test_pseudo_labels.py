"""Pseudo-labels: the training volumes' scribbles propagated, trained on as a dense row."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_scribbleseg.config import PreprocessConfig
from napari_scribbleseg.data.dataset import Case
from napari_scribbleseg.engine.run_data import prepare_run
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.labels import IGNORE


def _cases(tiny_volume, scribbles_from, n=6):
    cases = []
    for i in range(n):
        img, mask = tiny_volume(i)
        s = scribbles_from(mask, i)
        cases.append(Case(img, (1.5, 1.5, 6.0), [s], None, f"c{i}"))
    return cases, [tiny_volume(i)[1] for i in range(n)]


def test_training_volumes_get_a_dense_pseudo_row_and_validation_volumes_none(
    tiny_volume, scribbles_from, train_config
):
    cases, masks = _cases(tiny_volume, scribbles_from)
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True)
    run = prepare_run(cases, [], [], pre, 1.5, train_config("pce", val_fraction=0.2), 3)
    assert run.val_ids
    for i, pc in enumerate(run.prepared):
        if i in run.val_ids:
            assert pc.targets.shape[0] == 1 and not pc.is_pseudo(0)
            continue
        assert pc.targets.shape[0] == 2 and pc.is_pseudo(1) and not pc.is_pseudo(0)
        assert pc.dense.tolist() == [False, True]
        row = pc.targets[1]
        assert (row != IGNORE).all()
        truth = np.moveaxis(masks[i], 2, 0)  # slices first, same grid (spacing 1.5)
        disk = (row == 2) & (truth == 2)
        assert 2 * disk.sum() / ((row == 2).sum() + (truth == 2).sum()) > 0.8
    off = prepare_run(
        cases, [], [], PreprocessConfig(patch_size=32, pseudo_labels=False), 1.5, train_config("pce"), 3
    )
    assert all(pc.targets.shape[0] == 1 for pc in off.prepared)


def test_a_run_with_pseudo_labels_trains(tiny_volume, scribbles_from, train_config, run_trainer, classes):
    cases, _ = _cases(tiny_volume, scribbles_from, n=2)
    trainer = Trainer(
        cases, classes, train_config("crf"), preprocess=PreprocessConfig(patch_size=32, pseudo_labels=True)
    )
    events = run_trainer(trainer)
    assert trainer.step == 3 and events[-1].reason == "max-steps"
    assert "pseudo-labels: the scribbles of 2 of 2 training volumes" in events[0].info[0]
    assert trainer.metadata()["preprocess"]["pseudo_labels"] is True


def test_the_crf_term_acts_where_only_pseudo_labels_are(tiny_volume, scribbles_from, train_config):
    """Dense pseudo-rows must not empty Ω_U: the regularisers shape every pixel the user did not label."""
    from napari_scribbleseg.data.dataset import PatchSampler
    from napari_scribbleseg.engine.methods.base import RegularisedMethod

    cases, _ = _cases(tiny_volume, scribbles_from, n=2)
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True)
    run = prepare_run(cases, [], [], pre, 1.5, train_config("crf", val_fraction=0.0), 3)
    sampler = PatchSampler(run.prepared, pre, annotated_only=True)
    batch = sampler.sample(6, np.random.default_rng(0), "cpu", augment=False)
    assert batch.pseudo.tolist() == [[False] * 6, [True] * 6]
    pseudo_covers = (batch.targets[1] != IGNORE) & batch.valid
    user = batch.targets[0] != IGNORE
    omega_u = RegularisedMethod.unannotated(batch)
    assert pseudo_covers.sum() > 0.95 * batch.valid.sum()  # dense, up to the warp's border
    assert (omega_u == (batch.valid & ~user)).all()
    assert omega_u.sum() > 0.5 * batch.valid.sum()  # scribbles are thin: most of the patch is regularised


def test_uncertain_voxels_stay_unannotated(tiny_volume, scribbles_from, train_config):
    cases, _ = _cases(tiny_volume, scribbles_from, n=2)
    rows = {}
    for conf in (0.0, 0.9):
        pre = PreprocessConfig(patch_size=32, pseudo_labels=True, pseudo_confidence=conf)
        run = prepare_run(cases, [], [], pre, 1.5, train_config("pce"), 3)
        rows[conf] = run.prepared[0].targets[-1]
    kept = rows[0.9] != IGNORE
    assert (rows[0.0] != IGNORE).all() and 0.3 < kept.mean() < 1.0
    assert (rows[0.9][kept] == rows[0.0][kept]).all()


def test_size_takes_its_individual_bounds_from_the_pseudo_labels(tiny_volume, scribbles_from, train_config):
    from napari_scribbleseg.engine.methods.size_bounds import compute_bounds

    cases, _ = _cases(tiny_volume, scribbles_from, n=3)
    run = prepare_run(
        cases,
        [],
        [],
        PreprocessConfig(patch_size=32, pseudo_labels=True),
        1.5,
        train_config("size", val_fraction=0.0),
        3,
    )
    pc = run.prepared[0]
    b = compute_bounds(
        [pc], [], n_classes=3, user_bounds={}, margin=0.1, common_bounds=True, absent_if_unscribbled=True
    )
    pseudo = pc.targets[-1]
    # every slice is bounded by its propagated sizes (no slice is forced empty for lack of a scribble)
    assert [s for _, s in b.items] == list(range(pseudo.shape[0]))
    for row, (_, s) in enumerate(b.items):
        for k in (1, 2):
            tau = float((pseudo[s] == k).sum())
            assert b.lower[row, k] == np.float32(0.9 * tau) and b.upper[row, k] == np.float32(1.1 * tau)


def test_isdnet_trains_with_pseudo_labels_as_its_real_label_maps(
    tiny_volume, scribbles_from, train_config, run_trainer, classes
):
    cases, _ = _cases(tiny_volume, scribbles_from, n=2)
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True)
    trainer = Trainer(cases, classes, train_config("isdnet"), preprocess=pre)
    events = run_trainer(trainer)  # without pseudo-labels and masks it refuses (no real label maps)
    assert trainer.step == 3 and trainer.pre.pseudo_labels
    assert any("disc" in e.losses for e in events if hasattr(e, "losses"))


def test_size_takes_pseudo_labels_only_without_unpaired_masks(tiny_cases, tiny_masks, classes, train_config):
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True)
    for method, masks, takes in (
        ("size", [], True),
        ("size", tiny_masks, False),  # the masks' common bounds do better (docstring of SizeConstrained)
        ("pce", tiny_masks, True),
        ("isdnet", [], True),
    ):
        trainer = Trainer(tiny_cases, classes, train_config(method), preprocess=pre, unpaired_masks=masks)
        assert trainer.pre.pseudo_labels is takes, (method, len(masks))
        trainer._setup()
        said = any("not used by size with unpaired masks" in line for line in trainer.setup_info)
        assert said is (not takes), (method, trainer.setup_info)


def test_pseudo_dice_weight_adds_a_dice_term_on_the_pseudo_rows_only(
    tiny_volume, scribbles_from, train_config
):
    """``pseudo_dice_weight`` adds weight · soft Dice of the pseudo patches; the user's rows are unchanged."""
    import torch

    from napari_scribbleseg.data.dataset import PatchSampler
    from napari_scribbleseg.engine.methods import METHODS
    from napari_scribbleseg.engine.methods.base import MethodContext
    from napari_scribbleseg.losses import soft_dice_loss

    cases, _ = _cases(tiny_volume, scribbles_from, n=2)
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True)
    run = prepare_run(cases, [], [], pre, 1.5, train_config("pce", val_fraction=0.0), 3)
    batch = PatchSampler(run.prepared, pre, annotated_only=True).sample(
        4, np.random.default_rng(0), "cpu", augment=False
    )
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 32, 32)

    def loss(weight: float, b=batch) -> float:
        cfg = train_config("pce", pseudo_dice_weight=weight)
        ctx = MethodContext(3, cfg, pre, torch.device("cpu"), None)
        method = METHODS.get("pce")(METHODS.get("pce").Config(), ctx)
        return float(method.supervised_loss(logits, b))

    dice = float(soft_dice_loss(torch.softmax(logits, 1), batch.targets[1]))
    assert dice > 0.1
    assert loss(2.0) - loss(0.0) == pytest.approx(2.0 * dice, rel=1e-5)
    user_only = dataclasses.replace(batch, pseudo=torch.zeros_like(batch.pseudo))
    assert loss(2.0, user_only) == pytest.approx(loss(0.0, user_only))


def test_a_convex_structure_fills_its_hull_where_the_walk_followed_a_dark_notch(
    tiny_volume, scribbles_from, classes
):
    """Papillary muscles inside a cavity: dark like the wall, drawn as cavity; the hull takes them back."""
    from napari_scribbleseg.engine.run_data import pseudo_labels

    img, mask = tiny_volume(0)
    notch = np.zeros(mask.shape, bool)
    cx, cy = (np.argwhere(mask[..., 0] == 2).mean(0)).round().astype(int)
    notch[cx - 2 : cx + 3, cy + 3 : cy + 12] = True
    notch &= mask == 2  # a dark tongue from the ring into the disk, still disk in the mask
    img = np.where(notch, img - 1.5, img).astype(np.float32)
    scr = scribbles_from(mask, 0)
    scr[notch] = 0  # nobody scribbled the tongue
    cases = [Case(img, (1.5, 1.5, 6.0), [scr], None, "c0")]
    pre = PreprocessConfig(patch_size=32, pseudo_labels=True)
    plain = pseudo_labels(cases, [0], pre, 3)[0]
    filled = pseudo_labels(cases, [0], pre, 3, convex=(classes.index("disk"),))[0]
    assert (plain[notch] == 1).mean() > 0.5  # the walk follows the edge: the tongue is ring
    assert (filled[notch] == 2).mean() > 0.9
    assert ((filled == 2) >= (plain == 2)).all()
    scribbled = scr > 0
    assert (filled[scribbled] == scr[scribbled] - 1).all()


def test_an_unknown_convex_structure_is_refused_before_training(tiny_cases, classes, train_config):
    from napari_scribbleseg.errors import ConfigError

    with pytest.raises(ConfigError, match="convex: 'LV' is not a structure \\(structures: ring, disk\\)"):
        Trainer(tiny_cases, classes, train_config("pce"), preprocess=PreprocessConfig(convex="LV"))
