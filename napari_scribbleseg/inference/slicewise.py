"""The one forward pass over slices: a segmentor on a stack of whole 2D slices.

Training previews, validation, the :class:`~.predictor.Predictor` (CLI and napari) all run the network
through :func:`predict_stack`, so that padding, batching, mixed precision and the softmax are the same
everywhere. torch is imported when a function runs, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..data.slices import SliceGeometry, from_slices, pad_to_multiple
from ..errors import OutOfMemoryWarning


def _release(device: Any) -> None:
    """Give the memory of a failed attempt back to the device (its tensors must be unreferenced first)."""
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def predict_stack(
    segmentor: Any,
    stack: np.ndarray,
    device: Any,
    amp: Any,
    want_attention: bool = False,
    batch: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run ``segmentor`` (in its current mode, without autograd) on whole slices.

    Slices are zero-padded to a multiple of the segmentor's down-sampling factor (``2 ** (depth - 1)``)
    and cropped back after the softmax.

    Out of device memory (``torch.OutOfMemoryError``), the batch is halved down to one slice; if one slice
    does not fit either, the segmentor is moved to the CPU for the rest of this call (full precision) and
    moved back at the end. Each step is reported with an
    :class:`~napari_scribbleseg.errors.OutOfMemoryWarning` (the CLI prints it on stderr). Running out of
    memory on the CPU with one slice re-raises the error.

    Parameters
    ----------
    segmentor
        A ``torch.nn.Module`` returning a dict with ``"logits"`` (B, C, H, W) and optionally
        ``"attention"`` (a list of (B, 1, h, w) maps at coarser scales).
    stack
        Normalised slices (S, h, w), float32.
    device
        ``torch.device`` the segmentor is on.
    amp
        Autocast dtype (``torch.bfloat16``/``torch.float16``) or ``None`` for full precision.
    want_attention
        Also return the attention maps.
    batch
        Slices per forward pass (at most; fewer after running out of memory).
    progress
        Called as ``progress(done, total)`` after each batch.

    Returns
    -------
    numpy.ndarray or tuple
        Softmax probabilities (C, S, h, w) float32 and, if ``want_attention``, a dict of attention maps per
        scale (``"scale 1/4"``...), each (1, S, h, w), upsampled (nearest) to the slice grid.
    """
    import torch

    depth = getattr(segmentor, "depth", 5)
    padded, crop = pad_to_multiple(stack, 2 ** (depth - 1))
    n = padded.shape[0]
    probs_out = None
    atts: dict[str, np.ndarray] = {}
    run_device, run_amp, size = device, amp, max(1, int(batch))
    start = 0
    try:
        with torch.no_grad():
            while start < n:
                try:
                    p, maps = _forward(
                        segmentor, padded[start : start + size], run_device, run_amp, crop, want_attention
                    )
                except torch.OutOfMemoryError:
                    if size == 1 and run_device.type == "cpu":
                        raise
                    p = None
                if p is None:  # out of memory: handled here, once the failed attempt's tensors are freed
                    _release(run_device)
                    if size > 1:
                        size = max(1, size // 2)
                        msg = f"retrying with {size} slice(s) per batch"
                    else:
                        msg = "predicting on the CPU instead (slower)"
                        run_device, run_amp = torch.device("cpu"), None
                        segmentor.to(run_device)
                    warnings.warn(f"out of memory on {device}: {msg}", OutOfMemoryWarning, stacklevel=2)
                    continue
                if probs_out is None:
                    probs_out = np.empty((p.shape[1], n, *p.shape[2:]), np.float32)
                probs_out[:, start : start + p.shape[0]] = p.transpose(1, 0, 2, 3)
                for name, a in maps.items():
                    arr = atts.setdefault(name, np.empty((1, n, *p.shape[2:]), np.float32))
                    arr[:, start : start + p.shape[0]] = a.transpose(1, 0, 2, 3)
                start += p.shape[0]
                if progress is not None:
                    progress(start, n)
    finally:
        if run_device != device:
            segmentor.to(device)
    assert probs_out is not None
    if want_attention:
        return probs_out, atts
    return probs_out


def _forward(
    segmentor: Any, chunk: np.ndarray, device: Any, amp: Any, crop: tuple[slice, slice], want_attention: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One batch of padded slices (B, H, W) -> cropped probabilities (B, C, h, w) and attention maps.

    The maps (``"scale 1/4"``...: (B, 1, h, w), upsampled with nearest neighbours) are computed only if
    wanted and the segmentor returns them.
    """
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(chunk))[:, None].to(device)
    if device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
    with ctx:
        out = segmentor(x)
    p = torch.softmax(out["logits"].float(), dim=1)[..., crop[0], crop[1]].cpu().numpy()
    full = chunk.shape[-2:]
    maps = {}
    for a in (out.get("attention") or []) if want_attention else []:
        up = F.interpolate(a.float(), size=full, mode="nearest")[..., crop[0], crop[1]]
        maps[f"scale 1/{full[0] // a.shape[-2]}"] = up.cpu().numpy()
    return p, maps


def to_in_plane(stack: np.ndarray, geom: SliceGeometry) -> np.ndarray:
    """One slice back on its volume's grid: (C, 1, h, w) at the run's spacing -> (C, a, b).

    ``(a, b)`` is ``geom.in_plane_shape``, the volume's own in-plane grid (what a preview shows).
    """
    g1 = SliceGeometry(
        (1, *geom.in_plane_shape), 0, geom.in_plane_spacing, geom.target_spacing, geom.resampled_shape
    )
    return from_slices(stack, g1)[:, 0]
