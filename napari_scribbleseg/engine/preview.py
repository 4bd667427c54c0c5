"""Training previews: the prediction of one slice, with attention maps, while the network trains."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.dataset import PreparedCase
from ..inference import predict_stack, probabilities_to_mask, to_in_plane
from ..labels import IGNORE
from .events import Preview


def default_preview_slice(prepared: Sequence[PreparedCase], train_ids: Sequence[int]) -> tuple[int, int]:
    """``(volume, slice)`` to preview when nobody asked: the middle annotated slice of the first volume."""
    vol = train_ids[0] if train_ids else 0
    pc = prepared[vol]
    ann = (pc.targets != IGNORE).any(axis=0).reshape(pc.n_slices, -1).any(axis=1)
    idx = np.flatnonzero(ann)
    return vol, int(idx[len(idx) // 2]) if len(idx) else pc.n_slices // 2


def make_preview(
    segmentor: Any,
    prepared: Sequence[PreparedCase],
    request: tuple[int, int],
    device: Any,
    amp: Any,
    step: int,
    t0: float,
    convex: Sequence[int] = (),
) -> Preview | None:
    """The :class:`Preview` event of slice ``request = (volume, slice)`` on the volume's in-plane grid.

    ``t0`` is the ``time.monotonic()`` at which :meth:`~.trainer.Trainer.fit` started (the event's clock).

        The slice index is clipped to the volume; an unknown volume gives ``None``. The segmentor runs in eval
    mode and is put back in its former mode. The mask is :func:`probabilities_to_mask` without
    ``keep_largest`` (that step keeps 3D components and needs the whole volume, not one slice) but with
    the ``convex`` structures filled, as a prediction of the volume would be.
    """
    vol, sl = request
    if not 0 <= vol < len(prepared):
        return None
    pc = prepared[vol]
    sl = int(np.clip(sl, 0, pc.n_slices - 1))
    was_training = segmentor.training
    segmentor.eval()
    try:
        probs, att = predict_stack(segmentor, pc.image[sl : sl + 1], device, amp, want_attention=True)
    finally:
        segmentor.train(was_training)
    probs2d = to_in_plane(probs, pc.geometry)
    att2d = {name: to_in_plane(a, pc.geometry)[0] for name, a in att.items()}
    mask = probabilities_to_mask(probs2d, keep_largest=False, convex=convex)
    return Preview(step, time.monotonic() - t0, vol, sl, mask, probs2d.astype(np.float32), att2d)
