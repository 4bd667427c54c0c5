"""From class probabilities to the mask a user gets: the one post-processing step.

:func:`probabilities_to_mask` is used by the :class:`~.predictor.Predictor` (CLI ``predict`` and the napari
widget's Predict), the trainer's validation Dice and its previews, so all of them show the same mask for
the same probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = [
    "KeepLargest",
    "convex_classes",
    "entropy",
    "fill_convex",
    "keep_largest_component",
    "probabilities_to_mask",
]


@dataclass(frozen=True)
class KeepLargest:
    """Which connected-component clean-up a mask gets, as decided on validation volumes.

    ``foreground``: keep the largest 3D component of all structures together (blobs away from the organ
    go); ``classes``: then, for each of these structures, keep only its own largest component. A training
    run chooses both the way nnU-Net does (Isensee et al. 2021, "post-processing"): each is kept only where
    it does not lower the validation score (:func:`~napari_scribbleseg.engine.validation.
    decide_keep_largest`), so two kidneys of one class or a spleen beside the liver survive.
    """

    foreground: bool = False
    classes: tuple[int, ...] = ()

    def apply(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` with the clean-up applied (removed voxels become background)."""
        if self.foreground:
            mask = keep_largest_component(mask)
        for k in self.classes:
            mask = keep_largest_component(mask, structure=k)
        return mask

    def to_meta(self) -> dict[str, Any]:
        """The JSON form stored in a model's ``meta.json``."""
        return {"foreground": self.foreground, "classes": list(self.classes)}

    @classmethod
    def from_meta(cls, entry: Any, n_classes: int) -> KeepLargest:
        """Read :meth:`to_meta`'s form; values outside ``1..n_classes-1`` are dropped."""
        if not isinstance(entry, dict):
            return cls()
        classes = entry.get("classes") if isinstance(entry.get("classes"), list) else []
        keep = tuple(int(k) for k in classes if isinstance(k, int) and 0 < k < n_classes)
        return cls(bool(entry.get("foreground", False)), keep)


def probabilities_to_mask(
    probs: np.ndarray,
    keep_largest: bool | KeepLargest,
    convex: Sequence[int] = (),
    slice_axis: int = 0,
    locked: np.ndarray | None = None,
) -> np.ndarray:
    """The mask (mask encoding, uint8) of class probabilities.

    Parameters
    ----------
    probs
        Class probabilities (C, ...), background first.
    keep_largest
        A :class:`KeepLargest` rule (what a trained model decided), or ``True`` for the largest connected
        component of all structures together (:func:`keep_largest_component`), ``False`` for none.
    convex, slice_axis, locked
        Structures filled to their convex hull in every slice along ``slice_axis`` (of the mask), after
        the component clean-up; ``locked`` voxels (the user's scribbles) keep their label
        (:func:`fill_convex`).

    Returns
    -------
    numpy.ndarray
        ``probs.argmax(0)`` as uint8 (``0`` = background, ``k`` = structure ``k``), post-processed.
    """
    mask = np.asarray(probs).argmax(0).astype(np.uint8)
    if isinstance(keep_largest, KeepLargest):
        mask = keep_largest.apply(mask)
    elif keep_largest:
        mask = keep_largest_component(mask)
    if convex:
        mask = fill_convex(mask, convex, slice_axis, locked)
    return mask


def convex_classes(names: str, class_names: Sequence[str]) -> tuple[int, ...]:
    """Class indices of the comma-separated structure ``names`` (``PreprocessConfig.convex``).

    Raises
    ------
    ConfigError
        A name that is not one of ``class_names``' structures (the background cannot be convex).
    """
    out = []
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        if name not in class_names[1:]:
            raise ConfigError(
                f"convex: {name!r} is not a structure (structures: {', '.join(class_names[1:])})"
            )
        out.append(list(class_names).index(name))
    return tuple(dict.fromkeys(out))


def fill_convex(
    mask: np.ndarray, classes: Sequence[int], axis: int, locked: np.ndarray | None = None
) -> np.ndarray:
    """Each of ``classes`` filled to the convex hull of its largest piece, slice by slice along ``axis``.

    For structures the user declares convex in cross-section, such as a heart cavity contoured with its
    papillary muscles and trabeculations, as in ACDC (Bernard et al. 2018) and most cine-MRI conventions:
    the scribbles and the image edges alone put those dark muscles into the myocardium. Voxels inside the
    hull take the structure whatever they were, except ``locked`` ones (what the user annotated). Other
    pieces of the structure in the slice stay as they are. A 2D ``mask`` is one slice (``axis`` ignored).

    Parameters
    ----------
    mask
        Labels (class indices), 2D or 3D; ``IGNORE`` voxels count as no structure (inside a hull they
        take it, elsewhere they stay).
    classes
        Structures to fill, in order (a later one wins where hulls overlap).
    axis
        The slice axis of a 3D ``mask``.
    locked
        Boolean, shaped like ``mask``: voxels never changed.
    """
    from scipy import ndimage
    from skimage.morphology import convex_hull_image

    out = np.array(mask, copy=True)
    if not classes:
        return out
    view = out[None] if out.ndim == 2 else np.moveaxis(out, axis, 0)
    keep = None if locked is None else (locked[None] if out.ndim == 2 else np.moveaxis(locked, axis, 0))
    for k in classes:
        for z in range(view.shape[0]):
            piece = view[z] == k
            if piece.sum() < 3:
                continue
            lab, n = ndimage.label(piece)
            if n > 1:
                piece = lab == int(np.bincount(lab.ravel())[1:].argmax()) + 1
            hull = convex_hull_image(piece)
            if keep is not None:
                hull &= ~keep[z]
            view[z][hull] = k
    return out


def keep_largest_component(mask: np.ndarray, structure: int | None = None) -> np.ndarray:
    """Keep the largest connected component (full connectivity); the rest becomes background.

    Organs are one connected object: blobs far from it are false positives (nnU-Net applies the same
    post-processing when it helps on validation). Without ``structure`` the component is taken over all
    structures together (26-connectivity in 3D), and structures stay as predicted inside it; with it,
    only that structure's smaller components go.
    """
    from scipy import ndimage

    fg = mask > 0 if structure is None else mask == structure
    if not fg.any():
        return mask
    lab, n = ndimage.label(fg, structure=np.ones((3,) * mask.ndim, bool))
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    out = mask.copy()
    out[fg & (lab != int(sizes.argmax()))] = 0
    return out


def entropy(probs: np.ndarray) -> np.ndarray:
    """Per-voxel entropy (nats) of class probabilities (C, ...), an uncertainty map (float32)."""
    p = np.clip(probs, 1e-8, 1.0)
    return -(p * np.log(p)).sum(axis=0).astype(np.float32)
