"""Layers that show what the model sees: prediction, attention and uncertainty layers of an image.

During training the trainer sends :class:`~napari_scribbleseg.engine.events.Preview` events (one slice);
:class:`PreviewLayers` writes them into the image's ``"<image> prediction"`` and
``"<image> attention 1/8"``... layers, making missing layers one per event-loop turn. After Predict it
replaces those layers' data with whole volumes (:meth:`PreviewLayers.show_result`). Main thread only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qtpy.QtCore import QTimer

from . import layers as L


def preview_request(viewer: Any, image: Any, names: Sequence[str]) -> tuple[int, int] | None:
    """(volume index in ``names``, file slice index) of the slice ``viewer`` shows of ``image``.

    ``None`` when ``image`` does not train in this run or the slice axis is not on the slider (rolled
    dims, 3D view).
    """
    if image is None or image.name not in names:
        return None
    try:
        geom = L.geometry_of(image)
        dims = viewer.dims
        if 0 not in dims.not_displayed:
            return None
        data_pos = np.asarray(image.world_to_data(dims.point), float)
        j = int(np.clip(round(data_pos[0]), 0, geom.napari_shape[0] - 1))
    except Exception:  # never let a slider move fail
        return None
    return list(names).index(image.name), geom.file_slice_index(j)


def expected_attention_keys(method: str, n_classes: int, width: int, depth: int) -> list[str]:
    """Names of the attention maps the previews of ``method`` will carry (``["scale 1/8", ...]``).

    Runs the method's segmentor once on a tiny blank slice (a few ms), so the widget can make the
    attention layers before training loads the CPU. Returns ``[]`` when the segmentor has no attention maps or
    cannot be built from the basic arguments; the layers are then made as previews arrive.
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


def attention_name(image: Any, key: str) -> str:
    """Name of ``image``'s attention layer for map ``key`` ("scale 1/8" -> "<image> attention 1/8")."""
    return f"{image.name}{L.ATTENTION_INFIX}{key.split()[-1]}"


