"""What runs in the widget's worker threads: build the trainer, stream its events, predict, load models.

Nothing here touches Qt or napari layers: the functions run in a worker thread and hand numpy results and
engine events back to the main thread, which alone updates layers. torch is imported here, lazily, in the
worker, so neither napari's start nor the main thread pays for it.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.dataset import Case

#: How much lower than the GUI the training thread (and the torch threads it starts) runs (Linux nice).
TRAINING_NICENESS = 10

#: Subjects of the synthetic cardiac dataset that form its unpaired-mask split (see ``data.sample``).
CARDIAC_UNPAIRED_SUBJECTS = range(16, 22)


def warm_up() -> tuple[Any, list[str]]:
    """Import what training needs, for a worker thread; returns ``(METHODS, available devices)``.

    Beyond torch and the engine, this builds a throw-away Adam optimiser: torch imports
    ``torch._dynamo`` (and sympy, ~800 modules, 2 s on this CPU) the first time an optimiser is made,
    and doing it here keeps that burst of GIL-holding imports out of the first training run.
    """
    import torch

    from ..devices import available_devices
    from ..engine import trainer  # noqa: F401
    from ..engine.methods import METHODS
    from ..inference import Predictor  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    return METHODS, available_devices()


def expected_attention_keys(method: str, n_classes: int, width: int, depth: int) -> list[str]:
    """Names of the attention maps the previews of ``method`` will carry (``["scale 1/8", ...]``).

    Runs the method's segmentor once on a tiny blank slice (a few ms), so the widget can make the
    attention layers before training loads the CPU. Returns ``[]`` when the segmentor has no attention
    maps or cannot be built from the basic arguments; the widget then makes layers as previews arrive.
    """
    try:
        import torch

        from ..engine.methods import METHODS
        from ..models.registry import SEGMENTORS, build_segmentor

        name = METHODS.get(method).segmentor_name
        if not getattr(SEGMENTORS.get(name), "has_attention", False):
            return []
        net = build_segmentor(name, in_channels=1, n_classes=n_classes, width=width, depth=depth).eval()
        side = 2 ** (depth - 1) * 2
        with torch.no_grad():
            out = net(torch.zeros(1, 1, side, side))
        return [f"scale 1/{side // a.shape[-2]}" for a in out.get("attention", [])]
    except Exception:  # only a hint: never block training on it
        return []


class lowered_priority:  # noqa: N801 (used like a function)
    """Context manager: run the calling thread ``TRAINING_NICENESS`` steps nicer (Linux; else no-op).

    On Linux a thread has its own nice value, and threads it creates inherit it, so torch's intra-op
    threads started by the training thread run at the lower priority too. The GUI thread then wins the
    CPU whenever it needs it, even when training uses every core. On exit the old value is restored when
    the OS allows it (raising priority may need privileges; a worker thread that stays nicer only runs
    background work).
    """

    def __enter__(self) -> lowered_priority:
        self.tid = None
        try:
            tid = threading.get_native_id()
            self.old = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(self.old + TRAINING_NICENESS, 19))
            self.tid = tid
        except (AttributeError, OSError):  # not Linux, or not allowed
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tid is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, self.tid, self.old)
            except OSError:
                pass


@dataclass(frozen=True)
class UnpairedSource:
    """Where the unpaired masks of an adversarial method come from.

    ``kind`` is ``"cases"`` (``cases`` already built from Labels layers), ``"folder"`` (NIfTI masks in
    ``path``) or ``"sample"`` (the masks of the sample dataset ``name``).
    """

    kind: str
    cases: tuple[Case, ...] = ()
    path: Path | None = None
    name: str = ""

    def load(self) -> list[Case]:
        """The mask cases (reads files or generates the sample's masks; run it in a worker)."""
        if self.kind == "cases":
            return list(self.cases)
        if self.kind == "folder":
            from ..data.io import list_nifti, read_labels

            assert self.path is not None
            out = []
            for f in list_nifti([self.path], what="unpaired masks"):
                vol = read_labels(f, kind="mask")
                out.append(Case(np.zeros(vol.shape, np.float32), vol.spacing, [], vol.data, f.name))
            return out
        if self.kind == "sample" and self.name == "cardiac":
            from ..data.sample import make_cardiac_subject

            out = []
            for i in CARDIAC_UNPAIRED_SUBJECTS:
                subj = make_cardiac_subject(i, 0)
                out.append(
                    Case(
                        np.zeros(subj.mask.shape, np.float32), subj.spacing, [], subj.mask, f"case{i + 1:02d}"
                    )
                )
            return out
        raise ValueError(f"unknown unpaired-mask source {self.kind!r} {self.name!r}")


@dataclass
class TrainRequest:
    """Everything a training run needs, built on the main thread (arrays already copied)."""

    cases: list[Case]
    class_names: tuple[str, ...]
    config: Any  # TrainConfig
    method_options: dict[str, Any]
    preprocess: Any  # PreprocessConfig
    unpaired: UnpairedSource | None = None
    unlabeled: list[Case] = field(default_factory=list)
    resume: Path | None = None


@dataclass
class PredictItem:
    """One volume to predict: its layer name, a file-order float32 copy and the spacing."""

    name: str
    image: np.ndarray
    spacing: tuple[float, float, float]


@dataclass
class PredictResult:
    """Prediction of one volume, file order."""

    name: str
    mask: np.ndarray
    uncertainty: np.ndarray | None
    attention: dict[str, np.ndarray]
    class_names: tuple[str, ...]


class TrainingSession:
    """The model of one widget: the trainer that Stop/Continue keep, and a loaded predictor.

    The trainer lives as long as the session, in this process: Stop ends :meth:`Trainer.fit` after the
    current step and keeps its networks and optimiser state in memory, and Continue calls ``fit()`` on the
    same object again. :meth:`stop` is thread-safe.
    """

    def __init__(self) -> None:
        self.trainer: Any = None
        self.loaded: Any = None  # Predictor loaded from a model folder
        self.loaded_dir: Path | None = None
        self.volume_names: list[str] = []
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._run = 0  # id of the current run: a stale generator's clean-up must not mark a new run idle
        self._preview: tuple[int, int] | None = None
        self.use_loaded = False  # whether Predict uses the loaded model (last loaded) or the trainer

    # -- thread-safe controls ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether a training generator is running."""
        return not self._idle.is_set()

    def stop(self) -> None:
        """Ask the running training to end after its current step (any thread)."""
        self._stop.set()
        trainer = self.trainer
        if trainer is not None:
            trainer.stop()

    def wait(self, timeout: float) -> bool:
        """Block until no training runs (or ``timeout`` seconds); True if idle."""
        return self._idle.wait(timeout)

    @property
    def preview_request(self) -> tuple[int, int] | None:
        """(volume index, file slice index) the next preview should show."""
        return self._preview

    @preview_request.setter
    def preview_request(self, value: tuple[int, int] | None) -> None:
        self._preview = value
        trainer = self.trainer
        if trainer is not None:
            trainer.preview_request = value

    # -- worker bodies -------------------------------------------------------------------------------
    def train(self, request: TrainRequest) -> Iterator[Any]:
        """Generator for the worker: a new trainer on ``request``, yielding its events."""
        run = self._begin()
        try:
            with lowered_priority():
                from ..engine.trainer import Trainer

                unpaired = request.unpaired.load() if request.unpaired is not None else []
                trainer = Trainer(
                    request.cases,
                    request.class_names,
                    request.config,
                    request.method_options,
                    request.preprocess,
                    unpaired_masks=unpaired,
                    unlabeled=request.unlabeled,
                    resume=request.resume,
                )
                trainer.preview_request = self._preview
                self.trainer = trainer
                self.use_loaded = False
                self.volume_names = [c.name for c in request.cases]
                yield from self._stream(trainer)
        finally:
            self.mark_idle(run)

    def resume(self, cases: Sequence[Case], stop_after: dict[str, Any]) -> Iterator[Any]:
        """Generator for the worker: Continue the current trainer with new scribbles.

        ``stop_after`` replaces the stopping criteria (``time_budget``, ``epochs``, ``max_steps``) for
        this run; weights, optimiser state and step counter carry on.
        """
        run = self._begin()
        try:
            with lowered_priority():
                trainer = self.trainer
                if trainer is None:
                    raise RuntimeError("nothing to continue: train first")
                trainer.set_cases(list(cases))
                trainer.config = dataclasses.replace(trainer.config, **stop_after)
                trainer.preview_request = self._preview
                self.use_loaded = False
                self.volume_names = [c.name for c in cases]
                yield from self._stream(trainer)
        finally:
            self.mark_idle(run)

    def _begin(self) -> int:
        if self.running:
            raise RuntimeError("a training run is already going on")
        self._run += 1
        self._idle.clear()
        self._stop.clear()
        return self._run

    def mark_idle(self, run: int | None = None) -> None:
        """Record that run ``run`` (default: the current one) no longer executes.

        Called when its generator ends, and by the widget when a worker was aborted without exhausting
        the generator.
        """
        if run is None or run == self._run:
            self._idle.set()

    def _stream(self, trainer: Any) -> Iterator[Any]:
        for event in trainer.fit():
            # fit() clears the trainer's stop flag when it starts: re-apply a Stop pressed before that
            if self._stop.is_set():
                trainer.stop()
            if self._preview is not None:
                trainer.preview_request = self._preview
            yield event

    def predictor(self) -> Any:
        """The model Predict uses: the last one trained or loaded."""
        if self.use_loaded and self.loaded is not None:
            return self.loaded
        if self.trainer is not None and self.trainer.method is not None:
            return self.trainer.predictor()
        if self.loaded is not None:
            return self.loaded
        raise RuntimeError("no model yet: train one or load one first")

    def predict(
        self,
        items: Sequence[PredictItem],
        uncertainty: bool,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[PredictResult]:
        """Predict whole volumes (worker body); ``progress(name, done, total)`` may be called from it."""
        from ..inference import entropy

        if self.running:
            raise RuntimeError("stop training before predicting")
        predictor = self.predictor()
        results = []
        for item in items:
            cb = (lambda done, total, _n=item.name: progress(_n, done, total)) if progress else None
            out = predictor.predict_proba(
                item.image, item.spacing, attention=predictor.has_attention, progress=cb
            )
            probs, att = out if isinstance(out, tuple) else (out, {})
            mask = probs.argmax(0).astype(np.uint8)
            unc = entropy(probs) if uncertainty else None
            results.append(PredictResult(item.name, mask, unc, att, tuple(predictor.class_names)))
        return results

    def save(self, folder: str | Path) -> Path:
        """Write the trained model (weights, metadata, training state) to ``folder``."""
        if self.trainer is None or self.trainer.method is None:
            raise RuntimeError("no trained model to save")
        if self.running:
            raise RuntimeError("stop training before saving the model")
        return self.trainer.save(folder)

    def load(self, folder: str | Path, device: str = "auto") -> Any:
        """Load a model folder for Predict (worker body); returns the predictor."""
        from ..inference import Predictor

        predictor = Predictor.load(folder, device=device)
        self.loaded = predictor
        self.loaded_dir = Path(folder)
        self.use_loaded = True
        return predictor
