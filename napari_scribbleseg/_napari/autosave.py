"""Autosave of the annotation layers while the user paints, and the dock's offer to restore them.

napari keeps a Labels layer in memory only: a crash, or closing the viewer without saving, loses every
scribble. :class:`Autosaver` writes each image's annotation layers (its scribbles and dense mask, see
:mod:`.supervision`) to the recovery folder (:mod:`.recovery`) a few seconds after the last paint
stroke, in a background thread (the main thread only copies the arrays). :class:`RecoveryOffer` is the
bar in the dock that, when an image with autosaved layers is opened again, offers to restore them
(Restore) or to delete them (Discard). Saving a layer with napari's File > Save clears its copy.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from . import layers as L
from .recovery import RecoveryEntry, RecoveryStore, SavedLayer, image_source, source_key

log = logging.getLogger(__name__)

#: Seconds of quiet after a paint stroke before the annotation layers are autosaved.
AUTOSAVE_DELAY_S = 3.0


def annotation_layers(layers: Any, image: Any) -> list[tuple[Any, str]]:
    """``(layer, kind)`` of every annotation layer of ``image`` that autosave keeps."""
    out = [(la, "scribbles") for la in L.scribble_layers_for(layers, image)]
    dense = L.dense_layer_for(layers, image)
    return out + ([(dense, "dense")] if dense is not None else [])


class Autosaver(QObject):
    """Writes the edited annotation layers to the recovery folder, debounced, in a background thread.

    Parameters
    ----------
    viewer
        The napari viewer.
    class_names
        The dock's class names (for layers that carry none).
    store
        The recovery folder (default: :func:`~.recovery.recovery_dir`).
    parent
        Parent QObject.

    Attributes
    ----------
    paused
        Keys of images whose old entry awaits the user's answer: not written until then.
    """

    def __init__(
        self,
        viewer: Any,
        class_names: Callable[[], tuple[str, ...] | None],
        store: RecoveryStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewer, self.class_names = viewer, class_names
        self.store = store or RecoveryStore()
        self.paused: set[str] = set()
        # layer name -> time.time() of its last edit; names, not identities: a dock opened from the Plugins
        # menu sees napari's public-API proxies, a new wrapper at each access (layers.same_layer)
        self._edited: dict[str, float] = {}
        self._watched: list[Any] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scribbleseg-autosave")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(AUTOSAVE_DELAY_S * 1000))
        self._timer.timeout.connect(self.save_now)

    def watch(self, layer: Any) -> None:
        """Autosave ``layer`` when it is a Labels layer that gets painted or replaced."""
        if L.is_labels(layer) and not any(L.same_layer(la, layer) for la in self._watched):
            layer.events.paint.connect(self._on_edit)
            layer.events.data.connect(self._on_edit)
            self._watched.append(layer)

    def unwatch(self, layer: Any) -> None:
        """Stop watching ``layer`` (removed from the viewer)."""
        if any(L.same_layer(la, layer) for la in self._watched):
            self._disconnect(layer)
            self._watched = [la for la in self._watched if not L.same_layer(la, layer)]

    def _disconnect(self, layer: Any) -> None:
        for emitter in (layer.events.paint, layer.events.data):
            emitter.disconnect(self._on_edit)

    def _on_edit(self, event: Any) -> None:
        self._edited[event.source.name] = time.time()
        self._timer.start()  # restarted by every stroke: saves once painting pauses

    def save_now(self) -> Future | None:
        """Snapshot the edited annotation layers now and write them in the background; the last write."""
        self._timer.stop()
        future = None
        for image in L.image_layers(self.viewer.layers):
            source = image_source(image)
            key = source_key(source)
            if key is None or key in self.paused:
                continue
            layers = annotation_layers(self.viewer.layers, image)
            edited = [(la, kind) for la, kind in layers if la.name in self._edited]
            if not edited:
                continue
            geom = L.geometry_of(image)
            snapshots = [
                SavedLayer(
                    la.name,
                    kind,
                    np.array(la.data, copy=True),
                    geom,
                    L.class_names_of(la) or self.class_names(),
                    self._edited.pop(la.name),
                )
                for la, kind in edited
                if np.any(np.asarray(la.data))  # an erased layer leaves the entry
            ]
            keep = [la.name for la, _ in layers if all(not L.same_layer(la, e) for e, _ in edited)]
            future = self._executor.submit(self._write, key, str(source), image.name, snapshots, keep)
        return future

    def _write(self, key: str, source: str, image: str, snaps: Sequence[SavedLayer], keep: list[str]) -> None:
        try:
            self.store.save(key, source, image, snaps, keep)
        except Exception:  # autosave must never disturb painting; the log says why it failed
            log.exception("autosave of %s failed", image)

    def close(self) -> None:
        """Write what is pending now, wait for the writes, and stop watching the layers."""
        for layer in self._watched:
            self._disconnect(layer)
        self._watched.clear()
        self.save_now()
        self._executor.shutdown(wait=True)


class RecoveryOffer(QFrame):
    """A bar in the dock: "Restore 2 autosaved scribble layers of case01 from 14:02, 9 May?".

    Shown when an image whose annotation layers were autosaved (and not saved since) is open; it does not
    block anything. :meth:`restore` adds the layers back, :meth:`discard` deletes the copies.

    Parameters
    ----------
    viewer
        The napari viewer.
    autosaver
        The dock's autosaver (paused on an image until the user answers).
    parent
        Parent widget.
    """

    def __init__(self, viewer: Any, autosaver: Autosaver, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer, self.autosaver = viewer, autosaver
        self.offers: dict[str, tuple[Any, RecoveryEntry]] = {}  # image name -> (image layer, entry)
        self._seen: weakref.WeakSet[Any] = weakref.WeakSet()  # images already checked
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        self.restore_btn = QPushButton("Restore")
        self.discard_btn = QPushButton("Discard")
        self.discard_btn.setToolTip("Delete the autosaved copies")
        row.addWidget(self.restore_btn)
        row.addWidget(self.discard_btn)
        layout.addLayout(row)
        self.restore_btn.clicked.connect(lambda _=False: self.restore())
        self.discard_btn.clicked.connect(lambda _=False: self.discard())
        self.setVisible(False)

    def check(self, layer: Any) -> None:
        """Offer the autosaved layers of ``layer`` if it is an image just opened that has some."""
        if not L.is_image(layer) or layer in self._seen:
            return
        self._seen.add(layer)
        key = source_key(image_source(layer))
        entry = self.autosaver.store.entry(key)
        if key is None or entry is None:
            return
        self.autosaver.paused.add(key)
        self.offers[layer.name] = (layer, entry)
        self._update()

    def drop(self, layer: Any) -> None:
        """Withdraw the offer for image ``layer`` (removed from the viewer); its copies stay on disk."""
        for name, (image, entry) in list(self.offers.items()):
            if L.same_layer(image, layer):
                del self.offers[name]
                self.autosaver.paused.discard(entry.key)
        self._update()

    def _update(self) -> None:
        if not self.offers:
            self.setVisible(False)
            return
        name, (_, entry) = next(iter(self.offers.items()))
        n = len(entry.layers)
        what = "scribble" if all(la.get("kind") == "scribbles" for la in entry.layers) else "annotation"
        plural = "s" if n > 1 else ""
        self.label.setText(f"Restore {n} autosaved {what} layer{plural} of {name} from {entry.when}?")
        self.label.setToolTip("\n".join(la["name"] for la in entry.layers) + f"\nin {entry.folder}")
        self.setVisible(True)

    def _take(self, image_name: str | None) -> tuple[Any, RecoveryEntry] | None:
        name = image_name if image_name is not None else next(iter(self.offers), None)
        if name is None or name not in self.offers:
            return None
        image, entry = self.offers.pop(name)
        self.autosaver.paused.discard(entry.key)
        self._update()
        return image, entry

    def restore(self, image_name: str | None = None) -> list[Any]:
        """Add the autosaved layers of ``image_name`` (default: the one offered) on its grid."""
        taken = self._take(image_name)
        if taken is None:
            return []
        image, entry = taken
        out = []
        for meta, data in self.autosaver.store.read(entry, L.geometry_of(image)):
            names = tuple(meta.get("class_names") or ()) or self.autosaver.class_names() or ("background",)
            layer = L.new_labels(self.viewer, image, meta["name"], meta["kind"], names, dtype=data.dtype)
            layer.data = data
            out.append(layer)
        return out

    def discard(self, image_name: str | None = None) -> None:
        """Delete the autosaved layers of ``image_name`` (default: the one offered)."""
        taken = self._take(image_name)
        if taken is not None:
            self.autosaver.store.discard(taken[1].key)
