"""The plug-in interface of training methods and their registry.

A method owns its networks, optimisers and ``train_step``; the
:class:`~napari_scribbleseg.engine.trainer.Trainer` owns iteration, time budget, learning-rate
schedule, validation, checkpoints, events and seeding. A new method is one module defining a
:class:`TrainingMethod` subclass registered in :data:`METHODS`.

Options are a frozen dataclass (``TrainingMethod.Config``). Options shared by several methods live in
one dataclass that their configs inherit (e.g. :class:`~napari_scribbleseg.engine.methods.crf.CRFTermConfig`),
so they have one name everywhere; a renamed option keeps loading from old ``meta.json`` files through
the config's ``option_aliases`` (old name -> new name, applied by
:func:`napari_scribbleseg.config.from_dict`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ...config import PreprocessConfig, TrainConfig
from ...data.dataset import Batch
from ...labels import IGNORE
from ...losses import partial_cross_entropy, soft_dice_loss, weighted_partial_cross_entropy
from ...models.registry import build_segmentor
from ...registry import Registry


@dataclass(frozen=True)
class NoOptions:
    """Options of a method that has none of its own."""


@dataclass
class MethodContext:
    """What a method gets from the trainer when it is built."""

    n_classes: int
    train: TrainConfig
    pre: PreprocessConfig
    device: torch.device
    autocast_dtype: torch.dtype | None
    has_unpaired_masks: bool = False
    has_unlabeled: bool = False
    wrap: Callable[[nn.Module], nn.Module] = lambda m: m  # DistributedDataParallel under torchrun
    class_names: tuple[str, ...] = ()  # background first (e.g. to resolve per-structure options by name)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast context for forward passes (no-op in fp32)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)


@dataclass
class StepData:
    """Extra data a step may draw, lazily: unpaired masks and unlabeled images (same patch size).

    ``cases`` are the training volumes as whole slices
    (:class:`~napari_scribbleseg.data.dataset.PreparedCase`) and ``reference_masks`` the unpaired masks as
    (S, h, w) stacks, both at the run's in-plane spacing, for methods that need slice or volume context
    (e.g. size constraints on whole slices).
    """

    rng: np.random.Generator
    step: int
    unpaired_masks: Callable[[int], torch.Tensor] | None = None
    unlabeled: Callable[[int], torch.Tensor] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cases: Sequence[Any] = ()
    reference_masks: Sequence[np.ndarray] = ()


def dense_share(dense: torch.Tensor) -> torch.Tensor:
    """Share of a batch's patches with a dense mask, the weight of a dense-mask loss term.

    Each loss term is a mean over its own pixels, so without this weight the one or two dense patches of a
    batch weigh as much as all its scribbled patches together: with 2 of 16 training volumes densely
    annotated, ``pce`` then scores below scribbles alone (0.789 against 0.834 mean Dice at 300 s); with it
    the dense masks help (``bench/methods.py --extra "--full-masks ..."``, ``bench/results/dense10.md``).
    """
    return dense.float().mean()


class TrainingMethod:
    """Base class: a UNet trained with a supervised loss on scribbles.

    Subclasses set :attr:`name`, :attr:`description`, :attr:`Config` and override :meth:`build` and/or
    :meth:`train_step`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Config: ClassVar[type] = NoOptions
    segmentor_name: ClassVar[str] = "unet"
    uses_unpaired_masks: ClassVar[bool] = False
    #: the method can use unpaired masks but also trains without them (the trainer does not require them)
    unpaired_masks_optional: ClassVar[bool] = False
    uses_unlabeled: ClassVar[bool] = False
    #: the method learns where structures end without background scribbles (e.g. from size bounds)
    learns_unscribbled_background: ClassVar[bool] = False

    @classmethod
    def takes_pseudo_labels(cls, has_unpaired_masks: bool) -> bool:
        """Whether propagated pseudo-labels (``PreprocessConfig.pseudo_labels``) train it in this run."""
        return True

    def __init__(self, config: Any, ctx: MethodContext) -> None:
        self.config = config
        self.ctx = ctx
        self.segmentor_kwargs = {
            "in_channels": 1,
            "n_classes": ctx.n_classes,
            "width": ctx.train.width,
            "depth": ctx.train.depth,
            **self.segmentor_options(),
        }
        segmentor = build_segmentor(self.segmentor_name, **self.segmentor_kwargs).to(ctx.device)
        if ctx.device.type == "cpu":
            segmentor = segmentor.to(memory_format=torch.channels_last)
        self.segmentor = segmentor
        self.networks: dict[str, nn.Module] = {"segmentor": segmentor}
        self.optimizers: dict[str, torch.optim.Optimizer] = {"segmentor": self.make_optimizer(segmentor)}
        self._wrapped: dict[str, nn.Module] = {"segmentor": ctx.wrap(segmentor)}
        self.build()

    # -- construction -------------------------------------------------------------------------------
    def segmentor_options(self) -> dict[str, Any]:
        """Extra keyword arguments of the segmentor (from ``self.config``; stored in checkpoints)."""
        return {}

    def build(self) -> None:
        """Create the method's extra networks (add them with :meth:`add_network`)."""

    def make_optimizer(
        self, module: nn.Module, lr_scale: float = 1.0, betas=(0.9, 0.999)
    ) -> torch.optim.Optimizer:
        """Adam with the run's learning rate (001 Sec. III-C uses Adam); ``lr_scale`` is kept per group."""
        opt = torch.optim.Adam(
            module.parameters(),
            lr=self.ctx.train.lr * lr_scale,
            betas=betas,
            weight_decay=self.ctx.train.weight_decay,
        )
        for g in opt.param_groups:
            g["lr_scale"] = lr_scale
        return opt

    def add_network(
        self, name: str, module: nn.Module, lr_scale: float = 1.0, betas=(0.9, 0.999)
    ) -> nn.Module:
        """Register an extra network with its own optimiser; returns the (possibly DDP-wrapped) module."""
        module = module.to(self.ctx.device)
        if self.ctx.device.type == "cpu":  # as the segmentor: oneDNN convolutions run fastest so
            module = module.to(memory_format=torch.channels_last)
        self.networks[name] = module
        self.optimizers[name] = self.make_optimizer(module, lr_scale, betas)
        self._wrapped[name] = self.ctx.wrap(module)
        return self._wrapped[name]

    def net(self, name: str = "segmentor") -> nn.Module:
        """The network to call in a step (DDP-wrapped under torchrun)."""
        return self._wrapped[name]

    def set_trainable(self, name: str, on: bool) -> None:
        """Let network ``name`` collect gradients or not (frozen D in the segmentor's step)."""
        for p in self.networks[name].parameters():
            p.requires_grad_(on)

    def run(self, name: str, *inputs: Any) -> Any:
        """Call network ``name`` like the segmentor: under the run's autocast, CPU inputs channels-last.

        Inputs are tensors or lists of tensors. Measured on the 2-core CPU: forward + backward of the AAG
        discriminator on 24 masks 67 ms in fp32, 24 ms in bf16 and channels-last; ISDNet's confidence
        network 48 → 20 ms. Callers compute the losses in float32.
        """

        def prep(x: Any) -> Any:
            if isinstance(x, (list, tuple)):
                return [prep(v) for v in x]
            if isinstance(x, torch.Tensor) and x.dim() == 4 and x.device.type == "cpu":
                return x.contiguous(memory_format=torch.channels_last)
            return x

        with self.ctx.autocast():
            return self.net(name)(*[prep(x) for x in inputs])

    def unwrap(self) -> None:
        """Drop the DDP wrappers (end of a torchrun run); steps then call the bare networks."""
        self._wrapped = dict(self.networks)

    # -- training -----------------------------------------------------------------------------------
    def forward(self, image: torch.Tensor) -> dict[str, Any]:
        """Segmentor forward under autocast."""
        if image.device.type == "cpu":
            image = image.contiguous(memory_format=torch.channels_last)
        with self.ctx.autocast():
            return self.net()(image)

    def supervised_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Sum over annotators (001 Sec. V-E) of the scribble loss; dense-mask rows use WPCE (001 V-F).

        The dense term is weighted by the share of the batch's patches that carry a dense mask
        (:func:`dense_share`), so a dense patch counts like a scribbled one. Pseudo-label rows add
        ``pseudo_dice_weight`` times a soft Dice loss (:meth:`pseudo_dice_loss`).
        """
        total = logits.new_zeros((), dtype=torch.float32)
        for a in range(batch.targets.shape[0]):
            target = batch.targets[a]
            if not bool((target != IGNORE).any()):
                continue
            dense = batch.dense[a]
            if bool(dense.any()):
                # weighted CE on the dense masks, the method's scribble loss on the rest
                dense_target = torch.where(dense[:, None, None], target, torch.full_like(target, IGNORE))
                scrib_target = torch.where(dense[:, None, None], torch.full_like(target, IGNORE), target)
                total = total + dense_share(dense) * weighted_partial_cross_entropy(logits, dense_target)
                total = total + self.pseudo_dice_loss(logits, dense_target, batch, a)
                if bool((scrib_target != IGNORE).any()):
                    total = total + self.scribble_loss(logits, scrib_target)
            else:
                total = total + self.scribble_loss(logits, target)
        return total

    def pseudo_dice_loss(
        self, logits: torch.Tensor, target: torch.Tensor, batch: Batch, row: int
    ) -> torch.Tensor:
        """``pseudo_dice_weight`` · soft Dice on the pseudo-label patches of target row ``row`` (else 0).

        The pseudo-labels' cross-entropy is a mean over pixels, dominated by the background; a Dice term
        weighs each structure alike, as DMPLS supervises its mixed pseudo-labels with a Dice loss (Luo et
        al., MICCAI 2022, ref. [6] of 003). Weighted by the share of pseudo patches, like the dense CE.
        """
        weight = self.ctx.train.pseudo_dice_weight
        if weight <= 0 or batch.pseudo is None:
            return logits.new_zeros((), dtype=torch.float32)
        rows = batch.pseudo[row] & batch.dense[row]
        if not bool(rows.any()):
            return logits.new_zeros((), dtype=torch.float32)
        pseudo_target = torch.where(rows[:, None, None], target, torch.full_like(target, IGNORE))
        probs = torch.softmax(logits.float(), dim=1)
        return weight * dense_share(rows) * soft_dice_loss(probs, pseudo_target)

    def scribble_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss on scribbled pixels (partial CE by default)."""
        return partial_cross_entropy(logits, target)

    def train_step(self, batch: Batch, data: StepData) -> dict[str, float]:
        """One optimisation step; returns the losses to report."""
        out = self.forward(batch.image)
        loss = self.supervised_loss(out["logits"], batch)
        self.step_optimizer("segmentor", loss)
        return {"loss": float(loss.detach())}

    def step_optimizer(self, name: str, loss: torch.Tensor) -> None:
        """Backward ``loss`` and update network ``name``.

        A loss with no gradient (e.g. a context patch without any scribbled pixel) skips the update.
        """
        if not loss.requires_grad:
            return
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # -- state --------------------------------------------------------------------------------------
    def train_mode(self, on: bool = True) -> None:
        """Switch every network to train (or eval) mode."""
        for m in self.networks.values():
            m.train(on)

    def optimizer_state(self) -> dict[str, Any]:
        """Optimiser state dicts by network name."""
        return {k: o.state_dict() for k, o in self.optimizers.items()}

    def load_state(self, weights: dict[str, dict[str, Any]], optim: dict[str, Any] | None) -> None:
        """Restore networks (and optimisers) saved by the trainer."""
        for name, module in self.networks.items():
            if name not in weights:
                raise KeyError(f"the saved training state has no network {name!r}")
            module.load_state_dict(weights[name])
        if optim:
            for name, opt in self.optimizers.items():
                if name in optim:
                    opt.load_state_dict(optim[name])

    def iter_param_groups(self) -> Iterator[dict[str, Any]]:
        """Every optimiser parameter group (the trainer sets their learning rate)."""
        for opt in self.optimizers.values():
            yield from opt.param_groups


