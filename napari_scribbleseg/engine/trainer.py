"""The one training loop. Methods plug in through :class:`~.methods.base.TrainingMethod`.

The trainer owns iteration, the time budget, the learning-rate schedule, validation and early stopping,
checkpoints, events and seeding. :meth:`Trainer.fit` is a generator of :mod:`.events`, so the CLI prints
them and the napari widget streams them from a worker thread; :meth:`Trainer.stop` may be called from any
thread and ends training after the current step, keeping the best model.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import PreprocessConfig, TrainConfig
from ..data.dataset import Case, median_in_plane_spacing
from ..devices import autocast_dtype, configure_threads, resolve_device
from ..errors import ConfigError, ScribbleSegError
from ..inference import Predictor
from ..inference.postprocess import KeepLargest, convex_classes
from .distributed import any_rank_stops, init_distributed, wrap_ddp
from .events import CheckpointSaved, Event, Failed, Finished, Preview, Progress, Started, Validation
from .method_choice import resolve_method
from .methods import METHODS, MethodContext, TrainingMethod, method_config
from .model_folder import RunPlan, restore_run, run_metadata, save_run
from .preview import default_preview_slice, make_preview
from .run_data import (
    annotation_notes,
    check_extra_cases,
    check_training_cases,
    needs_unpaired_masks,
    prepare_run,
    step_data,
)
from .schedule import RunLength, lr_factor
from .validation import decide_keep_largest, validate, validation_interval


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
        self.pre = preprocess or PreprocessConfig()
        choice_of = (cases, bool(unpaired_masks), method_options, resume, self.pre)
        self.config, self.choice = resolve_method(config or TrainConfig(), *choice_of)
        self.method_cls: type[TrainingMethod] = METHODS.get(self.config.method)
        self.method_options = method_config(self.config.method, method_options)
        self._pseudo_note: tuple[str, ...] = ()
        if self.pre.pseudo_labels and not self.method_cls.takes_pseudo_labels(bool(unpaired_masks)):
            self.pre = dataclasses.replace(self.pre, pseudo_labels=False)
            self._pseudo_note = (f"pseudo-labels: not used by {self.config.method} with unpaired masks",)
        self.class_names = tuple(class_names)
        self.n_classes = len(self.class_names)
        if self.n_classes < 2:
            raise ConfigError("need at least two classes (background and one structure)")
        self.convex = convex_classes(self.pre.convex, self.class_names)
        self.out_dir = Path(out_dir) if out_dir else None
        self.resume = Path(resume) if resume else None
        self.start_time = start_time
        self.unpaired = list(unpaired_masks)
        self.unlabeled = list(unlabeled)
        self.set_cases(cases)
        extra = (self.unpaired, self.unlabeled, self.n_classes, self.method_cls, self.config.method)
        check_extra_cases(*extra, pseudo_prior=self.pre.pseudo_labels)
        self.method: TrainingMethod | None = None
        self.step = 0
        self.epoch = 0.0
        self.best_loss: float | None = None
        self.best_step: int | None = None
        self._best_state: dict[str, torch.Tensor] | None = None
        self._plan: RunPlan | None = None  # the plan of an unfinished run being resumed
        self._plan_done = True
        self.length: RunLength | None = None
        self.keep_largest: KeepLargest | None = None  # the clean-up chosen at the end of a run
        self._stop = threading.Event()
        #: (volume index, slice index) to preview; set from any thread (e.g. the viewer's current slice)
        self.preview_request: tuple[int, int] | None = None
        self.target_spacing: float | None = None
        self.rank, self.world = 0, 1

    # -- public API ---------------------------------------------------------------------------------
    def set_cases(self, cases: Sequence[Case]) -> None:
        """Replace the training volumes (e.g. corrected scribbles before Continue)."""
        cases = check_training_cases(cases, self.n_classes)
        self.cases = cases
        self._prepared = False
        self.setup_info: tuple[str, ...] = ()  # what the set-up chose (Started.info)

    def close(self) -> None:
        """Release the DDP wrappers, which hold a torchrun process group (:func:`.shutdown_distributed`)."""
        if self.method is not None:
            self.method.unwrap()
        gc.collect()

    def stop(self) -> None:
        """Ask :meth:`fit` to finish after the current step (thread-safe)."""
        self._stop.set()

    def fit(self) -> Iterator[Event]:
        """Train, yielding events until :class:`Finished` or :class:`Failed`; call again to continue."""
        self._stop.clear()
        t0 = time.monotonic()
        try:
            yield from self._fit(t0)
        except ScribbleSegError as exc:
            yield Failed(self.step, time.monotonic() - t0, str(exc))
        except torch.OutOfMemoryError as exc:
            advice = "lower the batch size or patch size"
            yield Failed(
                self.step, time.monotonic() - t0, f"out of memory on {self.config.device}: {advice} ({exc})"
            )
        except Exception as exc:  # a bug: report it with its traceback, keep the caller alive
            message = f"training failed: {type(exc).__name__}: {exc}"
            yield Failed(self.step, time.monotonic() - t0, message, traceback.format_exc())

    # -- set-up -------------------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.config
        self.rank, self.world = init_distributed()
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
        run = prepare_run(
            *(self.cases, self.unpaired, self.unlabeled, self.pre, self.target_spacing, cfg, self.n_classes),
            prior_from_pseudo=needs_unpaired_masks(self.method_cls),
            convex=self.convex,
        )
        self.prepared, self.train_ids, self.val_ids = run.prepared, run.train_ids, run.val_ids
        self.sampler, self.mask_sampler = run.sampler, run.mask_sampler
        self.unlabeled_sampler = run.unlabeled_sampler
        self.setup_info = ((self.choice.note,) if self.choice else ()) + self._pseudo_note + tuple(run.info)
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
            has_unpaired_masks=self.mask_sampler is not None,
            has_unlabeled=bool(self.unlabeled),
            wrap=partial(wrap_ddp, device=self.device, world=self.world),
            class_names=self.class_names,
        )
        self.method = self.method_cls(self.method_options, ctx)
        if self.resume is not None:
            point = restore_run(
                self.resume, self.method, self.config.method, self.class_names, self.target_spacing
            )
            self.step, self.epoch, self.target_spacing = point.step, point.epoch, point.target_spacing
            self.best_loss, self.best_step, self._best_state = (
                point.best_loss,
                point.best_step,
                point.best_state,
            )
            point.restore_streams(self.rng)
            if point.plan is not None and point.plan.length == RunPlan.length_of(self.config):
                self._plan = point.plan  # an unfinished run, resumed as it was: continue its plan

    # -- the loop -----------------------------------------------------------------------------------
    def _fit(self, t0: float) -> Iterator[Event]:
        cfg = self.config
        if not self._prepared:
            self._setup()
        method = self.method
        assert method is not None
        main = self.rank == 0
        budget_start = self.start_time if (self.start_time is not None and self.step == 0) else t0
        steps_per_epoch = max(1, math.ceil(len(self.sampler) / (cfg.batch_size * self.world)))
        first_step = self.step
        length = RunLength.create(cfg, first_step, steps_per_epoch, budget_start)
        if self._plan is not None:
            p, self._plan = self._plan, None
            length = RunLength(p.first_step, p.total_steps, t0 - p.elapsed, p.time_budget, length.step_reason)
        self.length, self._plan_done = length, False
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
                self.setup_info,
            )
        self._val_seconds = getattr(self, "_val_seconds", 0.0)
        reason = "stopped"
        last_progress = last_preview = last_val = time.monotonic()
        step_time = None
        seen = stale = 0
        data = step_data(
            self.rng,
            self.step,
            self.prepared,
            self.train_ids,
            (self.mask_sampler, self.unlabeled_sampler),
            self.device,
        )
        method.train_mode(True)
        while True:
            now = time.monotonic()
            # with a deadline, leave room for one more step, a final validation and saving
            stop = "stopped" if self._stop.is_set() else None
            stop = stop or length.stop_reason(now, self.step, step_time, self._val_seconds)
            if self.world > 1:
                stop = any_rank_stops(stop, self.device)
            if stop:
                reason = stop
                break
            fraction = length.fraction(now, self.step)
            factor = lr_factor(cfg, fraction, self.epoch)
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
                eta = length.eta(now, self.step, step_time)
                rate = seen / max(now - t0, 1e-9)
                yield Progress(self.step, now - t0, self.epoch, losses, cfg.lr * factor, rate, eta, fraction)
            if cfg.preview_every and now - last_preview >= cfg.preview_every:
                last_preview = now
                ev = self._preview(t0)
                if ev is not None:
                    yield ev
            if not self.val_ids and self.out_dir is not None and now - last_val >= cfg.val_every:
                last_val = now  # nothing to select on: keep the last state, so a crash loses little
                yield self._saved(t0, best=False)
            if self.val_ids and now - last_val >= validation_interval(cfg.val_every, self._val_seconds):
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
        self.best_step = self.best_step if self.val_ids else self.step
        self._plan_done = reason != "stopped"
        if self.pre.keep_largest:  # decided on validation volumes, else on the training scribbles
            cases = [self.prepared[i] for i in self.val_ids or self.train_ids]
            args = (self.n_classes, self.device, self.amp, self._best_state if self.val_ids else None)
            self.keep_largest = decide_keep_largest(self.segmentor, cases, *args)
        if self.out_dir is not None and self.step > 0:  # the training state keeps the last weights
            yield self._saved(t0, best=True)
        if self.val_ids and self._best_state is not None:  # keep the best model (also for Continue)
            self.segmentor.load_state_dict(self._best_state)
        method.train_mode(False)
        yield Finished(self.step, time.monotonic() - t0, reason, self.best_loss, self.best_step)

    def data_notes(self) -> tuple[str, ...]:
        """Warnings about the training annotations: classes nobody annotated (see :class:`Started`)."""
        train = [self.prepared[i] for i in self.train_ids]
        learns_bg = self.method_cls.learns_unscribbled_background
        return annotation_notes(train, self.class_names, self.config.method, learns_bg)

    # -- validation, previews, saving ---------------------------------------------------------------
    @property
    def segmentor(self) -> torch.nn.Module:
        """The segmentor being trained."""
        assert self.method is not None, "call fit() first"
        return self.method.segmentor

    def _validate_and_checkpoint(self, t0: float, final: bool = False):
        ts = time.monotonic()
        loss, metrics = self.validate()
        self._val_seconds = time.monotonic() - ts
        best = self.best_loss is None or loss < self.best_loss
        if best:
            self.best_loss, self.best_step = loss, self.step
            self._best_state = {k: v.detach().cpu().clone() for k, v in self.segmentor.state_dict().items()}
        ev = Validation(self.step, time.monotonic() - t0, loss, metrics, best)
        yield ev
        if best and self.out_dir is not None and not final:
            yield self._saved(t0, best=True)
        return ev

    def _saved(self, t0: float, best: bool) -> CheckpointSaved:
        assert self.out_dir is not None
        self.save(self.out_dir)
        return CheckpointSaved(self.step, time.monotonic() - t0, self.out_dir / "model.safetensors", best)

    def validate(self) -> tuple[float, dict[str, float]]:
        """Partial CE on the scribbles of the validation volumes (the selection score; lower is better).

        Also reports the mean Dice of the post-processed mask against dense masks where validation volumes
        have them (see :func:`.validation.validate`).
        """
        val = [self.prepared[i] for i in self.val_ids]
        args = (self.n_classes, self.device, self.amp, self.pre.keep_largest, self.convex)
        return validate(self.segmentor, val, *args)

    def _preview(self, t0: float) -> Preview | None:
        req = self.preview_request or default_preview_slice(self.prepared, self.train_ids)
        args = (self.segmentor, self.prepared, req, self.device, self.amp, self.step, t0)
        return make_preview(*args, convex=self.convex)

    def metadata(self) -> dict[str, Any]:
        """JSON metadata stored with the model (:func:`.model_folder.run_metadata`)."""
        assert self.method is not None
        run = (self.config, self.method_options, self.pre, self.target_spacing, self.class_names, self.method)
        return run_metadata(*run, (self.step, self.best_step, self.best_loss), self.keep_largest)

    def save(self, folder: str | Path) -> Path:
        """Write the model folder: best weights, metadata and the training state (for Continue/--resume)."""
        assert self.method is not None, "nothing to save before training"
        best = (
            self._best_state
            if (self._best_state is not None and self.val_ids)
            else self.segmentor.state_dict()
        )
        plan = RunPlan.of(self.length, self.config) if (self.length and not self._plan_done) else None
        counters = {"step": self.step, "epoch": self.epoch, "rng": self.rng.bit_generator.state, "plan": plan}
        save_run(Path(folder), best, self.metadata(), self.method, counters)
        return Path(folder)

    def predictor(self) -> Predictor:
        """A :class:`~napari_scribbleseg.inference.Predictor` using the current segmentor (shares weights)."""
        assert self.method is not None, "train first"
        return Predictor(self.segmentor, self.metadata(), self.device)
