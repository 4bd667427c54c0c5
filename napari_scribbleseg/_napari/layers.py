"""Layer conventions of the plugin: metadata, names, colours, and layers <-> engine data.

Each layer the plugin makes carries ``layer.metadata["scribbleseg"]``, a dict with

``kind``
    ``"image"``, ``"scribbles"`` (scribble encoding), ``"mask"`` (mask encoding: a prediction, a ground truth
    or an unpaired mask), ``"dense"`` (mask encoding: a dense mask of the image that trains with it, mixed
    supervision), ``"attention"`` or ``"uncertainty"``.
``geometry``
    The :class:`~.geometry.LayerGeometry` shared with the image (all layers of an image overlay exactly).
``class_names``
    Background first, when known.
``image``
    For layers that belong to an image: the image layer's name.
``prediction``
    ``True`` on the prediction layers the widget makes (kind ``"mask"``).

Names follow one convention, so that a user can also make or rename layers by hand: the scribbles of
image ``case01`` are ``"case01 scribbles"``, its prediction ``"case01 prediction"``, its attention maps
``"case01 attention 1/8"``..., its uncertainty ``"case01 uncertainty"``. A name alone never makes a layer
that has another kind (e.g. a ground-truth mask opened from a file, kind ``"mask"``) into scribbles, a
dense mask or a prediction; a dense mask is only ever a layer of kind ``"dense"`` (see
:mod:`.supervision`).

Only :mod:`napari` types are used here (no Qt); napari is imported lazily where a layer object is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .colors import mask_color_dict, scribble_color_dict
from .geometry import LayerGeometry

if TYPE_CHECKING:
    import napari

    from ..data.dataset import Case

META = "scribbleseg"
SCRIBBLES_SUFFIX = " scribbles"
DENSE_SUFFIX = " mask"
PREDICTION_SUFFIX = " prediction"
UNCERTAINTY_SUFFIX = " uncertainty"
ATTENTION_INFIX = " attention "

LayerData = tuple[Any, dict[str, Any], str]


# --------------------------------------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------------------------------------


def info(layer: Any) -> dict[str, Any]:
    """The plugin's metadata of ``layer`` (empty dict for foreign layers)."""
    meta = getattr(layer, "metadata", None) or {}
    value = meta.get(META)
    return value if isinstance(value, dict) else {}


