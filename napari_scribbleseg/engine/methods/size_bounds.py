"""Size bounds of the ``size`` method: the bounds text format and the bound rules of 004 Eq. 5-7.

Pure numpy: which interval ``[a, b]`` (in pixels) the size of each structure must lie in on each
annotated training slice, and on each volume with a dense mask. The torch penalty on these bounds is in
:mod:`napari_scribbleseg.losses.size`; the method applying it in :mod:`.size`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...labels import IGNORE

_BOUND = re.compile(
    r"^\s*(?P<name>[^=]+?)\s*=\s*(?P<lo>\d+(?:\.\d*)?)\s*(?:-|\.\.|:)\s*(?P<hi>\d+(?:\.\d*)?|inf)\s*$",
    re.IGNORECASE,
)


def parse_bounds(text: Any) -> dict[str, tuple[float, float]]:
    """Parse per-structure size bounds such as ``"LV=60-2000,MYO=50-1500"``.

    Items are separated by ``,`` or ``;``; each is ``NAME=MIN-MAX`` (``MIN..MAX`` and ``MIN:MAX`` also
    work; ``MAX`` may be ``inf``), in pixels at the training resolution. ``NAME`` is a class name or its
    label value (mask encoding). An empty text means no bounds.

    Raises
    ------
    ConfigError
        Text that does not parse, ``MIN > MAX`` or a structure given twice.
    """
    if not isinstance(text, str):
        raise ConfigError(
            f"bounds must be text like 'LV=60-2000,MYO=50-1500', got {type(text).__name__} {text!r}"
        )
    out: dict[str, tuple[float, float]] = {}
    seen: set[str] = set()
    for item in re.split(r"[,;]", text):
        if not item.strip():
            continue
        m = _BOUND.match(item)
        if m is None:
            raise ConfigError(
                f"bounds: cannot read {item.strip()!r}; expected NAME=MIN-MAX in pixels at the training "
                "resolution, e.g. 'LV=60-2000,MYO=50-1500'"
            )
        name, lo, hi = m["name"], float(m["lo"]), float(m["hi"])
        if lo > hi:
            raise ConfigError(f"bounds: {name}: the minimum {lo:g} is larger than the maximum {hi:g}")
        if name.lower() in seen:
            raise ConfigError(f"bounds: {name!r} is given twice")
        seen.add(name.lower())
        out[name] = (lo, hi)
    return out


def resolve_bound_names(
    parsed: dict[str, tuple[float, float]], class_names: Sequence[str], n_classes: int
) -> dict[int, tuple[float, float]]:
    """Parsed bounds keyed by class index (names match case-insensitively; label values also work).

    Raises
    ------
    ConfigError
        A name that is neither a class name nor a label value below ``n_classes``.
    """
    names = [n.lower() for n in class_names] or [str(k) for k in range(n_classes)]
    out = {}
    for name, ab in parsed.items():
        if name.lower() in names:
            out[names.index(name.lower())] = ab
        elif name.isdigit() and int(name) < n_classes:
            out[int(name)] = ab
        else:
            valid = ", ".join(class_names) if class_names else f"0..{n_classes - 1}"
            raise ConfigError(f"bounds: unknown structure {name!r}; the classes are {valid}")
    return out


@dataclass
class SizeBounds:
    """Bounds of every annotated training slice, and of every volume that has them."""

    items: list[tuple[int, int]]  # (case, slice) of the annotated slices
    lower: np.ndarray  # (n_items, C) pixels
    upper: np.ndarray  # (n_items, C) pixels, inf = unbounded
    volumes: dict[int, tuple[np.ndarray, np.ndarray]]  # case -> (C,) lower, upper of the volume size
    class_bounds: dict[int, tuple[float, float, str]]  # class -> (a, b, source) where present


def class_counts(stack: np.ndarray, n_classes: int) -> np.ndarray:
    """(S, C) pixel count of every class on every slice of a (S, h, w) label stack."""
    return np.stack([(stack == k).sum(axis=(1, 2)) for k in range(n_classes)], axis=1)


def compute_bounds(
    cases: Sequence[Any],
    reference_masks: Sequence[np.ndarray],
    *,
    n_classes: int,
    user_bounds: dict[int, tuple[float, float]],
    margin: float,
    common_bounds: bool,
    absent_if_unscribbled: bool,
) -> SizeBounds:
    """Bounds of structure ``k`` on every annotated training slice: the first rule that applies.

    1. *individual* (004 Eq. 7): the slice has a dense mask: ``[(1-margin) τ, (1+margin) τ]``, τ its size
       in the mask (``[0, 0]`` when absent);
    2. *present* (scribbled on the slice by any annotator): ``user_bounds``, else the *common* bounds
       (Eq. 6: min/max size over the slices of the reference masks where ``k`` is present, times
       ``1 - margin`` / ``1 + margin``; references are ``reference_masks`` and the dense masks of
       ``cases``), else the *tag* bounds ``[1, |Ω|]`` (Eq. 5);
    3. *absent*: ``k`` has no scribble on this annotated slice. 004 Eq. 5 defines presence by the weak
       annotation (``Ω_L ≠ ∅``), so with ``absent_if_unscribbled`` the bounds are ``[0, 0]``: whoever
       scribbles must scribble every structure visible on the slices they annotate. Without it, an
       unscribbled structure only gets the upper bound of rule 2 (``[0, b]``), which is always safe.

    The background (class 0) is only constrained by ``user_bounds``. A volume with a dense mask also gets
    volume bounds ``[(1-margin) τ_B, (1+margin) τ_B]`` of its structures' sizes (004 Sec. 4.4).

    Parameters
    ----------
    cases
        Training volumes as whole slices (:class:`~napari_scribbleseg.data.dataset.PreparedCase`:
        ``targets`` (A, S, h, w) per annotator in the training encoding, ``dense`` (A,) flags).
    reference_masks
        Unpaired masks as (S, h, w) stacks at the training resolution.
    n_classes
        Classes, background included.
    user_bounds
        ``{class: (a, b)}`` typed by the user (:func:`parse_bounds`, :func:`resolve_bound_names`).
    margin
        Relative margin of common, individual and volume bounds (004: 0.1).
    common_bounds
        Derive rule 2's common bounds from the reference masks.
    absent_if_unscribbled
        Rule 3: an unscribbled structure on an annotated slice is absent there.
    """
    lo_f, hi_f = 1.0 - margin, 1.0 + margin
    refs = [np.asarray(m) for m in reference_masks]
    for pc in cases:
        refs += [pc.targets[a] for a in np.flatnonzero(pc.dense)]
    common: dict[int, tuple[float, float]] = {}
    if common_bounds and refs:
        counts = np.concatenate([class_counts(r, n_classes) for r in refs])
        for k in range(1, n_classes):
            sizes = counts[:, k][counts[:, k] > 0]
            if len(sizes):
                common[k] = (lo_f * float(sizes.min()), hi_f * float(sizes.max()))
    class_bounds: dict[int, tuple[float, float, str]] = {}
    for k in range(n_classes):
        if k in user_bounds:
            class_bounds[k] = (*user_bounds[k], "user")
        elif k in common:
            class_bounds[k] = (*common[k], "common")
        elif k > 0:
            class_bounds[k] = (1.0, np.inf, "tags")
    items, lowers, uppers, volumes = [], [], [], {}
    for ci, pc in enumerate(cases):
        t = pc.targets
        if t.shape[0] == 0:
            continue
        n_pix = float(t.shape[-1] * t.shape[-2])
        annotated = (t != IGNORE).reshape(t.shape[0], t.shape[1], -1).any(axis=(0, 2))
        scrib = t[~pc.dense]
        dense_rows = np.flatnonzero(pc.dense)
        dense_counts = class_counts(t[dense_rows[0]], n_classes) if len(dense_rows) else None
        if dense_counts is not None:
            tau = dense_counts.sum(axis=0).astype(float)
            volumes[ci] = (lo_f * tau, hi_f * tau)
            volumes[ci][0][0], volumes[ci][1][0] = 0.0, np.inf  # background unconstrained
        for s in np.flatnonzero(annotated):
            lower = np.zeros(n_classes)
            upper = np.full(n_classes, np.inf)
            has_dense = dense_counts is not None and bool((t[dense_rows[0], s] != IGNORE).any())
            present = [bool((scrib[:, s] == k).any()) for k in range(n_classes)]
            for k in range(n_classes):
                if has_dense and k > 0:
                    tau_k = float(dense_counts[s, k])
                    lower[k], upper[k] = lo_f * tau_k, hi_f * tau_k
                elif k not in class_bounds:
                    continue  # background without user bounds
                elif present[k] or k == 0:
                    lower[k], upper[k] = class_bounds[k][0], min(class_bounds[k][1], n_pix)
                elif absent_if_unscribbled:
                    lower[k], upper[k] = 0.0, 0.0
                else:
                    upper[k] = class_bounds[k][1]
            items.append((ci, int(s)))
            lowers.append(lower)
            uppers.append(upper)
    shape = (len(items), n_classes)
    return SizeBounds(
        items,
        np.asarray(lowers, np.float32).reshape(shape),
        np.asarray(uppers, np.float32).reshape(shape),
        volumes,
        class_bounds,
    )