class RegularisedMethod(TrainingMethod):
    """A segmentor trained with the scribble loss plus regularisers on the batch's prediction.

    Subclasses implement :meth:`regularisers`; the terms are added after ``config.warmup_steps`` steps and
    one backward pass updates every network in :attr:`updated_networks`.
    """

    updated_networks: ClassVar[tuple[str, ...]] = ("segmentor",)

    def regularisers(self, out: dict[str, Any], probs: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """Weighted regularisation terms of a batch (``probs``: (B, C, H, W) softmax)."""
        raise NotImplementedError

    @staticmethod
    def unannotated(batch: Batch) -> torch.Tensor:
        """Ω_U (B, H, W): pixels inside the image that no annotator labelled (003 Sec. 2.2).

        Propagated pseudo-labels do not count as labelled: they are a guess that the regularisers
        should still shape (were they to count, their dense rows would leave Ω_U empty).
        """
        labelled = batch.targets != IGNORE
        if batch.pseudo is not None:
            labelled = labelled & ~batch.pseudo[:, :, None, None]
        return batch.valid & ~labelled.any(dim=0)

    def train_step(self, batch: Batch, data: StepData) -> dict[str, float]:
        """Scribble loss + regularisers; one update of :attr:`updated_networks`."""
        out = self.forward(batch.image)
        logits = out["logits"]
        sup = self.supervised_loss(logits, batch)
        losses = {"sup": float(sup.detach())}
        loss = sup
        if data.step >= getattr(self.config, "warmup_steps", 0):
            for key, term in self.regularisers(out, torch.softmax(logits.float(), dim=1), batch).items():
                loss = loss + term
                losses[key] = float(term.detach())
        if loss.requires_grad:
            for n in self.updated_networks:
                self.optimizers[n].zero_grad(set_to_none=True)
            loss.backward()
            for n in self.updated_networks:
                self.optimizers[n].step()
        losses["loss"] = float(loss.detach())
        return losses


METHODS: Registry[type[TrainingMethod]] = Registry("method")


def register_method(cls: type[TrainingMethod]) -> type[TrainingMethod]:
    """Class decorator registering a method under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    return METHODS.register(cls.name)(cls)