def make_meta(
    kind: str,
    geometry: LayerGeometry,
    class_names: Sequence[str] | None = None,
    image: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``metadata`` dict for a new layer."""
    entry: dict[str, Any] = {"kind": kind, "geometry": geometry, "image": image}
    if class_names is not None:
        entry["class_names"] = tuple(class_names)
    entry.update(extra)
    return {META: entry}


def data_to_world_matrix(layer: Any) -> np.ndarray:
    """The layer's 4x4 data-to-world matrix: ``affine @ (translate, rotate, shear, scale)``."""
    from napari.utils.transforms import Affine

    inner = Affine(scale=layer.scale, translate=layer.translate, rotate=layer.rotate, shear=layer.shear)
    return np.asarray(layer.affine.affine_matrix, float) @ np.asarray(inner.affine_matrix, float)


def geometry_of(layer: Any) -> LayerGeometry:
    """The layer's geometry: the plugin's own, or one derived from the layer's transform.

    Raises
    ------
    ValueError
        If the layer is not 3D.
    """
    geom = info(layer).get("geometry")
    if isinstance(geom, LayerGeometry) and tuple(np.shape(layer.data)) == geom.napari_shape:
        return geom
    shape = tuple(np.shape(layer.data))
    if len(shape) != 3:
        raise ValueError(f"layer {layer.name!r} is {len(shape)}D; a 3D volume is needed")
    return LayerGeometry.from_layer_transform(shape, data_to_world_matrix(layer))


def placement_kwargs(image_layer: Any) -> dict[str, Any]:
    """Keyword arguments that put a new layer exactly on ``image_layer``'s grid."""
    geom = info(image_layer).get("geometry")
    if isinstance(geom, LayerGeometry) and tuple(np.shape(image_layer.data)) == geom.napari_shape:
        return geom.layer_kwargs()
    return {
        "scale": tuple(image_layer.scale),
        "translate": tuple(image_layer.translate),
        "rotate": np.asarray(image_layer.rotate),
        "shear": np.asarray(image_layer.shear),
        "affine": np.asarray(image_layer.affine.affine_matrix),
    }


# --------------------------------------------------------------------------------------------------------
# colours
# --------------------------------------------------------------------------------------------------------


def label_colormap(kind: str, n_classes: int) -> Any:
    """A napari ``DirectLabelColormap`` for scribbles or masks of ``n_classes`` classes."""
    from napari.utils.colormaps import DirectLabelColormap

    colors = scribble_color_dict(n_classes) if kind == "scribbles" else mask_color_dict(n_classes)
    return DirectLabelColormap(color_dict=colors)


# --------------------------------------------------------------------------------------------------------
# layer data tuples (reader, sample data) and layers (widget)
# --------------------------------------------------------------------------------------------------------


def image_layer_data(
    data: np.ndarray,
    geometry: LayerGeometry,
    name: str,
    *,
    class_names: Sequence[str] | None = None,
    **extra: Any,
) -> LayerData:
    """An Image layer tuple for a file-order volume."""
    view = geometry.to_napari(data)
    lo, hi = np.percentile(np.asarray(data, np.float32)[:: max(1, data.shape[0] // 64)], [0.5, 99.5])
    kwargs = {
        "name": name,
        "metadata": make_meta("image", geometry, class_names, **extra),
        "contrast_limits": (float(lo), float(hi) if hi > lo else float(lo) + 1.0),
        "colormap": "gray",
        **geometry.layer_kwargs(),
    }
    return view, kwargs, "image"


def labels_layer_data(
    data: np.ndarray,
    geometry: LayerGeometry,
    name: str,
    *,
    kind: str,
    class_names: Sequence[str] | None,
    image: str | None = None,
) -> LayerData:
    """A Labels layer tuple (``kind`` ``"scribbles"`` or ``"mask"``) for a file-order label volume."""
    view = geometry.to_napari(data)
    n = len(class_names) if class_names else max(int(np.max(data)) + (0 if kind == "scribbles" else 1), 2)
    kwargs: dict[str, Any] = {
        "name": name,
        "metadata": make_meta(kind, geometry, class_names, image),
        "colormap": label_colormap(kind, n),
        "opacity": 0.8 if kind == "scribbles" else 0.45,
        **geometry.layer_kwargs(),
    }
    return view, kwargs, "labels"


def is_image(layer: Any) -> bool:
    """A 3D Image layer that is an intensity volume (not one of the plugin's derived maps)."""
    from napari.layers import Image

    return (
        isinstance(layer, Image)
        and np.ndim(layer.data) == 3
        and not getattr(layer, "rgb", False)
        and info(layer).get("kind", "image") == "image"
    )


def is_labels(layer: Any) -> bool:
    """A 3D Labels layer."""
    from napari.layers import Labels

    return isinstance(layer, Labels) and np.ndim(layer.data) == 3


def image_layers(layers: Iterable[Any]) -> list[Any]:
    """The intensity volumes among ``layers``."""
    return [la for la in layers if is_image(la)]


def _named_as(layers: Any, name: str, kind: str) -> Any | None:
    """The layer called ``name`` when it is a 3D Labels layer of ``kind`` or of no kind of the plugin's."""
    if name not in layers:
        return None
    layer = layers[name]
    return layer if is_labels(layer) and info(layer).get("kind") in (None, kind) else None


def _linked(layers: Any, image: Any, kind: str, **flags: Any) -> Any | None:
    """The first 3D Labels layer whose metadata says ``kind``, belongs to ``image`` and has ``flags``."""
    for la in layers:
        meta = info(la)
        if (
            is_labels(la)
            and meta.get("kind") == kind
            and meta.get("image") == image.name
            and all(meta.get(k) == v for k, v in flags.items())
        ):
            return la
    return None


def prediction_layer_for(layers: Any, image: Any) -> Any | None:
    """The prediction layer of ``image``: ``"<image> prediction"``, or one the widget made for it."""
    layer = _named_as(layers, f"{image.name}{PREDICTION_SUFFIX}", "mask")
    return layer if layer is not None else _linked(layers, image, "mask", prediction=True)


def scribble_layer_for(layers: Any, image: Any) -> Any | None:
    """The main scribble layer of ``image`` (``"<image> scribbles"`` or linked by metadata), if any."""
    layer = _named_as(layers, f"{image.name}{SCRIBBLES_SUFFIX}", "scribbles")
    return layer if layer is not None else _linked(layers, image, "scribbles")


def same_layer(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same layer of the viewer.

    Compared by name (unique in a viewer), not identity: a dock opened from napari's Plugins menu sees the
    layers through napari's public-API proxies, a new wrapper at each access.
    """
    return a is b or (a is not None and b is not None and a.name == b.name)


def scribble_layers_for(layers: Any, image: Any) -> list[Any]:
    """Every scribble layer of ``image``, one per annotator.

    ``"<image> scribbles"`` first, then ``"<image> scribbles 2"``, ``"... 3"``... (Labels layers of no
    other kind) and the Labels layers of kind ``"scribbles"`` linked to it by metadata.
    """
    main = scribble_layer_for(layers, image)
    out = [main] if main is not None else []
    prefix = f"{image.name}{SCRIBBLES_SUFFIX} "
    for la in layers:
        if same_layer(la, main) or not is_labels(la):
            continue
        meta = info(la)
        numbered = la.name.startswith(prefix) and la.name[len(prefix) :].isdigit()
        if (numbered and meta.get("kind") in (None, "scribbles")) or (
            meta.get("kind") == "scribbles" and meta.get("image") == image.name
        ):
            out.append(la)
    return out


def next_scribble_layer_name(layers: Any, image: Any) -> str:
    """Name of the next annotator's scribble layer of ``image``."""
    base = f"{image.name}{SCRIBBLES_SUFFIX}"
    if base not in layers:
        return base
    n = 2
    while f"{base} {n}" in layers:
        n += 1
    return f"{base} {n}"


def dense_layer_for(layers: Any, image: Any) -> Any | None:
    """The dense-mask layer of ``image``: a Labels layer of kind ``"dense"`` linked to it, if any.

    Only the widget makes that kind ("New dense mask layer", "Use as dense mask"): a mask opened from a
    file, even one named ``"<image> mask"``, is not a dense mask until the user says so.
    """
    return _linked(layers, image, "dense")


def class_names_of(layer: Any) -> tuple[str, ...] | None:
    """Class names stored with a layer, if any."""
    names = info(layer).get("class_names")
    return tuple(names) if names else None


def check_same_grid(image: Any, other: Any, what: str) -> None:
    """Raise ``ValueError`` if ``other`` is not on ``image``'s grid (shape in napari order)."""
    if tuple(np.shape(other.data)) != tuple(np.shape(image.data)):
        raise ValueError(
            f"{what} {other.name!r} has shape {tuple(np.shape(other.data))} but the image {image.name!r} has "
            f"{tuple(np.shape(image.data))}; they must be on the same voxel grid"
        )


def new_labels(
    viewer: napari.Viewer,
    image: Any,
    name: str,
    kind: str,
    class_names: Sequence[str],
    dtype: Any = np.uint8,
    **extra: Any,
) -> Any:
    """Add an empty Labels layer on ``image``'s grid (same shape and placement), ``extra`` in its metadata."""
    geom = geometry_of(image)
    layer = viewer.add_labels(
        np.zeros(np.shape(image.data), dtype=dtype),
        name=name,
        metadata=make_meta(kind, geom, class_names, image.name, **extra),
        colormap=label_colormap(kind, len(class_names)),
        opacity=0.8 if kind == "scribbles" else 0.45,
        **placement_kwargs(image),
    )
    return layer


def set_class_names(layer: Any, kind: str, class_names: Sequence[str]) -> None:
    """Store ``class_names`` on a Labels layer and recolour it."""
    entry = dict(info(layer))
    entry["class_names"] = tuple(class_names)
    entry.setdefault("kind", kind)
    layer.metadata = {**layer.metadata, META: entry}
    layer.colormap = label_colormap(kind, len(class_names))


# --------------------------------------------------------------------------------------------------------
# layers -> engine cases (copies: the user keeps painting while a worker trains)
# --------------------------------------------------------------------------------------------------------


def image_array(image: Any) -> tuple[np.ndarray, LayerGeometry]:
    """A file-order float32 **copy** of an image layer and its geometry."""
    geom = geometry_of(image)
    arr = np.array(geom.from_napari(np.asarray(image.data)), dtype=np.float32, copy=True)
    return arr, geom


def case_from_layers(image: Any, scribbles: Any | Sequence[Any] | None, dense: Any | None = None) -> Case:
    """A :class:`~napari_scribbleseg.data.dataset.Case` from an image and its annotation layers.

    ``scribbles`` is one scribble layer or a list (one per annotator); ``dense`` an optional dense-mask
    layer (mask encoding) for mixed supervision. Arrays are copied, in file order, with the file's
    spacing, so that training sees a snapshot while the user keeps painting.
    """
    from ..data.dataset import Case

    arr, geom = image_array(image)
    if scribbles is None:
        layers = []
    elif isinstance(scribbles, (list, tuple)):
        layers = list(scribbles)
    else:
        layers = [scribbles]
    scribble_list = []
    for layer in layers:
        check_same_grid(image, layer, "scribble layer")
        s = np.array(geom.from_napari(np.asarray(layer.data)), copy=True)
        if s.dtype.kind not in "ui":
            s = s.astype(np.int64)
        if s.min(initial=0) < 0:
            raise ValueError(f"scribble layer {layer.name!r} holds negative values")
        scribble_list.append(s.astype(np.uint16 if int(s.max(initial=0)) > 255 else np.uint8))
    mask = None
    if dense is not None:
        check_same_grid(image, dense, "dense mask layer")
        mask = np.array(geom.from_napari(np.asarray(dense.data)), copy=True)
        if mask.dtype.kind not in "ui" or mask.min(initial=0) < 0:
            raise ValueError(f"dense mask layer {dense.name!r} must hold non-negative integer labels")
        mask = mask.astype(np.int64)
    return Case(arr, geom.spacing, scribble_list, mask, image.name)


def mask_case_from_layer(layer: Any) -> Case:
    """An unpaired-mask case from a Labels layer in mask encoding (file order, copied)."""
    from ..data.dataset import Case

    geom = geometry_of(layer)
    mask = np.array(geom.from_napari(np.asarray(layer.data)), copy=True)
    if mask.dtype.kind not in "ui" or int(mask.max(initial=0)) > 255:
        mask = mask.astype(np.int64)
    return Case(np.zeros(mask.shape, np.float32), geom.spacing, [], mask, layer.name)
