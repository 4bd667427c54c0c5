"""The one training loop. Methods plug in through :class:`~.methods.base.TrainingMethod`.

The trainer owns iteration, the time budget, the learning-rate schedule, validation and early stopping,
checkpoints, events and seeding. :meth:`Trainer.fit` is a generator of :mod:`.events`, so the CLI prints
them and the napari widget streams them from a worker thread; :meth:`Trainer.stop` may be called from any
thread and ends training after the current step, keeping the best model.
"""

from __future__ import annotations

import copy
import gc
import math
import os
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..config import PreprocessConfig, TrainConfig, from_dict, to_dict
from ..data.dataset import (
    Case,
    MaskSampler,
    PatchSampler,
    PreparedCase,
    median_in_plane_spacing,
    prepare_case,
)
from ..data.slices import from_slices, pad_to_multiple
from ..devices import autocast_dtype, configure_threads, resolve_device
from ..errors import ConfigError, DataError, ScribbleSegError
from ..labels import IGNORE
from . import checkpoint as ckpt
from .events import CheckpointSaved, Event, Failed, Finished, Preview, Progress, Started, Validation
from .methods import METHODS, MethodContext, StepData, TrainingMethod


def method_config(method: str, options: dict[str, Any] | Any | None) -> Any:
    """The method's config dataclass from a dict of options (or pass a config instance through)."""
    cls = METHODS.get(method).Config
    if options is None:
        return cls()
    if is_dataclass(options) and not isinstance(options, type):
        return options
    return from_dict(cls, dict(options))


