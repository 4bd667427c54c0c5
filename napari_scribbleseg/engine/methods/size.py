"""Partial CE + size-constraint penalty (004 Sec. 3-4).

Kervadec et al., "Constrained-CNN losses for weakly supervised segmentation" (004).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ...config import check_fields
from ...data.dataset import Batch
from ...errors import ConfigError
from ...labels import IGNORE
from ...losses import size_constraint_loss, size_penalty
from .base import MethodContext, StepData, TrainingMethod, register_method
from .size_bounds import SizeBounds, compute_bounds, parse_bounds, resolve_bound_names


@dataclass(frozen=True)
class SizeConfig:
    """Options of the size-constrained loss (defaults from 004 Sec. 4)."""

    size_weight: float = field(
        default=1e-2, metadata={"help": "λ, weight of the size penalty (004 Sec. 4.5: 1e-2)"}
    )
    bounds: str = field(
        default="",
        metadata={
            "help": "size bounds per structure on a slice where it is present, in pixels at the training "
            "resolution, e.g. LV=60-2000,MYO=50-1500 (overrides the common bounds)"
        },
    )
    absent_if_unscribbled: bool = field(
        default=True,
        metadata={
            "help": "a structure without scribbles on an annotated slice is absent there (image tag, "
            "004 Eq. 5): scribble every structure you see on the slices you annotate"
        },
    )
    common_bounds: bool = field(
        default=True,
        metadata={
            "help": "bounds from the min/max size over the reference masks (unpaired and dense masks) "
            "x(1-margin)/x(1+margin) (004 Eq. 6)"
        },
    )
    margin: float = field(
        default=0.1, metadata={"help": "relative margin of common, individual and volume bounds (004: 0.1)"}
    )
    dense_masks: str = field(
        default="supervise",
        metadata={
            "help": "supervise: dense masks train with CE and give individual bounds (004 Eq. 7); "
            "sizes-only: they only give the bounds (004's individual-bounds protocol)",
            "choices": ("supervise", "sizes-only"),
        },
    )
    volume: bool = field(
        default=False,
        metadata={
            "help": "constrain whole volumes instead of slices (004 Sec. 4.4): bounds from each volume's "
            "dense mask"
        },
    )
    slices: int = field(
        default=2,
        metadata={"help": "3D form: slices of the volume that get the gradient per size step"},
    )
    every: int = field(default=1, metadata={"help": "apply the size penalty every this many steps"})
    warmup_steps: int = field(
        default=300,
        metadata={
            "help": "steps of partial CE alone before the penalty (not in 004): a younger network "
            "collapses under it; a 60 s run on a 2-core CPU makes about 300 steps"
        },
    )

    #: old option name -> current name (saved ``meta.json`` files and ``--opt`` use the old ones)
    option_aliases: ClassVar[dict[str, str]] = {"weight": "size_weight"}

    def __post_init__(self) -> None:
        parse_bounds(self.bounds)
        if self.size_weight < 0:
            raise ConfigError(f"size_weight must be >= 0, got {self.size_weight}")
        if not 0 <= self.margin < 1:
            raise ConfigError(f"margin must be in [0, 1), got {self.margin}")
        check_fields(self)
        if self.slices < 1 or self.every < 1:
            raise ConfigError("slices and every must be >= 1")


@register_method
class SizeConstrained(TrainingMethod):
    """UNet + partial CE + the size-constraint penalty of 004 Eq. 2-3, λ = 10⁻² (``size_weight``).

    ``L = H(S) + λ C(V_S)``, ``V_S = Σ_p S_p`` the soft size of a structure (004 Eq. 2), ``C`` quadratic
    outside ``[a, b]`` and 0 inside (Eq. 3; :func:`~napari_scribbleseg.losses.size_penalty`), one term per
    structure (the background is only constrained when the user gives it bounds), divided by the number
    of pixels of the slice as in the authors' code (:func:`~napari_scribbleseg.losses.size_constraint_loss`).
    The bounds of each annotated slice (individual, user, common, tag and absence bounds of 004 Eq. 5-7)
    come from :func:`~napari_scribbleseg.engine.methods.size_bounds.compute_bounds`.

    *Patches vs slices.* Training batches are augmented crops of slices, so a structure's size in a patch
    is not its size on the slice: a crop can cut it and zoom scales areas by up to ``(1 ± scale_range)²``.
    The penalty is computed on the patches' own predictions (no extra forward) with bounds that stay true
    for a crop (:meth:`patch_term`): upper bounds scaled by the patch's exact zoom, absence as is, lower
    bounds dropped except where a dense mask gives the visible size. Dropping lower bounds costs little:
    004 Sec. 5.5 (Table 4) finds that lowering the lower bound from 80 to 0 changes Dice by under 1 %,
    while the upper bound is what matters. Penalising whole un-augmented slices in a second forward
    instead trains badly (their batch statistics differ from the patches'; ``docs/methods/size.md``).

    *Warm-up* (a deviation: 004 applies the penalty from the first step). The first ``warmup_steps``
    (300) steps train with partial CE alone. From a random start every soft size is about ``|Ω|/C``,
    far above most upper bounds and the absence bound, so the penalty's uniform push towards background
    dominates the first updates and Adam's second-moment estimates (common bounds at 300 s: 0.802 mean
    Dice with the warm-up, 0.684 without; ``bench/methods.py``, ``docs/methods/size.md``). The warm-up is
    counted in steps, not as a share of the run: a 60 s run on a 2-core CPU makes about 300 steps, and a
    warm-up ending after 20 % of it collapsed every structure to background in ``bench/interactive.py``.

    *3D form* (``volume=True``, 004 Sec. 4.4): instead of slices, one training volume with a dense mask per
    size step is constrained, ``V_B = Σ_slices V_S`` within ``[0.9 τ_B, 1.1 τ_B]``. The exact gradient
    ``λ C'(V_B) ∂V_B/∂θ / |Ω_B|`` is estimated without holding the whole volume's graph: ``V_B`` comes
    from a no-gradient pass over all slices, then ``slices`` random slices get the gradient of
    ``λ C'(V_B) (n/m) V_subset / |Ω_B|`` (unbiased). No image tags are used in 3D, as in 004. Volume
    bounds need each volume's true size (a dense mask, e.g. with ``dense_masks=sizes-only``); common or
    typed volume bounds would need the slice thickness in millimetres and are not offered. Without dense
    masks, the pseudo-labels' sizes stand in (see *Pseudo-labels* below).

    *Hybrid training* (004 Sec. 4.3.3) is ``--full-masks`` with ``dense_masks=supervise``: dense slices
    train with weighted CE, weakly annotated ones with partial CE + the penalty.

    *Pseudo-labels* (``--pseudo-labels``, on by default; a deviation: 004 takes its individual bounds from
    the true masks), only when no unpaired masks are given (:meth:`takes_pseudo_labels`). A user with
    scribbles only has no true sizes, so the training volumes' scribbles propagated over them (the
    pseudo-labels every method trains on) are their dense rows: weighted CE, and the individual bounds
    ``[0.9 τ, 1.1 τ]`` of Eq. 7 on every slice, τ the propagated size. On the real cine-MRI cohort
    (``bench/results/real.md``, 15 min) that lifts ``size`` from 0.726 mean Dice (partial CE + the tag
    bounds of Eq. 5) to 0.800; with unpaired masks, whose common bounds (Eq. 6) then hold, the
    pseudo-labels lower it from 0.782 to 0.764, so they are left out there.
    """

    name = "size"
    description = "UNet, partial CE + size-constraint penalty: tags, common, individual, 3D bounds (004)"
    Config = SizeConfig
    uses_unpaired_masks = True  # references of the common bounds, optional
    unpaired_masks_optional = True
    # upper bounds and absence push probability off the structures: the rest becomes background
    # (bench/methods.py --structures-only: 0.795 mean Dice without any background scribble)
    learns_unscribbled_background = True

    @classmethod
    def takes_pseudo_labels(cls, has_unpaired_masks: bool) -> bool:
        """Only without unpaired masks: with them the common bounds do better (see the class notes)."""
        return not has_unpaired_masks

    def __init__(self, config: SizeConfig, ctx: MethodContext) -> None:
        super().__init__(config, ctx)
        self.user_bounds = resolve_bound_names(parse_bounds(config.bounds), ctx.class_names, ctx.n_classes)
        self._bounds: SizeBounds | None = None
        self._bounds_source: tuple[Any, Any] | None = None
        self._rows: tuple[SizeBounds, dict[tuple[int, int], int]] | None = None

    # -- bounds ---------------------------------------------------------------------------------------
    def bounds(self, data: StepData) -> SizeBounds:
        """Bounds of the training slices and volumes (computed once per set of training data)."""
        src = self._bounds_source
        if (
            self._bounds is None
            or src is None
            or src[0] is not data.cases
            or src[1] is not data.reference_masks
        ):
            self._bounds = self.compute_bounds(data.cases, data.reference_masks)
            self._bounds_source = (data.cases, data.reference_masks)  # held: identity stays meaningful
        return self._bounds

    def compute_bounds(self, cases: Sequence[Any], reference_masks: Sequence[np.ndarray]) -> SizeBounds:
        """Bounds of the annotated slices of ``cases`` under this config (see :mod:`.size_bounds`)."""
        c = self.config
        return compute_bounds(
            cases,
            reference_masks,
            n_classes=self.ctx.n_classes,
            user_bounds=self.user_bounds,
            margin=c.margin,
            common_bounds=c.common_bounds,
            absent_if_unscribbled=c.absent_if_unscribbled,
        )

    def bounds_summary(self) -> dict[str, tuple[float, float, str]]:
        """``{structure: (min, max, source)}`` of the bounds on slices where it is present (after a step).

        ``source`` is ``user``, ``common`` (from reference masks) or ``tags`` (``[1, inf)``), for display.
        """
        if self._bounds is None:
            return {}
        names = self.ctx.class_names or tuple(str(k) for k in range(self.ctx.n_classes))
        return {names[k]: v for k, v in self._bounds.class_bounds.items()}

    # -- training -------------------------------------------------------------------------------------
    def supervised_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Partial CE on scribbles; dense rows as in the base class or, with ``sizes-only``, ignored."""
        if self.config.dense_masks == "sizes-only" and bool(batch.dense.any()):
            targets = torch.where(
                batch.dense[:, :, None, None], torch.full_like(batch.targets, IGNORE), batch.targets
            )
            batch = Batch(batch.image, targets, torch.zeros_like(batch.dense), batch.valid)
        return super().supervised_loss(logits, batch)

    def _slice_batch(self, cases, picks: list[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole slices (n, 1, H, W), zero-padded to a common size divisible by 2**(depth-1), and valid."""
        mult = 2 ** (self.ctx.train.depth - 1)
        shapes = [cases[ci].image.shape[1:] for ci, _ in picks]
        hh = -(-max(s[0] for s in shapes) // mult) * mult
        ww = -(-max(s[1] for s in shapes) // mult) * mult
        img = np.zeros((len(picks), 1, hh, ww), np.float32)
        valid = np.zeros((len(picks), hh, ww), bool)
        for i, (ci, s) in enumerate(picks):
            sl = cases[ci].image[s]
            img[i, 0, : sl.shape[0], : sl.shape[1]] = sl
            valid[i, : sl.shape[0], : sl.shape[1]] = True
        dev = self.ctx.device
        return torch.from_numpy(img).to(dev), torch.from_numpy(valid).to(dev)

    def _probs(self, image: torch.Tensor) -> torch.Tensor:
        """Softmax of whole slices without touching batch-norm running statistics.

        Whole slices hold far more out-of-body background than the training patches; letting two of them
        update the running statistics every other step skews them away from what the patches (and
        prediction) see. Batch statistics still normalise this forward.
        """
        bns = [m for m in self.segmentor.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in bns]
        for m in bns:
            m.momentum = 0.0
        try:
            return torch.softmax(self.forward(image)["logits"].float(), dim=1)
        finally:
            for m, mom in zip(bns, saved):
                m.momentum = mom

    def patch_term(self, probs: torch.Tensor, batch: Batch, b: SizeBounds) -> torch.Tensor:
        """``λ Σ_k C(V_k)/|Ω|`` on the training patches themselves (004 Eq. 2-3), bounds made patch-safe.

        A patch shows part of its slice, zoomed: an upper bound ``b`` of the slice becomes
        ``b · area_scale`` (a crop only removes pixels); the absence constraint ``[0, 0]`` holds as is; a
        lower bound cannot be carried over (the crop may cut the structure) and is dropped, except on
        slices with a dense mask, whose visible size in the patch is known exactly: there the bounds are
        ``[0.9 τ, 1.1 τ]`` of the visible ``τ`` (004 Eq. 7).
        """
        if batch.source is None or batch.area_scale is None:
            raise ConfigError("size: the batch does not say which slices its patches come from")
        rows = [self._row(b, int(ci), int(si)) for ci, si in batch.source]
        dev = probs.device
        upper = torch.from_numpy(b.upper[rows]).to(dev) * batch.area_scale[:, None].float()
        lower = torch.zeros_like(upper)
        dense_any = batch.dense.any(dim=0)
        if bool(dense_any.any()):
            lo_f, hi_f = 1.0 - self.config.margin, 1.0 + self.config.margin
            first = batch.dense.float().argmax(dim=0)
            t = batch.targets[first, torch.arange(first.shape[0], device=first.device)]
            tau = torch.stack([(t == k).sum(dim=(1, 2)) for k in range(probs.shape[1])], dim=1).float()
            fg = torch.zeros_like(tau, dtype=torch.bool)
            fg[:, 1:] = True
            sel = dense_any[:, None] & fg
            lower = torch.where(sel, lo_f * tau, lower)
            upper = torch.where(sel, hi_f * tau, upper)
        return self.config.size_weight * size_constraint_loss(probs, lower, upper, batch.valid)

    def _row(self, b: SizeBounds, ci: int, si: int) -> int:
        if self._rows is None or self._rows[0] is not b:
            self._rows = (b, {item: r for r, item in enumerate(b.items)})
        return self._rows[1][(ci, si)]

    def volume_term(self, data: StepData, b: SizeBounds) -> tuple[torch.Tensor, float]:
        """Surrogate whose gradient estimates that of ``λ C(V_B)/|Ω_B|`` (004 Sec. 4.4); and its value."""
        c = self.config
        vols = sorted(b.volumes)
        ci = vols[int(data.rng.integers(len(vols)))]
        pc = data.cases[ci]
        n_sl = pc.n_slices
        size = torch.zeros(self.ctx.n_classes, device=self.ctx.device)
        with torch.no_grad():
            for start in range(0, n_sl, c.slices):
                picks = [(ci, s) for s in range(start, min(start + c.slices, n_sl))]
                image, valid = self._slice_batch(data.cases, picks)
                size += (self._probs(image) * valid[:, None]).sum(dim=(0, 2, 3))
        n_vox = float(n_sl * pc.image.shape[1] * pc.image.shape[2])
        lower = torch.from_numpy(b.volumes[ci][0]).float().to(size.device)
        upper = torch.from_numpy(b.volumes[ci][1]).float().to(size.device)
        value = c.size_weight * float(size_penalty(size, lower, upper).sum()) / n_vox
        # dC/dV = 2 (V - b) above, 2 (V - a) below, 0 inside
        grad = 2.0 * (torch.relu(size - upper) - torch.relu(lower - size))
        m = min(c.slices, n_sl)
        sub = sorted(int(s) for s in data.rng.choice(n_sl, size=m, replace=False))
        image, valid = self._slice_batch(data.cases, [(ci, s) for s in sub])
        sub_size = (self._probs(image) * valid[:, None]).sum(dim=(0, 2, 3))
        surrogate = c.size_weight * (grad * sub_size).sum() * (n_sl / m) / n_vox
        return surrogate, value

    def train_step(self, batch: Batch, data: StepData) -> dict[str, float]:
        """Partial CE and, every ``every`` steps, the size penalty on the same patch batch.

        In the 3D form the penalty is computed on a volume's whole slices instead.
        """
        c = self.config
        if c.volume and data.cases and not self.bounds(data).volumes:  # say so now, not after the warm-up
            raise ConfigError(
                "size: volume=true constrains each volume to its true size (004 Sec. 4.4), which "
                "needs dense masks of the training volumes (--full-masks) or, without unpaired masks, "
                "their pseudo-labels (--pseudo-labels true: the propagated size stands in); none were given"
            )
        opt = self.optimizers["segmentor"]
        opt.zero_grad(set_to_none=True)
        out = self.forward(batch.image)
        sup = self.supervised_loss(out["logits"], batch)
        losses = {"sup": float(sup.detach())}
        total = sup
        apply = c.size_weight > 0 and bool(data.cases)
        apply = apply and data.step >= c.warmup_steps and data.step % c.every == 0
        if apply and not c.volume:
            term = self.patch_term(torch.softmax(out["logits"].float(), dim=1), batch, self.bounds(data))
            losses["size"] = float(term.detach())
            total = total + term
        if total.requires_grad:
            total.backward()
        if apply and c.volume:
            surrogate, value = self.volume_term(data, self.bounds(data))
            surrogate.backward()
            losses["size3d"] = value
        opt.step()
        losses["loss"] = sum(losses.values())
        return losses
