"""Predict whole volumes with a trained model (:class:`Predictor`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PreprocessConfig, from_dict
from ..data.slices import SliceGeometry, choose_slice_axis, from_slices, normalize_intensity, to_slices
from ..errors import CheckpointError, ConfigError, DataError
from .fusion import fuse_with_scribbles
from .postprocess import KeepLargest, convex_classes, probabilities_to_mask
from .slicewise import predict_stack


class Predictor:
    """A trained segmentor with the preprocessing it was trained with.

    Parameters
    ----------
    segmentor
        The network (its weights are used as they are; the predictor puts it in eval mode while predicting).
    meta
        The model metadata (``meta.json``): class names, preprocessing, segmentor spec.
    device
        Where to run.
    """

    def __init__(self, segmentor: Any, meta: dict[str, Any], device: Any) -> None:
        from ..devices import autocast_dtype

        self.segmentor = segmentor
        self.meta = meta
        self.device = device
        self.class_names: tuple[str, ...] = tuple(meta["class_names"])
        pre = dict(meta["preprocess"])
        self.target_spacing = pre.pop("target_spacing", None)
        self.pre = from_dict(PreprocessConfig, pre, strict=False)
        self.amp = autocast_dtype(device, meta.get("train_config", {}).get("precision", "auto"))
        post = (meta.get("postprocess") or {}).get("keep_largest")
        self.keep_largest: bool | KeepLargest = (
            KeepLargest.from_meta(post, len(self.class_names)) if post is not None else self.pre.keep_largest
        )
        if not self.pre.keep_largest:
            self.keep_largest = False
        try:
            self.convex = convex_classes(self.pre.convex, self.class_names)
        except ConfigError as exc:
            raise CheckpointError(f"model metadata (meta.json): {exc}") from None

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Predictor:
        """Load a model folder written by training (weights via safetensors, never unpickled).

        Raises
        ------
        CheckpointError
            Missing or corrupt files, or weights that do not fit the stored architecture.
        """
        import torch

        from ..devices import resolve_device
        from ..io import checkpoint as ckpt
        from ..models.registry import build_segmentor

        meta = ckpt.load_meta(path)
        folder = ckpt.resolve_model_dir(path)
        dev = resolve_device(device)
        spec = meta.get("segmentor") or {}
        try:
            net = build_segmentor(spec["name"], **spec["kwargs"])
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"{folder}: bad segmentor description in meta.json ({exc})") from None
        state = ckpt.load_weights(folder / "model.safetensors")
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise CheckpointError(f"{folder}: weights do not match the stored architecture ({exc})") from None
        net = net.to(dev)
        if dev.type == "cpu":
            net = net.to(memory_format=torch.channels_last)
        net.eval()
        return cls(net, meta, dev)

    @property
    def n_classes(self) -> int:
        """Number of classes including background."""
        return len(self.class_names)

    @property
    def has_attention(self) -> bool:
        """Whether the segmentor produces attention maps (AAG)."""
        return bool(getattr(self.segmentor, "has_attention", False))

    def geometry(
        self, shape: tuple[int, ...], spacing: tuple[float, ...], source: str | None = None
    ) -> SliceGeometry:
        """How a volume of ``shape`` and ``spacing`` is sliced for this model.

        Raises
        ------
        DataError
            If resampling to the model's spacing would make the volume too large (the message names
            ``source``); see :meth:`~napari_scribbleseg.data.slices.SliceGeometry.create`.
        """
        return SliceGeometry.create(shape, spacing, self.target_spacing, self.pre.slice_axis, source=source)

    def predict_proba(
        self,
        image: np.ndarray,
        spacing: tuple[float, float, float],
        *,
        attention: bool = False,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 8,
        source: str | Path | None = None,
    ) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
        """Class probabilities (C, *image.shape) on the input grid.

        With ``attention`` also the attention maps per scale, each of ``image.shape``. ``source`` (the
        image's file or layer name) names the volume in errors. Out of device memory, the batch is halved
        and then the CPU used, with a warning (:func:`~.slicewise.predict_stack`).

        Raises
        ------
        DataError
            If the image is not 3D, holds NaN/Inf values, or would be too large once resampled to the
            model's spacing (checked before resampling).
        """
        name = str(source) if source is not None else "the volume"
        image = np.asarray(image)
        if image.ndim != 3:
            raise DataError(f"{name}: expected a 3D volume, got shape {image.shape}")
        if not np.all(np.isfinite(image)):
            raise DataError(f"{name}: the volume contains NaN or Inf values")
        geom = self.geometry(image.shape, spacing, None if source is None else str(source))
        stack = to_slices(normalize_intensity(image, self.pre.normalization), geom)
        was_training = self.segmentor.training
        self.segmentor.eval()
        try:
            out = predict_stack(self.segmentor, stack, self.device, self.amp, attention, batch_size, progress)
        finally:
            self.segmentor.train(was_training)
        if attention:
            probs, att = out
            return from_slices(probs, geom), {k: from_slices(v, geom)[0] for k, v in att.items()}
        return from_slices(out, geom)

    def to_mask(
        self, probs: np.ndarray, slice_axis: int | None = None, locked: np.ndarray | None = None
    ) -> np.ndarray:
        """The post-processed mask (uint8) of probabilities from :meth:`predict_proba`.

        :func:`~.postprocess.probabilities_to_mask` with the clean-up the training run chose on its
        validation volumes (``meta.json`` ``postprocess``); models saved before that was recorded keep
        the largest component of all structures together when ``keep_largest`` is on. The model's
        ``convex`` structures are filled per slice along ``slice_axis`` (default: the model's, else the
        last axis), except where ``locked`` (the user's scribbles).
        """
        if slice_axis is None:
            slice_axis = -1 if self.pre.slice_axis is None else self.pre.slice_axis
        axis = slice_axis % probs[0].ndim
        return probabilities_to_mask(probs, self.keep_largest, self.convex, axis, locked)

    def predict(
        self,
        image: np.ndarray,
        spacing: tuple[float, float, float],
        *,
        progress: Callable[[int, int], None] | None = None,
        source: str | Path | None = None,
    ) -> np.ndarray:
        """Mask (mask encoding, uint8) of ``image`` on its own grid (``source`` names it in errors)."""
        return self.segment(image, spacing, progress=progress, source=source)[0]

    def segment(
        self,
        image: np.ndarray,
        spacing: tuple[float, float, float],
        *,
        progress: Callable[[int, int], None] | None = None,
        source: str | Path | None = None,
        scribbles: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, probabilities)``: the post-processed mask (uint8) and the class probabilities.

        ``source`` (the image's file or layer name) names the volume in errors. ``scribbles`` (scribble
        encoding, on the image's grid): the user's scribbles of this volume, combined with the network's
        answer (:func:`.fusion.fuse_with_scribbles`).
        """
        probs = self.predict_proba(image, spacing, progress=progress, source=source)
        probs = self._with_scribbles(probs, image, spacing, scribbles, source)
        return self._mask(probs, spacing, scribbles), probs

    def _mask(
        self, probs: np.ndarray, spacing: tuple[float, ...], scribbles: np.ndarray | None
    ) -> np.ndarray:
        axis = choose_slice_axis(spacing, self.pre.slice_axis)
        return self.to_mask(probs, axis, None if scribbles is None else np.asarray(scribbles) > 0)

    def _with_scribbles(
        self,
        probs: np.ndarray,
        image: np.ndarray,
        spacing: tuple[float, float, float],
        scribbles: np.ndarray | None,
        source: str | Path | None,
    ) -> np.ndarray:
        if scribbles is None:
            return probs
        try:
            return fuse_with_scribbles(probs, image, scribbles, spacing, slice_axis=self.pre.slice_axis)[0]
        except DataError as exc:
            raise DataError(f"{source if source is not None else 'the volume'}: {exc}") from None

    def segment_with_attention(
        self,
        image: np.ndarray,
        spacing: tuple[float, float, float],
        *,
        progress: Callable[[int, int], None] | None = None,
        source: str | Path | None = None,
        scribbles: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(mask, probabilities, attention maps)``: :meth:`segment` plus the attention maps per scale.

        The maps are empty for segmentors without attention (see :attr:`has_attention`). The mask is the
        same as :meth:`segment`'s: one forward pass and one post-processing step for CLI and viewer.
        """
        if not self.has_attention:
            mask, probs = self.segment(image, spacing, progress=progress, source=source, scribbles=scribbles)
            return mask, probs, {}
        probs, att = self.predict_proba(image, spacing, attention=True, progress=progress, source=source)
        probs = self._with_scribbles(probs, image, spacing, scribbles, source)
        return self._mask(probs, spacing, scribbles), probs, att
