"""One mask for the same probabilities: Predictor (CLI, napari) and the trainer's validation agree.

Both use :func:`probabilities_to_mask` with the model's ``keep_largest``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_scribbleseg.config import PreprocessConfig, TrainConfig, to_dict
from napari_scribbleseg.data.dataset import Case
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.inference import Predictor, predict_stack, probabilities_to_mask
from napari_scribbleseg.metrics import dice_per_class
from napari_scribbleseg.models.registry import build_segmentor

SPACING = (1.0, 1.0, 3.0)


def _predictor(segmentor, keep_largest: bool, class_names) -> Predictor:
    pre = {**to_dict(PreprocessConfig(patch_size=32, keep_largest=keep_largest)), "target_spacing": None}
    meta = {"class_names": list(class_names), "preprocess": pre, "train_config": {"precision": "fp32"}}
    return Predictor(segmentor, meta, torch.device("cpu"))


def _seeded_unet():
    torch.manual_seed(0)
    return build_segmentor("unet", n_classes=3, width=4, depth=3).eval()


@pytest.mark.parametrize("keep_largest", [True, False])
@pytest.mark.parametrize("model", ["threshold", "unet"])
def test_predictor_segment_is_probabilities_to_mask(
    model, keep_largest, threshold_segmentor, blob_volume, blob_classes
):
    segmentor = threshold_segmentor if model == "threshold" else _seeded_unet()
    predictor = _predictor(segmentor, keep_largest, blob_classes)
    image, _ = blob_volume()
    probs = predictor.predict_proba(image, SPACING)
    mask, probs_seg = predictor.segment(image, SPACING)
    np.testing.assert_array_equal(probs_seg, probs)
    np.testing.assert_array_equal(mask, probabilities_to_mask(probs, keep_largest))
    np.testing.assert_array_equal(predictor.predict(image, SPACING), mask)
    mask_att, _, att = predictor.segment_with_attention(image, SPACING)
    np.testing.assert_array_equal(mask_att, mask)
    assert att == {}
    if model == "threshold":  # the test can tell the two settings apart: the far blob
        other = probabilities_to_mask(probs, not keep_largest)
        assert (other != mask).any() and bool(mask[27, 27, 1]) != keep_largest


def _expected_val_dice(segmentor, trainer: Trainer, keep_largest: bool) -> float:
    scores = []
    for i in trainer.val_ids:
        pc = trainer.prepared[i]
        probs = predict_stack(segmentor, pc.image, torch.device("cpu"), None)
        mask = probabilities_to_mask(probs, keep_largest)
        truth = pc.targets[pc.dense.tolist().index(True)]
        dice = dice_per_class(mask, truth, len(trainer.class_names))
        scores += [d for k, d in enumerate(dice, 1) if (mask == k).any() or (truth == k).any()]
    return float(np.mean(scores))


@pytest.mark.parametrize("keep_largest", [True, False])
@pytest.mark.parametrize("model", ["threshold", "unet"])
def test_trainer_validation_scores_the_probabilities_to_mask_mask(
    model, keep_largest, threshold_segmentor, blob_volume, blob_classes
):
    cases = []
    for i in range(5):  # five annotated volumes: one validates; all have dense masks
        image, mask = blob_volume(shift=i)
        cases.append(Case(image, SPACING, [], mask, f"c{i}"))
    config = TrainConfig(
        method="pce", width=4, depth=3, val_fraction=0.2, device="cpu", precision="fp32", threads=1, seed=0
    )
    trainer = Trainer(
        cases, blob_classes, config, preprocess=PreprocessConfig(patch_size=32, keep_largest=keep_largest)
    )
    trainer._setup()
    assert len(trainer.val_ids) == 1
    if model == "threshold":
        trainer.method.segmentor = threshold_segmentor
    segmentor = trainer.segmentor
    loss, metrics = trainer.validate()
    assert metrics["val_pce"] == loss and np.isfinite(loss)
    assert metrics["val_dice"] == pytest.approx(
        _expected_val_dice(segmentor, trainer, keep_largest), abs=1e-12
    )
    if model == "threshold":  # keep_largest matters here, so a validation ignoring it would fail
        other = _expected_val_dice(segmentor, trainer, not keep_largest)
        assert other != pytest.approx(metrics["val_dice"], abs=1e-6)
