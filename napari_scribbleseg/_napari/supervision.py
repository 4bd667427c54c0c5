"""Which Labels layers train, and with which image: supervision is the user's choice, never a name's.

For each open image, training uses

- its **scribble layers**: Labels layers of kind ``"scribbles"`` linked to it (made with "New scribble
  layer" or "Another annotator", restored from an autosave, the sample data's scribbles, or a file that
  declares the scribble encoding in its class sidecar or path), and Labels layers the user made with
  napari and named ``"<image> scribbles"`` (``"... scribbles 2"``, ...), which carry no kind of the
  plugin's;
- its **dense mask**, if any: the Labels layer of kind ``"dense"`` linked to it, made with "New dense mask
  layer" or chosen with "Use as dense mask" (:func:`assign_dense_mask`).

A mask opened from a file (ground truth, an exported prediction; kind ``"mask"``) is never training data
because of its name: opening ``masks/case01.nii.gz`` gives a layer ``"case01 mask"`` that trains only once
the user assigns it. :func:`describe_training_sets` says which layers a run uses.

Only napari types are used here (no Qt).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import layers as L

if TYPE_CHECKING:
    from ..data.dataset import Case


class TrainingSet(NamedTuple):
    """One image that trains, with its annotation layers."""

    image: Any
    scribbles: list[Any]
    dense: Any | None


def training_sets(layers: Any, chosen: Any | None = None) -> list[TrainingSet]:
    """Every open image that has an annotation, with its non-empty scribble layers and dense mask.

    ``chosen`` (the image the panel shows) comes first: its slices are previewed.
    """
    images = L.image_layers(layers)
    if chosen is not None:
        images = [chosen] + [im for im in images if not L.same_layer(im, chosen)]
    sets = []
    for image in images:
        scribbles = [la for la in L.scribble_layers_for(layers, image) if np.any(np.asarray(la.data))]
        dense = L.dense_layer_for(layers, image)
        if dense is not None and not np.any(np.asarray(dense.data)):
            dense = None
        if scribbles or dense is not None:
            sets.append(TrainingSet(image, scribbles, dense))
    return sets


def training_cases(sets: Sequence[TrainingSet]) -> list[Case]:
    """Copies of the annotated images as training cases (raises ``ValueError`` when there are none)."""
    if not sets:
        raise ValueError(
            "no scribbles yet: press 'New scribble layer' and paint background and structures on a few "
            "slices (a mask opened from a file trains only after 'Use as dense mask')"
        )
    return [L.case_from_layers(s.image, s.scribbles, s.dense) for s in sets]


def unlabeled_cases(layers: Any, trained: set[str]) -> list[Case]:
    """Copies of the open images not in ``trained``, as cases without annotations."""
    return [L.case_from_layers(im, None) for im in L.image_layers(layers) if im.name not in trained]


def label_training_layers(sets: Sequence[TrainingSet], names: Sequence[str]) -> None:
    """Record ``names`` as the class names of every annotation layer in ``sets``."""
    for s in sets:
        for layer in s.scribbles:
            L.set_class_names(layer, "scribbles", names)
        if s.dense is not None:
            L.set_class_names(s.dense, "dense", names)


def assign_dense_mask(layers: Any, layer: Any, image: Any, class_names: Sequence[str]) -> None:
    """Make ``layer`` (mask encoding) the dense mask that trains with ``image``, by the user's choice.

    The layer gets kind ``"dense"``, the image's link and geometry (so that saving it writes it on the
    image's grid); a previous dense mask of the image goes back to a plain mask.

    Raises
    ------
    ValueError
        If ``layer`` is not a 3D Labels layer on ``image``'s grid, or is one of the image's scribbles.
    """
    if layer is None or not L.is_labels(layer):
        raise ValueError("select a 3D Labels layer (mask encoding: 0 = background, k = structure k)")
    L.check_same_grid(image, layer, "the mask")
    if any(L.same_layer(la, layer) for la in L.scribble_layers_for(layers, image)):
        raise ValueError(f"{layer.name!r} holds scribbles of {image.name!r}, not a dense mask")
    previous = L.dense_layer_for(layers, image)
    if previous is not None and not L.same_layer(previous, layer):
        previous.metadata = {**previous.metadata, L.META: {**L.info(previous), "kind": "mask"}}
    entry = {**L.info(layer), "kind": "dense", "image": image.name, "geometry": L.geometry_of(image)}
    layer.metadata = {**layer.metadata, L.META: entry}
    L.set_class_names(layer, "dense", class_names)


def describe_training_sets(sets: Sequence[TrainingSet], unlabeled: Sequence[str] = ()) -> str:
    """What a run trains on, layer by layer, for the status of the dock.

    Example: ``training on: case01 (scribbles: 'case01 scribbles'; dense: none)``.
    """

    def quoted(layers: Sequence[Any]) -> str:
        return ", ".join(repr(la.name) for la in layers) or "none"

    parts = [
        f"{s.image.name} (scribbles: {quoted(s.scribbles)}; "
        f"dense: {quoted([] if s.dense is None else [s.dense])})"
        for s in sets
    ]
    text = "training on: " + "; ".join(parts)
    if unlabeled:
        text += "; unlabeled: " + ", ".join(unlabeled)
    return text
