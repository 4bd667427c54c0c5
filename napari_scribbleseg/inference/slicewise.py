"""The one forward pass over slices: a segmentor on a stack of whole 2D slices.

Training previews, validation, the :class:`~.predictor.Predictor` (CLI and napari) all run the network
through :func:`predict_stack`, so that padding, batching, mixed precision and the softmax are the same
everywhere. torch is imported when a function runs, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..data.slices import SliceGeometry, from_slices, pad_to_multiple


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
        Slices per forward pass.
    progress
        Called as ``progress(done, total)`` after each batch.

    Returns
    -------
    numpy.ndarray or tuple
        Softmax probabilities (C, S, h, w) float32 and, if ``want_attention``, a dict of attention maps per
        scale (``"scale 1/4"``...), each (1, S, h, w), upsampled (nearest) to the slice grid.
    """
    import torch
    import torch.nn.functional as F

    depth = getattr(segmentor, "depth", 5)
    padded, crop = pad_to_multiple(stack, 2 ** (depth - 1))
    n = padded.shape[0]
    probs_out = None
    atts: dict[str, np.ndarray] = {}
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
    with torch.no_grad():
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


def to_in_plane(stack: np.ndarray, geom: SliceGeometry) -> np.ndarray:
    """One slice back on its volume's grid: (C, 1, h, w) at the run's spacing -> (C, a, b).

    ``(a, b)`` is ``geom.in_plane_shape``, the volume's own in-plane grid (what a preview shows).
    """
    g1 = SliceGeometry(
        (1, *geom.in_plane_shape), 0, geom.in_plane_spacing, geom.target_spacing, geom.resampled_shape
    )
    return from_slices(stack, g1)[:, 0]
