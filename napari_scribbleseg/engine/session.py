"""What Train, Continue, Predict, Save and Load do in an interactive session, without Qt or napari.

A :class:`TrainingSession` is the model behind the napari widget: it keeps one
:class:`~napari_scribbleseg.engine.trainer.Trainer` alive between runs (Stop and Continue resume the same
weights and optimiser state) and the last model folder loaded for Predict. Its worker bodies
(:meth:`TrainingSession.train`, :meth:`~TrainingSession.resume`, :meth:`~TrainingSession.predict`,
:meth:`~TrainingSession.load`) run in a worker thread and hand engine events and numpy results back to
the caller; they never touch a GUI. torch is imported lazily, inside them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PreprocessConfig, TrainConfig, from_dict
from ..data.dataset import Case
from .prediction import PredictItem, PredictResult, predict_items

#: How a run may be told when to stop: the field of :class:`~napari_scribbleseg.config.TrainConfig` each
#: unit sets (the other two are cleared).
STOP_UNITS = {"seconds": "time_budget", "epochs": "epochs", "steps": "max_steps"}


def stop_criteria(unit: str, value: float) -> dict[str, Any]:
    """The stopping criterion "train for ``value`` ``unit``" as ``TrainConfig`` fields.

    ``unit`` is ``"seconds"`` (a time budget), ``"epochs"`` or ``"steps"``; the two other criteria are
    ``None``, so a Continue with a new criterion replaces the previous one.
    """
    if unit not in STOP_UNITS:
        raise ValueError(f"unknown stopping unit {unit!r}; expected one of {', '.join(STOP_UNITS)}")
    return {
        "time_budget": float(value) if unit == "seconds" else None,
        "epochs": int(value) if unit == "epochs" else None,
        "max_steps": int(value) if unit == "steps" else None,
    }


@dataclass(frozen=True)
class UnpairedSource:
    """Where the unpaired masks of an adversarial method come from.

    ``kind`` is ``"cases"`` (``cases`` already built, e.g. from a Labels layer), ``"folder"`` (NIfTI
    masks in ``path``) or ``"sample"`` (the unpaired-mask split of the sample dataset ``name``).
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
            from ..io import list_nifti, read_labels

            if self.path is None:
                raise ValueError("a folder of unpaired masks needs a path")
            out = []
            for f in list_nifti([self.path], what="unpaired masks"):
                vol = read_labels(f, kind="mask")
                out.append(Case(np.zeros(vol.shape, np.float32), vol.spacing, [], vol.data, f.name))
            return out
        if self.kind == "sample":
            from ..data.samples import CARDIAC_SPLIT, make_cardiac_subject

            if self.name != "cardiac":
                raise ValueError(f"the sample {self.name!r} has no unpaired masks")
            out = []
            for i in CARDIAC_SPLIT.unpaired:
                subj = make_cardiac_subject(i, 0)
                empty = np.zeros(subj.mask.shape, np.float32)
                out.append(Case(empty, subj.spacing, [], subj.mask, f"case{i + 1:02d}"))
            return out
        raise ValueError(f"unknown unpaired-mask source {self.kind!r} {self.name!r}")


@dataclass
class TrainRequest:
    """Everything a training run needs, built by the caller (arrays already copied)."""

    cases: list[Case]
    class_names: tuple[str, ...]
    config: TrainConfig
    method_options: dict[str, Any]
    preprocess: PreprocessConfig
    unpaired: UnpairedSource | None = None
    unlabeled: list[Case] = field(default_factory=list)
    resume: Path | None = None