def _distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def shutdown_distributed(barrier: bool = True) -> bool:
    """Tear down the torchrun process group, if one was started, while the interpreter is whole.

    The ranks meet at a barrier first (rank 0 may still be validating and saving), then the group is
    destroyed and collected. A process group that is only freed during interpreter finalisation can
    abort the rank with "terminate called without an active exception" after a successful run: its
    worker threads then release tensors and need the GIL, which finalisation no longer hands out.
    Call :meth:`Trainer.close` first so that no DDP wrapper keeps the group alive. Returns whether
    there was a group to tear down. After an error pass ``barrier=False``: the other ranks may be
    waiting in a training collective, and a barrier would then wait for them until the group's timeout
    instead of letting torchrun stop them.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return False
    if barrier:
        try:
            dist.barrier()
        except Exception:  # noqa: BLE001 - a peer died; tear down our side regardless
            pass
    dist.destroy_process_group()
    gc.collect()
    return True


class Trainer:
    """Train a scribble-supervised segmentor.

    Parameters
    ----------
    cases
        Training volumes with scribbles (and optionally dense masks).
    class_names
        Class names, background first.
    config
        Training options shared by every method.
    method_options
        Options of the method (dict or the method's config dataclass).
    preprocess
        Slicing, patch size and augmentation.
    unpaired_masks
        :class:`Case` objects whose ``mask`` is an unpaired mask (adversarial shape prior, 001 Sec. III).
    unlabeled
        Images without annotation (semi-supervised terms).
    out_dir
        Model folder to write (best model, metadata, training state); ``None`` keeps everything in memory.
    resume
        Model folder to continue from (weights and optimiser state).
    start_time
        ``time.monotonic()`` at which the time budget started (e.g. when the CLI started loading files);
        default: when :meth:`fit` starts.
    """

    def __init__(
        self,
        cases: Sequence[Case],
        class_names: Sequence[str],
        config: TrainConfig | None = None,
        method_options: dict[str, Any] | Any | None = None,
        preprocess: PreprocessConfig | None = None,
        unpaired_masks: Sequence[Case] = (),
        unlabeled: Sequence[Case] = (),
        out_dir: str | Path | None = None,
        resume: str | Path | None = None,
        start_time: float | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        self.method_cls: type[TrainingMethod] = METHODS.get(self.config.method)
        self.method_options = method_config(self.config.method, method_options)
        self.pre = preprocess or PreprocessConfig()
        self.class_names = tuple(class_names)
        self.n_classes = len(self.class_names)
        if self.n_classes < 2:
            raise ConfigError("need at least two classes (background and one structure)")
        self.out_dir = Path(out_dir) if out_dir else None
        self.resume = Path(resume) if resume else None
        self.start_time = start_time
        self.unpaired = list(unpaired_masks)
        self.unlabeled = list(unlabeled)
        self.set_cases(cases)
        for m in self.unpaired:
            if m.mask is None:
                raise DataError(f"{m.name}: an unpaired mask case needs a mask")
            m.validate(self.n_classes)
        for u in self.unlabeled:
            u.validate(self.n_classes)
        if (
            self.method_cls.uses_unpaired_masks
            and not self.method_cls.unpaired_masks_optional
            and not self.unpaired
        ):
            raise ConfigError(
                f"method {self.config.method!r} learns a shape prior from unpaired masks: give some with "
                "--masks DIR (CLI) or a mask layer (napari)"
            )
        self.method: TrainingMethod | None = None
        self.step = 0
        self.epoch = 0.0
        self.best_loss: float | None = None
        self.best_step: int | None = None
        self._best_state: dict[str, torch.Tensor] | None = None
        self._stop = threading.Event()
        #: (volume index, slice index) to preview; set from any thread (e.g. the viewer's current slice)
        self.preview_request: tuple[int, int] | None = None
        self.target_spacing: float | None = None
        self.rank, self.world = 0, 1

    # -- public API ---------------------------------------------------------------------------------
    def set_cases(self, cases: Sequence[Case]) -> None:
        """Replace the training volumes (e.g. corrected scribbles before Continue)."""
        cases = list(cases)
        if not cases:
            raise DataError("no training volume given")
        for c in cases:
            c.validate(self.n_classes)
        if not any(c.scribbles or c.mask is not None for c in cases):
            raise DataError("none of the training volumes has scribbles")
        self.cases = cases
        self._prepared = False

    def close(self) -> None:
        """Release the DDP wrappers of a torchrun run (they hold the process group); idempotent.

        The trainer and its method refer to each other, so without this the wrappers would live until
        the garbage collector, possibly until interpreter exit (see :func:`shutdown_distributed`).
        """
        if self.method is not None:
            self.method.unwrap()
        gc.collect()

    def stop(self) -> None:
        """Ask :meth:`fit` to finish after the current step (thread-safe)."""
        self._stop.set()

    def fit(self) -> Iterator[Event]:
        """Train, yielding events; ends with :class:`Finished` or :class:`Failed`.

        May be called again after it finished to continue training from the same weights and optimiser
        state (with the cases given to :meth:`set_cases`).
        """
        self._stop.clear()
        t0 = time.monotonic()
        try:
            yield from self._fit(t0)
        except ScribbleSegError as exc:
            yield Failed(self.step, time.monotonic() - t0, str(exc))
        except torch.OutOfMemoryError as exc:
            yield Failed(
                self.step,
                time.monotonic() - t0,
                f"out of memory on {self.config.device}: lower the batch size or patch size ({exc})",
            )
        except Exception as exc:  # a bug: report it with its traceback, keep the caller alive
            yield Failed(
                self.step,
                time.monotonic() - t0,
                f"training failed: {type(exc).__name__}: {exc}",
                traceback.format_exc(),
            )

    # -- set-up -------------------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.config
        self.rank, self.world = _distributed()
        self.device = resolve_device(cfg.device)
        if self.device.type == "cpu":
            configure_threads(cfg.threads)
        self.amp = autocast_dtype(self.device, cfg.precision)
        if self.method is None:
            torch.manual_seed(cfg.seed + self.rank)
            self.rng = np.random.default_rng(cfg.seed + 1000 * self.rank)
        if self.target_spacing is None:
            self.target_spacing = self.pre.target_spacing or median_in_plane_spacing(
                self.cases, self.pre.slice_axis
            )
        prep = [prepare_case(c, self.pre, self.target_spacing) for c in self.cases]
        scribbled = [i for i, c in enumerate(self.cases) if c.scribbles or c.mask is not None]
        n_val = int(round(cfg.val_fraction * len(scribbled))) if len(scribbled) >= 5 else 0
        # Validation volumes come from the scribble-only ones while there are enough: dense masks are the
        # scarcest annotation, so they train. (Held out, one dense volume of two left training, and its
        # dense CE outweighed the scribbles in the selection score.)
        scribble_only = [i for i in scribbled if self.cases[i].mask is None]
        pool = scribble_only if len(scribble_only) >= max(n_val, 1) * 2 else scribbled
        order = np.random.default_rng(cfg.seed).permutation(pool)
        self.val_ids = sorted(int(i) for i in order[:n_val])
        self.train_ids = [i for i in range(len(self.cases)) if i not in self.val_ids]
        self.prepared: list[PreparedCase] = prep
        self.sampler = PatchSampler([prep[i] for i in self.train_ids], self.pre, annotated_only=True)
        self.mask_sampler = (
            MaskSampler([prepare_case(m, self.pre, self.target_spacing) for m in self.unpaired], self.pre)
            if self.unpaired
            else None
        )
        self.unlabeled_sampler = (
            PatchSampler(
                [prepare_case(u, self.pre, self.target_spacing) for u in self.unlabeled],
                self.pre,
                annotated_only=False,
            )
            if self.unlabeled
            else None
        )
        if self.method is None:
            self._build_method()
        self._prepared = True

    def _build_method(self) -> None:
        ctx = MethodContext(
            n_classes=self.n_classes,
            train=self.config,
            pre=self.pre,
            device=self.device,
            autocast_dtype=self.amp,
            has_unpaired_masks=bool(self.unpaired),
            has_unlabeled=bool(self.unlabeled),
            wrap=self._wrap,
            class_names=self.class_names,
        )
        self.method = self.method_cls(self.method_options, ctx)
        if self.resume is not None:
            meta = ckpt.load_meta(self.resume)
            if meta.get("method") != self.config.method:
                raise ConfigError(
                    f"{self.resume}: was trained with method {meta.get('method')!r}, "
                    f"not {self.config.method!r}"
                )
            if tuple(meta.get("class_names", ())) != self.class_names:
                raise ConfigError(
                    f"{self.resume}: classes {meta.get('class_names')} differ from {list(self.class_names)}"
                )
            state = ckpt.load_training_state(self.resume)
            if state is None:
                raise ConfigError(f"{self.resume}: holds no training state to resume from")
            weights, optim = state
            try:
                self.method.load_state(weights, optim.get("optimizers"))
            except (KeyError, RuntimeError) as exc:
                raise ConfigError(f"{self.resume}: does not match this method's networks ({exc})") from None
            counters = optim.get("trainer", {})
            self.step = int(counters.get("step", 0))
            self.epoch = float(counters.get("epoch", 0.0))
            self.target_spacing = float(meta["preprocess"].get("target_spacing") or self.target_spacing)

    def _wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        if self.world <= 1 or not any(p.requires_grad for p in module.parameters()):
            return module
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DDP(module, device_ids=ids)  # default: batch-norm buffers follow rank 0

    # -- the loop -----------------------------------------------------------------------------------
    def _lr_factor(self, fraction: float | None) -> float:
        """Learning-rate multiplier in [min_lr/lr, 1] at ``fraction`` of the run."""
        cfg = self.config
        lo = cfg.min_lr / cfg.lr
        if cfg.lr_schedule == "constant":
            return 1.0
        if cfg.lr_schedule == "cyclical":  # triangular cycles between lr and min_lr (001 Sec. III-C)
            period = max(cfg.lr_cycle_epochs, 1e-6)
            phase = (self.epoch % period) / period
            tri = 1.0 - abs(2.0 * phase - 1.0)
            return lo + (1.0 - lo) * (1.0 - tri)  # starts at the top of the cycle
        f = 0.0 if fraction is None else min(max(fraction, 0.0), 1.0)
        warm = 0.03
        if f < warm:
            return max(lo, f / warm)
        return lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * (f - warm) / (1 - warm)))

    def _fit(self, t0: float) -> Iterator[Event]:
        cfg = self.config
        if not self._prepared:
            self._setup()
        method = self.method
        assert method is not None
        main = self.rank == 0
        budget_start = self.start_time if (self.start_time is not None and self.step == 0) else t0
        deadline = budget_start + cfg.time_budget if cfg.time_budget else None
        steps_per_epoch = max(1, math.ceil(len(self.sampler) / (cfg.batch_size * self.world)))
        first_step = self.step
        total_steps = None
        if cfg.epochs:
            total_steps = first_step + cfg.epochs * steps_per_epoch
        if cfg.max_steps is not None:
            total_steps = min(total_steps or (first_step + cfg.max_steps), first_step + cfg.max_steps)
        if main:
            yield Started(
                self.step,
                time.monotonic() - t0,
                cfg.method,
                str(self.device),
                str(self.amp).replace("torch.", "") if self.amp else "fp32",
                len(self.sampler),
                len(self.val_ids),
                self.step > 0,
                self.data_notes(),
            )
        self._val_seconds = getattr(self, "_val_seconds", 0.0)
        reason = "stopped"
        last_progress = last_preview = time.monotonic()
        last_val = time.monotonic()
        step_time = None
        seen = 0
        stale = 0
        data = StepData(
            self.rng,
            self.step,
            cases=[self.prepared[i] for i in self.train_ids],
            reference_masks=self.mask_sampler.masks if self.mask_sampler is not None else (),
        )
        if self.mask_sampler is not None:
            data.unpaired_masks = lambda n: self.mask_sampler.sample(n, self.rng, self.device)
        if self.unlabeled_sampler is not None:
            data.unlabeled = lambda n: self.unlabeled_sampler.sample(n, self.rng, self.device).image
        method.train_mode(True)
        while True:
            now = time.monotonic()
            stop = None
            if self._stop.is_set():
                stop = "stopped"
            elif total_steps is not None and self.step >= total_steps:
                stop = "max-steps" if cfg.max_steps is not None and not cfg.epochs else "epochs"
            elif deadline is not None and step_time is not None:
                # leave room for one more step, a final validation and saving
                if now + step_time + self._val_seconds + 1.0 > deadline:
                    stop = "budget"
            if self.world > 1:
                stop = self._sync_stop(stop)
            if stop:
                reason = stop
                break
            if deadline is not None:
                fraction = (now - budget_start) / max(cfg.time_budget, 1e-9)
            elif total_steps is not None:
                fraction = (self.step - first_step) / max(total_steps - first_step, 1)
            else:
                fraction = None
            factor = self._lr_factor(fraction)
            for g in method.iter_param_groups():
                g["lr"] = cfg.lr * factor * g.get("lr_scale", 1.0)
            ts = time.monotonic()
            batch = self.sampler.sample(cfg.batch_size, self.rng, self.device)
            data.step = self.step
            losses = method.train_step(batch, data)
            if not all(math.isfinite(v) for v in losses.values()):
                raise ScribbleSegError(
                    f"training diverged at step {self.step} (losses {losses}); try a lower learning rate"
                )
            self.step += 1
            self.epoch += 1.0 / steps_per_epoch
            seen += cfg.batch_size * self.world
            dt = time.monotonic() - ts
            step_time = dt if step_time is None else 0.9 * step_time + 0.1 * dt
            now = time.monotonic()
            if not main:
                continue
            if now - last_progress >= 1.0 or self.step == first_step + 1:
                last_progress = now
                if deadline is not None:
                    eta = max(deadline - now, 0.0)
                elif total_steps is not None:
                    eta = (total_steps - self.step) * step_time
                else:
                    eta = None
                yield Progress(
                    self.step,
                    now - t0,
                    self.epoch,
                    losses,
                    cfg.lr * factor,
                    seen / max(now - t0, 1e-9),
                    eta,
                    fraction,
                )
            if cfg.preview_every and now - last_preview >= cfg.preview_every:
                last_preview = now
                ev = self._preview(t0)
                if ev is not None:
                    yield ev
            if self.val_ids and now - last_val >= cfg.val_every:
                ev = yield from self._validate_and_checkpoint(t0)
                last_val = time.monotonic()
                if cfg.patience and ev is not None:
                    stale = 0 if ev.best else stale + 1
                    if stale >= cfg.patience:
                        reason = "early-stopping"
                        break
        if self.world > 1 and not main:
            return
        if self.val_ids:
            yield from self._validate_and_checkpoint(t0, final=True)
            if self._best_state is not None:  # keep the best model (also for Continue)
                self.segmentor.load_state_dict(self._best_state)
        else:
            self.best_step = self.step
        if self.out_dir is not None:
            self.save(self.out_dir)
            yield CheckpointSaved(self.step, time.monotonic() - t0, self.out_dir / "model.safetensors", True)
        method.train_mode(False)
        yield Finished(self.step, time.monotonic() - t0, reason, self.best_loss, self.best_step)

    def data_notes(self) -> tuple[str, ...]:
        """Warnings about the training annotations: classes nobody annotated (see :class:`Started`)."""
        counts = np.zeros(self.n_classes + 1, np.int64)
        for i in self.train_ids:
            t = self.prepared[i].targets
            counts += np.bincount(t.ravel().astype(np.int16) + 1, minlength=self.n_classes + 1)[
                : self.n_classes + 1
            ]
        names = self.class_names
        notes = []
        if counts[1] == 0 and not self.method_cls.learns_unscribbled_background:
            notes.append(
                f"nobody scribbled {names[0]}: with {self.config.method} the network never learns where a "
                "structure ends and labels most of the image as structures (on the cardiac sample without "
                "background scribbles, pce scored 0.13 mean Dice). Scribble some background around the "
                "structures, or train size, whose size bounds make the rest background (0.80)"
            )
        missing = [names[k] for k in range(1, self.n_classes) if counts[k + 1] == 0]
        if missing:
            notes.append(
                f"nobody annotated {', '.join(missing)}: the network cannot learn "
                f"{'it' if len(missing) == 1 else 'them'}; scribble each structure on at least one slice"
            )
        return tuple(notes)

    def _sync_stop(self, stop: str | None) -> str | None:
        import torch.distributed as dist

        flag = torch.tensor([1.0 if stop else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return (stop or "stopped") if flag.item() > 0 else None

    # -- validation, previews, saving ---------------------------------------------------------------
    @property
    def segmentor(self) -> torch.nn.Module:
        """The segmentor being trained."""
        assert self.method is not None, "call fit() first"
        return self.method.segmentor

    @torch.no_grad()
    def _predict_stack(self, stack: np.ndarray, want_attention: bool = False, batch: int = 8):
        """Softmax probabilities (C, S, h, w) of whole slices, and attention maps per scale if asked."""
        return predict_stack(self.segmentor, stack, self.device, self.amp, want_attention, batch)

    def _validate_and_checkpoint(self, t0: float, final: bool = False):
        ts = time.monotonic()
        loss, metrics = self.validate()
        self._val_seconds = time.monotonic() - ts
        best = self.best_loss is None or loss < self.best_loss
        if best:
            self.best_loss, self.best_step = loss, self.step
            self._best_state = copy.deepcopy(
                {k: v.detach().cpu() for k, v in self.segmentor.state_dict().items()}
            )
        ev = Validation(self.step, time.monotonic() - t0, loss, metrics, best)
        yield ev
        if best and self.out_dir is not None and not final:
            self.save(self.out_dir)
            yield CheckpointSaved(self.step, time.monotonic() - t0, self.out_dir / "model.safetensors", True)
        return ev

    def validate(self) -> tuple[float, dict[str, float]]:
        """Partial CE on the scribbles of the validation volumes (the selection score; lower is better).

        Also reports the mean Dice against dense masks where validation volumes have them.
        """
        was_training = self.segmentor.training
        self.segmentor.eval()
        ce_sum, n_sum = 0.0, 0
        dice_scores = []
        for i in self.val_ids:
            pc = self.prepared[i]
            probs = self._predict_stack(pc.image)  # (C, S, h, w)
            logp = np.log(np.clip(probs, 1e-7, 1.0))
            for a in range(pc.targets.shape[0]):
                t = pc.targets[a].astype(np.int64)
                ann = t != IGNORE
                if not ann.any():
                    continue
                picked = np.take_along_axis(logp, np.where(ann, t, 0)[None], axis=0)[0]
                ce_sum += float(-(picked[ann]).sum())
                n_sum += int(ann.sum())
                if pc.dense[a]:
                    pred = probs.argmax(0)
                    for k in range(1, self.n_classes):
                        p, g = pred == k, t == k
                        if p.any() or g.any():
                            dice_scores.append(2 * (p & g).sum() / (p.sum() + g.sum()))
        self.segmentor.train(was_training)
        metrics = {"val_pce": ce_sum / max(n_sum, 1)}
        if dice_scores:
            metrics["val_dice"] = float(np.mean(dice_scores))
        return metrics["val_pce"], metrics

    def _preview(self, t0: float) -> Preview | None:
        req = self.preview_request
        if req is None:
            vol = self.train_ids[0] if self.train_ids else 0
            pc = self.prepared[vol]
            ann = (pc.targets != IGNORE).any(axis=0).reshape(pc.n_slices, -1).any(axis=1)
            idx = np.flatnonzero(ann)
            req = (vol, int(idx[len(idx) // 2]) if len(idx) else pc.n_slices // 2)
        vol, sl = req
        if not 0 <= vol < len(self.prepared):
            return None
        pc = self.prepared[vol]
        sl = int(np.clip(sl, 0, pc.n_slices - 1))
        was_training = self.segmentor.training
        self.segmentor.eval()
        probs, att = self._predict_stack(pc.image[sl : sl + 1], want_attention=True)
        self.segmentor.train(was_training)
        geom = pc.geometry
        probs2d = _to_in_plane(probs, geom)
        att2d = {name: _to_in_plane(a, geom)[0] for name, a in att.items()}
        return Preview(
            self.step,
            time.monotonic() - t0,
            vol,
            sl,
            probs2d.argmax(0).astype(np.uint8),
            probs2d.astype(np.float32),
            att2d,
        )

    def metadata(self) -> dict[str, Any]:
        """JSON metadata stored with the model."""
        assert self.method is not None
        pre = to_dict(self.pre)
        pre["target_spacing"] = self.target_spacing
        return {
            "package_version": __version__,
            "method": self.config.method,
            "method_config": to_dict(self.method_options) if is_dataclass(self.method_options) else {},
            "train_config": to_dict(self.config),
            "preprocess": pre,
            "class_names": list(self.class_names),
            "segmentor": {"name": self.method.segmentor_name, "kwargs": dict(self.method.segmentor_kwargs)},
            "step": self.step,
            "best_step": self.best_step,
            "best_val_loss": self.best_loss,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def save(self, folder: str | Path) -> Path:
        """Write the model folder: best weights, metadata and the training state (for Continue/--resume)."""
        assert self.method is not None, "nothing to save before training"
        folder = Path(folder)
        best = (
            self._best_state
            if (self._best_state is not None and self.val_ids)
            else self.segmentor.state_dict()
        )
        ckpt.save_model(folder, {k: v.detach().cpu() for k, v in best.items()}, self.metadata())
        optim = {
            "optimizers": self.method.optimizer_state(),
            "trainer": {"step": self.step, "epoch": self.epoch},
        }
        ckpt.save_training_state(folder, self.method.networks, optim)
        return folder

    def predictor(self):
        """A :class:`~napari_scribbleseg.inference.Predictor` using the current segmentor (shares weights)."""
        from ..inference import Predictor

        assert self.method is not None, "train first"
        return Predictor(self.segmentor, self.metadata(), self.device)


def _to_in_plane(stack: np.ndarray, geom) -> np.ndarray:
    """(C, 1, h, w) at the run's spacing -> (C, a, b) on the volume's own in-plane grid."""
    from ..data.slices import SliceGeometry

    g1 = SliceGeometry(
        (1, *geom.in_plane_shape), 0, geom.in_plane_spacing, geom.target_spacing, geom.resampled_shape
    )
    return from_slices(stack, g1)[:, 0]


@torch.no_grad()
def predict_stack(
    segmentor: torch.nn.Module,
    stack: np.ndarray,
    device: torch.device,
    amp,
    want_attention=False,
    batch: int = 8,
    progress=None,
):
    """Run ``segmentor`` (in its current mode) on whole slices.

    Returns softmax probabilities (C, S, h, w) float32 and, if ``want_attention``, a dict of attention maps
    per scale, each (1, S, h, w) upsampled to the slice grid.
    """
    import contextlib

    import torch.nn.functional as F

    depth = getattr(segmentor, "depth", 5)
    padded, crop = pad_to_multiple(stack, 2 ** (depth - 1))
    n = padded.shape[0]
    probs_out = None
    atts: dict[str, np.ndarray] = {}
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
    for start in range(0, n, batch):
        x = torch.from_numpy(np.ascontiguousarray(padded[start : start + batch]))[:, None].to(device)
        if device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with ctx:
            out = segmentor(x)
        p = torch.softmax(out["logits"].float(), dim=1)[..., crop[0], crop[1]].cpu().numpy()
        if probs_out is None:
            probs_out = np.empty((p.shape[1], n, *p.shape[2:]), np.float32)
        probs_out[:, start : start + p.shape[0]] = p.transpose(1, 0, 2, 3)
        if want_attention and out.get("attention"):
            full = padded.shape[-2:]
            for a in out["attention"]:
                factor = full[0] // a.shape[-2]
                up = F.interpolate(a.float(), size=full, mode="nearest")[..., crop[0], crop[1]]
                name = f"scale 1/{factor}"
                arr = atts.setdefault(name, np.empty((1, n, *p.shape[2:]), np.float32))
                arr[:, start : start + p.shape[0]] = up.cpu().numpy().transpose(1, 0, 2, 3)
        if progress is not None:
            progress(min(start + batch, n), n)
    assert probs_out is not None
    if want_attention:
        return probs_out, atts
    return probs_out