class PreviewLayers:
    """Prediction, attention and uncertainty layers of the viewer's images (main thread).

    Parameters
    ----------
    viewer
        The napari viewer.
    """

    #: Milliseconds between making two missing layers: the event loop paints and handles input between.
    LAYER_INTERVAL_MS = 60

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.run_names: list[str] = []  # the training volumes of the current run, in trainer order
        self.run_classes: tuple[str, ...] = ()
        self._latest: dict[str, Any] = {}
        self._to_make: list[tuple[str, str, str]] = []
        self._making = False

    # -- training previews ---------------------------------------------------------------------------
    def begin_run(
        self, volume_names: Sequence[str], class_names: Sequence[str], attention: Sequence[str]
    ) -> None:
        """Start a run on ``volume_names``: queue the first volume's prediction and attention layers.

        Adding a napari layer costs ~100 ms of main-thread time on an idle CPU and twice that once
        training competes for it, so the previewed image's layers are made now, one per event-loop turn,
        while the worker loads the data, rather than when the first preview arrives. ``attention`` are
        the attention maps the previews will carry (``["scale 1/8", ...]``).
        """
        self.run_names = list(volume_names)
        self.run_classes = tuple(class_names)
        if not self.run_names or self.run_names[0] not in self.viewer.layers:
            return
        image = self.viewer.layers[self.run_names[0]]
        for kind, key in [("prediction", "")] + [("attention", k) for k in attention]:
            if self._existing(image, kind, key) is None:
                self._queue(image.name, kind, key)
        self._schedule()

    def show(self, ev: Any) -> None:
        """Write a preview slice into the prediction and attention layers of its image.

        Missing layers are made one per event-loop turn (:meth:`make_next_layer`): making a napari layer
        costs 100-400 ms of main-thread time (vispy shaders, layer controls), and making five at once
        would freeze the viewer for over a second.
        """
        if not 0 <= ev.volume < len(self.run_names):
            return
        name = self.run_names[ev.volume]
        if name not in self.viewer.layers:
            return
        image = self.viewer.layers[name]
        self._latest[name] = ev
        for kind, key in [("prediction", "")] + [("attention", key) for key in ev.attention]:
            layer = self._existing(image, kind, key)
            if layer is None:
                self._queue(name, kind, key)
            else:
                self._write(image, layer, ev, kind, key)
        self._schedule()

    def _queue(self, name: str, kind: str, key: str) -> None:
        if (name, kind, key) not in self._to_make:
            self._to_make.append((name, kind, key))

    def _schedule(self) -> None:
        if self._to_make and not self._making:
            self._making = True
            QTimer.singleShot(0, self.make_next_layer)

    def _existing(self, image: Any, kind: str, key: str) -> Any | None:
        shape = tuple(np.shape(image.data))
        if kind == "prediction":
            layer = L.prediction_layer_for(self.viewer.layers, image)
            ok = layer is not None and L.is_labels(layer) and tuple(np.shape(layer.data)) == shape
        else:
            name = attention_name(image, key)
            layer = self.viewer.layers[name] if name in self.viewer.layers else None
            ok = layer is not None and tuple(np.shape(layer.data)) == shape
        return layer if ok else None

    def _write(self, image: Any, layer: Any, ev: Any, kind: str, key: str) -> None:
        index = L.geometry_of(image).file_slice(ev.slice_index)
        if kind == "prediction":
            if L.class_names_of(layer) != tuple(self.run_classes):
                L.set_class_names(layer, "mask", self.run_classes)
            L.geometry_of(layer).from_napari(layer.data)[index] = ev.prediction
        else:
            L.geometry_of(layer).from_napari(layer.data)[index] = ev.attention[key]
        layer.refresh()

    def make_next_layer(self) -> None:
        """Make the next queued layer (and fill it from the latest preview); re-arms itself until done."""
        while self._to_make:
            name, kind, key = self._to_make.pop(0)
            if name not in self.viewer.layers:
                continue
            image = self.viewer.layers[name]
            if kind == "prediction":
                layer = self.prediction_layer(image, self.run_classes)
            else:
                layer = self.attention_layer(image, key)
            ev = self._latest.get(name)
            if ev is not None and (kind == "prediction" or key in ev.attention):
                self._write(image, layer, ev, kind, key)
            break
        if self._to_make:
            QTimer.singleShot(self.LAYER_INTERVAL_MS, self.make_next_layer)
        else:
            self._making = False

    # -- layers --------------------------------------------------------------------------------------
    def prediction_layer(self, image: Any, names: Sequence[str]) -> Any:
        """``image``'s prediction layer (mask encoding, classes ``names``), made or replaced if needed."""
        layer = L.prediction_layer_for(self.viewer.layers, image)
        if (
            layer is None
            or not L.is_labels(layer)
            or tuple(np.shape(layer.data)) != tuple(np.shape(image.data))
        ):
            if layer is not None:
                self.viewer.layers.remove(layer)
            layer = L.new_labels(
                self.viewer, image, f"{image.name}{L.PREDICTION_SUFFIX}", "mask", names, prediction=True
            )
            self.keep_scribbles_on_top(image)
        elif L.class_names_of(layer) != tuple(names):
            L.set_class_names(layer, "mask", names)
        return layer

    def attention_layer(self, image: Any, key: str) -> Any:
        """``image``'s attention layer for map ``key``, made if missing or of another shape.

        The first scale is shown; the others start hidden (additive maps would wash each other out, and
        hidden layers cost nothing when the slider moves). Attention layers sit below the image's labels
        layers, so predictions and scribbles stay readable.
        """
        name = attention_name(image, key)
        layers = self.viewer.layers
        if name in layers and tuple(np.shape(layers[name].data)) == tuple(np.shape(image.data)):
            return layers[name]
        if name in layers:
            layers.remove(name)
        first = not any(la.name.startswith(f"{image.name}{L.ATTENTION_INFIX}") for la in layers)
        layer = self.viewer.add_image(
            np.zeros(np.shape(image.data), np.float32),
            name=name,
            visible=first,
            metadata=L.make_meta("attention", L.geometry_of(image), None, image.name),
            colormap="inferno",
            blending="additive",
            opacity=0.6,
            contrast_limits=(0.0, 1.0),
            **L.placement_kwargs(image),
        )
        self.keep_scribbles_on_top(image)
        return layer

    def keep_scribbles_on_top(self, image: Any) -> None:
        """Move ``image``'s prediction and scribble layers to the top of the layer list."""
        layers = self.viewer.layers
        for name in (f"{image.name}{L.PREDICTION_SUFFIX}", f"{image.name}{L.SCRIBBLES_SUFFIX}"):
            if name in layers:
                layers.move(layers.index(name), len(layers))

    # -- whole-volume predictions --------------------------------------------------------------------
    def show_result(self, res: Any) -> None:
        """Show a :class:`~napari_scribbleseg.engine.session.PredictResult` on its image's layers."""
        if res.name not in self.viewer.layers:
            return
        image = self.viewer.layers[res.name]
        geom = L.geometry_of(image)
        pred = self.prediction_layer(image, res.class_names)
        pred.data = np.ascontiguousarray(geom.to_napari(res.mask))
        for key, amap in res.attention.items():
            att = self.attention_layer(image, key)
            att.data = np.ascontiguousarray(geom.to_napari(amap.astype(np.float32)))
        if res.uncertainty is None:
            return
        name = f"{image.name}{L.UNCERTAINTY_SUFFIX}"
        data = np.ascontiguousarray(geom.to_napari(res.uncertainty))
        if name in self.viewer.layers:
            self.viewer.layers[name].data = data
            return
        self.viewer.add_image(
            data,
            name=name,
            colormap="magma",
            blending="additive",
            opacity=0.7,
            contrast_limits=(0.0, float(np.log(max(len(res.class_names), 2)))),
            metadata=L.make_meta("uncertainty", geom, res.class_names, image.name),
            **L.placement_kwargs(image),
        )
