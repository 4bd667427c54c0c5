"""Validation over whole volumes: which volumes validate, the selection score and the Dice.

The score that selects the best model is the partial cross-entropy on the validation volumes' scribbles
(lower is better): it needs no dense annotation. Where a validation volume also has a dense mask, the mean
Dice of the post-processed mask (the one :mod:`~napari_scribbleseg.inference.postprocess` gives users) is
reported too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.dataset import Case, PreparedCase
from ..inference import predict_stack, probabilities_to_mask
from ..inference.postprocess import KeepLargest
from ..labels import IGNORE
from ..metrics import dice_per_class


def split_validation(cases: Sequence[Case], val_fraction: float, seed: int) -> list[int]:
    """Indices of the cases held out for validation (sorted).

    ``round(val_fraction * n)`` of the ``n`` annotated cases, none when fewer than 5 are annotated.
    Validation volumes come from the scribble-only ones while there are enough: dense masks are the
    scarcest annotation, so they train (held out, one dense volume of two left training, and its dense
    CE outweighed the scribbles in the selection score).
    """
    scribbled = [i for i, c in enumerate(cases) if c.scribbles or c.mask is not None]
    n_val = int(round(val_fraction * len(scribbled))) if len(scribbled) >= 5 else 0
    scribble_only = [i for i in scribbled if cases[i].mask is None]
    pool = scribble_only if len(scribble_only) >= max(n_val, 1) * 2 else scribbled
    order = np.random.default_rng(seed).permutation(pool)
    return sorted(int(i) for i in order[:n_val])


#: validations (whole volumes, every slice) take at most this share of the training time
VALIDATION_SHARE = 0.05


def validation_interval(val_every: float, val_seconds: float) -> float:
    """Seconds of training between validations: ``val_every``, or more where validating is slow.

    The last validation took ``val_seconds``; the interval grows until validating costs at most
    :data:`VALIDATION_SHARE` of the time. On a 2-core CPU, validating 6 cine-MRI volumes takes about as
    long as 9 training steps (5-6 s), which every 30 s spent 15 % of a run on validation.
    """
    return max(val_every, val_seconds * (1.0 - VALIDATION_SHARE) / VALIDATION_SHARE)


def validate(
    segmentor: Any,
    cases: Sequence[PreparedCase],
    n_classes: int,
    device: Any,
    amp: Any,
    keep_largest: bool,
    convex: Sequence[int] = (),
) -> tuple[float, dict[str, float]]:
    """Partial CE on the scribbles of ``cases`` (the selection score), and Dice against dense masks.

    The segmentor is put in eval mode while predicting and back in its former mode afterwards. Masks
    get the post-processing of predictions (``keep_largest``, the ``convex`` structures' hulls).

    Returns
    -------
    tuple
        ``(val_pce, metrics)``: ``metrics["val_pce"]`` is the mean CE per annotated pixel;
        ``metrics["val_dice"]`` (only when some case has a dense mask) the mean Dice over the structures
        present in the prediction or the mask of each dense row (:func:`~napari_scribbleseg.metrics.
        dice_per_class`).
    """
    was_training = segmentor.training
    segmentor.eval()
    ce_sum, n_sum = 0.0, 0
    dice_scores: list[float] = []
    try:
        for pc in cases:
            probs = predict_stack(segmentor, pc.image, device, amp)  # (C, S, h, w)
            logp = np.log(np.clip(probs, 1e-7, 1.0))
            mask = None
            for a in range(pc.targets.shape[0]):
                if pc.is_pseudo(a):  # pseudo-labels train; only the user's annotations score
                    continue
                t = pc.targets[a].astype(np.int64)
                ann = t != IGNORE
                if not ann.any():
                    continue
                truth = np.where(ann, t, 0)
                picked = np.take_along_axis(logp, truth[None], axis=0)[0]
                ce_sum += float(-(picked[ann]).sum())
                n_sum += int(ann.sum())
                if pc.dense[a]:
                    if mask is None:
                        mask = probabilities_to_mask(probs, keep_largest, convex, slice_axis=0)
                    dice_scores.extend(_dice_of_present(mask, truth, n_classes))
    finally:
        segmentor.train(was_training)
    metrics = {"val_pce": ce_sum / max(n_sum, 1)}
    if dice_scores:
        metrics["val_dice"] = float(np.mean(dice_scores))
    return metrics["val_pce"], metrics


def _dice_of_present(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> list[float]:
    """Dice of the structures present in ``pred`` or ``truth`` (absent from both: no score)."""
    dice = dice_per_class(pred, truth, n_classes)
    present = np.zeros(n_classes, bool)
    present[np.unique(pred)] = True
    present[np.unique(truth)] = True
    return [float(d) for d, p in zip(dice, present[1:]) if p]


def decide_keep_largest(
    segmentor: Any,
    cases: Sequence[PreparedCase],
    n_classes: int,
    device: Any,
    amp: Any,
    weights: dict[str, Any] | None = None,
) -> KeepLargest:
    """Choose the connected-component clean-up that does not lower the score on ``cases``.

    After nnU-Net (Isensee et al. 2021, Nat. Methods, "post-processing"): first the largest component of
    all structures together is kept if no structure's score drops (nnU-Net looks at the mean; a
    structure lost for a gain elsewhere is what this tool must not do silently); then, per structure, its
    own largest component is kept if that structure's score does not drop. The score of a structure
    is its Dice restricted to the annotated voxels of the user's annotations (scribbles or dense masks;
    pseudo-labels do not count), so scribble-only runs decide too: a second blob that holds scribbles of
    its structure is kept, one on background scribbles goes.

    ``cases`` are the validation volumes (the training volumes when there are none); ``weights``, if
    given, are loaded for the decision (the best model) and the segmentor's own weights put back after.
    """
    saved = None
    if weights is not None:
        saved = {k: v.detach().clone() for k, v in segmentor.state_dict().items()}
        segmentor.load_state_dict(weights)
    was_training = segmentor.training
    segmentor.eval()
    samples = []
    try:
        for pc in cases:
            rows = [
                (pc.targets[a].astype(np.int64), pc.targets[a] != IGNORE)
                for a in range(pc.targets.shape[0])
                if not pc.is_pseudo(a) and (pc.targets[a] != IGNORE).any()
            ]
            if rows:
                mask = predict_stack(segmentor, pc.image, device, amp).argmax(0).astype(np.uint8)
                samples.append((mask, rows))
    finally:
        segmentor.train(was_training)
        if saved is not None:
            segmentor.load_state_dict(saved)

    def scores(rule: KeepLargest) -> np.ndarray:
        """Mean restricted Dice per structure (NaN where a structure is absent everywhere)."""
        per = [[] for _ in range(n_classes - 1)]
        for mask, rows in samples:
            m = rule.apply(mask)
            for truth, ann in rows:
                p, t = m[ann], truth[ann]
                for k in range(1, n_classes):
                    denom = int((p == k).sum() + (t == k).sum())
                    if denom:
                        per[k - 1].append(2.0 * int(((p == k) & (t == k)).sum()) / denom)
        return np.array([np.mean(v) if v else np.nan for v in per])

    if not samples:
        return KeepLargest()
    rule, best = KeepLargest(), scores(KeepLargest())
    candidate = scores(KeepLargest(foreground=True))
    if _not_lower(candidate, best):
        rule, best = KeepLargest(foreground=True), candidate
    for k in range(1, n_classes):
        trial = KeepLargest(rule.foreground, (*rule.classes, k))
        got = scores(trial)
        if _not_lower(got[k - 1 : k], best[k - 1 : k]):
            rule, best = trial, got
    return rule


def _not_lower(new: np.ndarray, old: np.ndarray) -> bool:
    """No structure scores lower in ``new`` (structures without a score, NaN, do not count)."""
    both = np.isfinite(new) & np.isfinite(old)
    return bool(np.all(new[both] >= old[both] - 1e-9)) and not (np.isfinite(old) & ~np.isfinite(new)).any()
