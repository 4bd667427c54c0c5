"""The recovery folder: autosaved annotation layers, one entry per image, until the user saves them.

Layout: ``<recovery dir>/<key>/index.json`` plus one NIfTI file per layer, written like the plugin's writer
(:func:`napari_scribbleseg.io.write_labels` on the image's grid and header, so a recovered file also opens
aligned in other tools). The key
identifies the image by its file (resolved path, size and modification time) or, for napari's sample data,
by the sample's name; an image edited on disk gets a new key, so old scribbles are never offered for it.

The folder is ``$SCRIBBLESEG_RECOVERY_DIR`` when set, else the user's cache folder
(``platformdirs.user_cache_path("napari-scribbleseg") / "recovery"``, i.e.
``~/.cache/napari-scribbleseg/recovery`` on Linux).

This module imports neither Qt nor napari; the widget's :mod:`.autosave` drives it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .geometry import LayerGeometry

log = logging.getLogger(__name__)

RECOVERY_ENV = "SCRIBBLESEG_RECOVERY_DIR"
INDEX = "index.json"

#: Serialises the read-modify-write of index files (the autosave thread and the writer hook).
_LOCK = threading.Lock()
#: ``(key, layer name) -> time.time()`` of the user's last save of that layer (newer autosaves only).
_SAVED_AT: dict[tuple[str, str], float] = {}


def recovery_dir() -> Path:
    """The folder of the autosaved layers (``$SCRIBBLESEG_RECOVERY_DIR`` or the user's cache folder)."""
    env = os.environ.get(RECOVERY_ENV)
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_cache_path

        return user_cache_path("napari-scribbleseg") / "recovery"
    except ImportError:  # pragma: no cover - platformdirs comes with napari
        return Path.home() / ".cache" / "napari-scribbleseg" / "recovery"


def image_source(layer: Any) -> str | None:
    """Where an image layer comes from: its file, ``"sample:<name>"``, or ``None`` (made in memory)."""
    meta = (getattr(layer, "metadata", None) or {}).get("scribbleseg") or {}
    if meta.get("source"):
        return str(meta["source"])
    if meta.get("sample"):
        return f"sample:{meta['sample']}"
    path = getattr(getattr(layer, "source", None), "path", None)
    return str(path) if path else None


def source_key(source: str | None) -> str | None:
    """The recovery key of an image source: a hash of its path, size and mtime (``None`` if unreadable)."""
    if not source:
        return None
    if source.startswith("sample:"):
        text = source
    else:
        try:
            p = Path(source).resolve()
            st = p.stat()
        except OSError:
            return None
        text = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class SavedLayer:
    """A snapshot of an annotation layer to autosave.

    Attributes
    ----------
    name
        The layer's name.
    kind
        ``"scribbles"`` or ``"dense"``.
    data
        A copy of the layer's data (napari order).
    geometry
        The image's grid.
    class_names
        Background first, if known.
    edited
        ``time.time()`` of the last edit the snapshot holds (a save by the user after it wins).
    """

    name: str
    kind: str
    data: np.ndarray
    geometry: LayerGeometry
    class_names: tuple[str, ...] | None
    edited: float


@dataclass(frozen=True)
class RecoveryEntry:
    """The autosaved layers of one image.

    Attributes
    ----------
    key, folder
        The entry's key and folder.
    source, image
        The image's source (file or sample) and layer name when it was saved.
    saved
        ``time.time()`` of the last autosave.
    layers
        One dict per layer: ``name``, ``kind``, ``file`` (in ``folder``), ``class_names``.
    """

    key: str
    folder: Path
    source: str
    image: str
    saved: float
    layers: tuple[dict[str, Any], ...]

    @property
    def when(self) -> str:
        """The time of the last autosave, for people (``"14:02, 9 May"``)."""
        return time.strftime("%H:%M, %d %b", time.localtime(self.saved)).replace(" 0", " ")


def _file_name(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "layer"
    return f"{slug}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}.nii.gz"


class RecoveryStore:
    """Read and write the recovery folder (``root`` defaults to :func:`recovery_dir`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else recovery_dir()

    def _read_index(self, key: str) -> dict[str, Any] | None:
        try:
            content = json.loads((self.root / key / INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return content if isinstance(content, dict) and isinstance(content.get("layers"), list) else None

    def entry(self, key: str | None) -> RecoveryEntry | None:
        """The entry of ``key``, if it holds any layer."""
        content = self._read_index(key) if key else None
        if not content or not content["layers"]:
            return None
        return RecoveryEntry(
            key,  # type: ignore[arg-type]
            self.root / key,  # type: ignore[operator]
            str(content.get("source", "")),
            str(content.get("image", "")),
            float(content.get("saved", 0.0)),
            tuple(dict(la) for la in content["layers"]),
        )

    def save(
        self, key: str, source: str, image: str, layers: Sequence[SavedLayer], keep: Sequence[str] = ()
    ) -> RecoveryEntry | None:
        """Write ``layers`` into ``key``'s entry, keep the entry's layers named in ``keep``, drop the rest.

        Runs in the autosave thread. A layer the user saved after its snapshot's last edit is skipped.
        Returns the entry, or ``None`` when nothing is left in it (the folder is then removed).
        """
        from ..io import atomic_write_json, write_labels

        folder = self.root / key
        written = []
        for layer in layers:
            if _SAVED_AT.get((key, layer.name), 0.0) >= layer.edited:
                continue
            file = _file_name(layer.name)
            folder.mkdir(parents=True, exist_ok=True)
            kind = "scribbles" if layer.kind == "scribbles" else "mask"
            # as the plugin's writer does: back to the file's axis order, on the image's affine and header
            labels = np.ascontiguousarray(layer.geometry.from_napari(layer.data))
            write_labels(folder / file, labels, layer.geometry.reference(), kind=kind)  # type: ignore[arg-type]
            names = list(layer.class_names) if layer.class_names else None
            written.append({"name": layer.name, "kind": layer.kind, "file": file, "class_names": names})
        with _LOCK:
            old = self._read_index(key) or {"layers": []}
            new_names = {la["name"] for la in written}
            kept = [la for la in old["layers"] if la.get("name") in keep and la.get("name") not in new_names]
            entries = kept + written
            if not entries:
                self._remove(key)
                return None
            content = {"source": source, "image": image, "saved": time.time(), "layers": entries}
            atomic_write_json(folder / INDEX, content)
            self._drop_unlisted(folder, {la["file"] for la in entries})
        return self.entry(key)

    def read(self, entry: RecoveryEntry, geometry: LayerGeometry) -> list[tuple[dict[str, Any], np.ndarray]]:
        """The entry's layers in napari order on ``geometry``'s grid (a layer that fails to read: skipped)."""
        from ..io import read_labels

        out = []
        for layer in entry.layers:
            try:
                vol = read_labels(entry.folder / layer["file"], kind="mask", reference=geometry.reference())
            except Exception as exc:
                log.warning("cannot recover %s: %s", layer.get("name"), exc)
                continue
            out.append((layer, np.ascontiguousarray(geometry.to_napari(vol.data))))
        return out

    def forget(self, key: str | None, name: str) -> None:
        """Drop layer ``name`` from ``key``'s entry (the user saved it); the entry goes when empty."""
        if not key:
            return
        with _LOCK:
            _SAVED_AT[(key, name)] = time.time()
            content = self._read_index(key)
            if content is None:
                return
            layers = [la for la in content["layers"] if la.get("name") != name]
            if len(layers) == len(content["layers"]):
                return
            if not layers:
                self._remove(key)
                return
            from ..io import atomic_write_json

            atomic_write_json(self.root / key / INDEX, {**content, "layers": layers})
            self._drop_unlisted(self.root / key, {la["file"] for la in layers})

    def discard(self, key: str | None) -> None:
        """Remove ``key``'s entry (the user declined to restore it)."""
        if key:
            with _LOCK:
                self._remove(key)

    def _remove(self, key: str) -> None:
        shutil.rmtree(self.root / key, ignore_errors=True)

    @staticmethod
    def _drop_unlisted(folder: Path, files: set[str]) -> None:
        for p in folder.glob("*.nii.gz"):
            if p.name not in files:
                p.unlink(missing_ok=True)


def forget_saved_layer(image: Any, name: str) -> None:
    """The user saved layer ``name`` of ``image``: its autosaved copy is no longer needed."""
    try:
        RecoveryStore().forget(source_key(image_source(image)), name)
    except OSError as exc:  # the save itself succeeded; a stale copy only means a needless offer later
        log.warning("cannot update the recovery folder: %s", exc)