class TrainingSession:
    """The model of one interactive session: the trainer that Stop/Continue keep, and a loaded model.

    Parameters
    ----------
    run_context
        Called with no argument around every training run, in the worker thread; its context manager is
        entered while the trainer runs. The napari widget passes one that lowers the thread's priority
        so the GUI wins the CPU. Default: nothing.

    Notes
    -----
    The trainer lives as long as the session, in this process: Stop ends :meth:`Trainer.fit` after the
    current step and keeps its networks and optimiser state in memory, and Continue calls ``fit()`` on
    the same object again. :meth:`stop`, :attr:`running` and :meth:`wait` are thread-safe.
    """

    def __init__(self, run_context: Callable[[], AbstractContextManager[Any]] | None = None) -> None:
        self.trainer: Any = None
        self.loaded: Any = None  # Predictor loaded from a model folder
        self.loaded_dir: Path | None = None
        self.volume_names: list[str] = []
        self.use_loaded = False  # whether Predict and Continue use the loaded model or the trainer
        self._run_context = run_context or contextlib.nullcontext
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._run = 0  # id of the current run: a stale generator's clean-up must not mark a new run idle
        self._preview: tuple[int, int] | None = None

    # -- state ---------------------------------------------------------------------------------------
    @property
    def trained(self) -> bool:
        """Whether a trainer with a built model exists (Save and Continue work on it)."""
        return self.trainer is not None and self.trainer.method is not None

    @property
    def has_model(self) -> bool:
        """Whether Predict has a model: one trained or one loaded."""
        return self.trained or self.loaded is not None

    @property
    def continues_loaded(self) -> bool:
        """Whether Continue trains the loaded model folder (it was loaded after the last training)."""
        return self.use_loaded and self.loaded is not None

    @property
    def can_continue(self) -> bool:
        """Whether Continue has something to resume."""
        return self.trained or self.continues_loaded

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

    # -- Continue from a loaded model folder ---------------------------------------------------------
    def check_resumable(self, class_names: Sequence[str]) -> dict[str, Any]:
        """Check that the loaded model folder can continue training with ``class_names``; its meta.json.

        Raises
        ------
        ValueError
            No model loaded, a folder saved for prediction only (no ``state/``), a meta.json without the
            class names, training or preprocessing config, or other class names than ``class_names``.
        """
        folder, meta = self.loaded_dir, getattr(self.loaded, "meta", None)
        if folder is None or meta is None:
            raise ValueError("no model loaded: press Load model first")
        if not (folder / "state").is_dir():
            raise ValueError(
                f"{folder}: this model folder holds no training state (it was saved for prediction "
                "only), so training cannot continue from it; press Train for a new model"
            )
        missing = [k for k in ("class_names", "train_config", "preprocess") if k not in meta]
        if missing:
            raise ValueError(f"{folder}: meta.json lacks {', '.join(missing)}; cannot continue it")
        names = tuple(meta["class_names"])
        if tuple(class_names) != names:
            raise ValueError(
                f"the loaded model's classes are {', '.join(names)}; the widget has "
                f"{', '.join(class_names)}: set them back to continue it"
            )
        return meta

    def resume_request(
        self,
        cases: list[Case],
        current: TrainConfig,
        stop_after: dict[str, Any],
        unpaired: UnpairedSource | None = None,
        unpaired_method: str | None = None,
    ) -> TrainRequest:
        """The request that continues the loaded model folder on ``cases`` (after :meth:`check_resumable`).

        Method, network, schedule and options come from the folder's meta.json; device, threads, preview
        interval from ``current`` (the settings shown now) and the stopping criterion from ``stop_after``.
        ``unpaired`` is used only when ``unpaired_method`` (the method it was chosen for) is the folder's.
        """
        meta = self.loaded.meta
        config = dataclasses.replace(
            from_dict(TrainConfig, meta["train_config"]),
            device=current.device,
            threads=current.threads,
            preview_every=current.preview_every,
            **stop_after,
        )
        return TrainRequest(
            cases,
            tuple(meta["class_names"]),
            config,
            dict(meta.get("method_config") or {}),
            from_dict(PreprocessConfig, meta["preprocess"]),
            unpaired if unpaired_method in (config.method, "auto") else None,
            [],
            resume=self.loaded_dir,
        )

    # -- worker bodies -------------------------------------------------------------------------------
    def train(self, request: TrainRequest) -> Iterator[Any]:
        """Generator for the worker: a new trainer on ``request``, yielding its events."""
        run = self._begin()
        try:
            with self._run_context():
                from .trainer import Trainer

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
            with self._run_context():
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

        Called when its generator ends, and by the GUI when a worker was aborted without exhausting the
        generator.
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
        if self.continues_loaded:
            return self.loaded
        if self.trained:
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
        """Predict whole volumes (worker body); ``progress(name, done, total)`` may be called from it.

        Masks come from :meth:`Predictor.segment_with_attention`: the forward pass and post-processing
        (:func:`~napari_scribbleseg.inference.probabilities_to_mask`) of ``scribbleseg predict``, so the
        GUI and the CLI give the same mask for the same model and volume.
        """
        if self.running:
            raise RuntimeError("stop training before predicting")
        return predict_items(self.predictor(), items, uncertainty, progress)

    def save(self, folder: str | Path) -> Path:
        """Write the trained model (weights, metadata, training state) to ``folder``."""
        if not self.trained:
            raise RuntimeError("no trained model to save")
        if self.running:
            raise RuntimeError("stop training before saving the model")
        return self.trainer.save(folder)

    def load(self, folder: str | Path, device: str = "auto") -> Any:
        """Load a model folder for Predict and Continue (worker body); returns the predictor."""
        from ..inference import Predictor

        predictor = Predictor.load(folder, device=device)
        self.loaded = predictor
        self.loaded_dir = Path(folder)
        self.use_loaded = True
        return predictor
