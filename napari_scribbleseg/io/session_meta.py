"""The schema of a session folder's ``session.json``, checked before anything is built from it.

A session folder may come from a colleague or a disk that failed: every field is checked (types, bounds,
paths that stay inside the folder) so a crafted or damaged file ends in one
:class:`~napari_scribbleseg.errors.DataError` that names the file and the field. The folder's layout and the
meaning of the fields are in :mod:`.session_folder`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PreprocessConfig, TrainConfig, from_dict
from ..errors import ConfigError, DataError
from .model_meta import _is_int, check_format_header

FORMAT = "napari-scribbleseg-session"
FORMAT_VERSION = 1
SESSION_FILE = "session.json"
ANNOTATIONS = "annotations"
IMAGES = "images"
MODEL = "model"
LAYER_KINDS = ("scribbles", "dense", "unpaired")
STOP_UNITS = ("seconds", "epochs", "steps")
UNPAIRED_KINDS = ("layer", "folder", "sample")


@dataclass(frozen=True)
class ImageRef:
    """An image of the session: where it is, its checksum and its grid (see the module docs)."""

    name: str
    path: str
    sha256: str
    shape: tuple[int, int, int]
    affine: tuple[tuple[float, ...], ...]
    copied: bool = False
    relative: str | None = None
    frame: int | None = None
    series: str | None = None
    sample: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry of ``session.json``."""
        geometry = {"shape": list(self.shape), "affine": [list(r) for r in self.affine]}
        geometry.update(frame=self.frame, series=self.series)
        return {
            "name": self.name,
            "path": self.path,
            "relative": self.relative,
            "sha256": self.sha256,
            "copied": self.copied,
            "geometry": geometry,
            "sample": self.sample,
        }


@dataclass(frozen=True)
class LayerRef:
    """An annotation layer of the session: its name, kind, image (``None`` for unpaired) and file."""

    name: str
    kind: str
    image: str | None
    file: str

    def to_json(self) -> dict[str, Any]:
        """The entry of ``session.json``."""
        return {"name": self.name, "kind": self.kind, "image": self.image, "file": self.file}


@dataclass
class SessionSpec:
    """The content of a session folder's ``session.json`` (paths of ``layers`` relative to ``folder``)."""

    folder: Path
    classes: tuple[str, ...]
    colours: tuple[str, ...]
    images: list[ImageRef]
    layers: list[LayerRef] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    unpaired: dict[str, Any] | None = None
    chosen_image: str | None = None
    model: str | None = None

    def to_json(self, package_version: str = "") -> dict[str, Any]:
        """``session.json`` as a dict."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": package_version,
            "classes": list(self.classes),
            "colours": list(self.colours),
            "chosen_image": self.chosen_image,
            "images": [im.to_json() for im in self.images],
            "layers": [la.to_json() for la in self.layers],
            "unpaired": self.unpaired,
            "settings": self.settings,
            "model": self.model,
        }

    def path_of(self, relative: str) -> Path:
        """A path inside the session folder."""
        return self.folder / relative

    @property
    def model_dir(self) -> Path | None:
        """The model folder, when the session holds one."""
        return None if self.model is None else self.folder / self.model


# -- checks ---------------------------------------------------------------------------------------
def _inside(folder: Path, relative: Any) -> bool:
    """Whether ``relative`` is a relative path that stays inside ``folder``."""
    if not isinstance(relative, str) or not relative or Path(relative).is_absolute() or "\\" in relative:
        return False
    return ".." not in Path(relative).parts


def _check_image(bad: Any, i: int, entry: Any, folder: Path) -> ImageRef:
    where = f"images[{i}]"
    if not isinstance(entry, dict):
        raise bad(where, "must be a JSON object")
    name, path, sha, copied = entry.get("name"), entry.get("path"), entry.get("sha256"), entry.get("copied")
    if not isinstance(name, str) or not name:
        raise bad(f"{where}.name", "must be a non-empty name")
    if not isinstance(copied, bool):
        raise bad(f"{where}.copied", "must be true or false")
    if not isinstance(path, str) or not path or (copied and not _inside(folder, path)):
        raise bad(f"{where}.path", "must be a path (inside the session folder for a copied image)")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise bad(f"{where}.sha256", "must be 64 hexadecimal digits")
    geom = entry.get("geometry")
    if not isinstance(geom, dict):
        raise bad(f"{where}.geometry", "must be a JSON object")
    shape, affine = geom.get("shape"), geom.get("affine")
    if not isinstance(shape, list) or len(shape) != 3 or not all(_is_int(n) and n > 0 for n in shape):
        raise bad(f"{where}.geometry.shape", "must be three positive whole numbers")
    if (
        not isinstance(affine, list)
        or len(affine) != 4
        or not all(isinstance(r, list) and len(r) == 4 for r in affine)
        or not all(isinstance(v, (int, float)) and math.isfinite(v) for r in affine for v in r)
    ):
        raise bad(f"{where}.geometry.affine", "must be a 4x4 matrix of finite numbers")
    frame, series = geom.get("frame"), geom.get("series")
    if frame is not None and not (_is_int(frame) and frame >= 0):
        raise bad(f"{where}.geometry.frame", "must be null or a whole number of 0 or more")
    for key, value in (("geometry.series", series), ("relative", entry.get("relative"))):
        if value is not None and not isinstance(value, str):
            raise bad(f"{where}.{key}", "must be null or a string")
    sample = entry.get("sample")
    if sample is not None and not isinstance(sample, str):
        raise bad(f"{where}.sample", "must be null or a name")
    return ImageRef(
        name,
        path,
        sha,
        (shape[0], shape[1], shape[2]),
        tuple(tuple(float(v) for v in r) for r in affine),
        copied,
        entry.get("relative"),
        frame,
        series,
        sample,
    )


def _check_layer(bad: Any, i: int, entry: Any, folder: Path, images: set[str]) -> LayerRef:
    where = f"layers[{i}]"
    if not isinstance(entry, dict):
        raise bad(where, "must be a JSON object")
    name, kind, image, file = (entry.get(k) for k in ("name", "kind", "image", "file"))
    if not isinstance(name, str) or not name:
        raise bad(f"{where}.name", "must be a non-empty name")
    if kind not in LAYER_KINDS:
        raise bad(f"{where}.kind", f"must be one of {', '.join(LAYER_KINDS)}, got {kind!r}")
    if kind != "unpaired" and image not in images:
        raise bad(f"{where}.image", f"must name one of the session's images, got {image!r}")
    if not _inside(folder, file) or not str(file).endswith(".nii.gz"):
        raise bad(f"{where}.file", f"must be a .nii.gz file inside the session folder, got {file!r}")
    return LayerRef(name, kind, image if kind != "unpaired" else None, file)


def _check_settings(bad: Any, settings: Any) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise bad("settings", "must be a JSON object")
    for key, cls in (("train_config", TrainConfig), ("preprocess", PreprocessConfig)):
        section = settings.get(key, {})
        if not isinstance(section, dict):
            raise bad(f"settings.{key}", "must be a JSON object")
        try:
            from_dict(cls, section, strict=False)
        except (ConfigError, TypeError, ValueError) as exc:
            raise bad(f"settings.{key}", f"is invalid: {exc}") from None
    if not isinstance(settings.get("method_options", {}), dict):
        raise bad("settings.method_options", "must be a JSON object")
    stop = settings.get("stop")
    if stop is not None and (
        not isinstance(stop, dict)
        or stop.get("unit") not in STOP_UNITS
        or not isinstance(stop.get("value"), (int, float))
        or not stop["value"] > 0
    ):
        raise bad("settings.stop", f"must be {{'unit': one of {', '.join(STOP_UNITS)}, 'value': > 0}}")
    return settings


def check_session_json(folder: str | Path, content: Any) -> SessionSpec:
    """Check a parsed ``session.json`` of ``folder`` field by field; return the session.

    Raises
    ------
    DataError
        Naming the file and the first field that is missing, of the wrong type or out of bounds.
    """
    folder = Path(folder)
    where = folder / SESSION_FILE

    def bad(name: str, problem: str) -> DataError:
        return DataError(f"{where}: {name} {problem}")

    check_format_header(
        content,
        where=where,
        folder=folder,
        format_name=FORMAT,
        kind="session",
        max_version=FORMAT_VERSION,
        error=DataError,
    )
    classes, colours = content.get("classes"), content.get("colours", [])
    if (
        not isinstance(classes, list)
        or not 2 <= len(classes) <= 256
        or not all(isinstance(c, str) for c in classes)
    ):
        raise bad("classes", "must be a list of 2 to 256 names, background first")
    if not isinstance(colours, list) or not all(
        isinstance(c, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in colours
    ):
        raise bad("colours", "must be a list of '#rrggbb' colours")
    images = content.get("images")
    if not isinstance(images, list) or not images:
        raise bad("images", "must be a non-empty list")
    refs = [_check_image(bad, i, e, folder) for i, e in enumerate(images)]
    names = [r.name for r in refs]
    if len(set(names)) != len(names):
        raise bad("images", "name the same image twice")
    layers = content.get("layers", [])
    if not isinstance(layers, list):
        raise bad("layers", "must be a list")
    layer_refs = [_check_layer(bad, i, e, folder, set(names)) for i, e in enumerate(layers)]
    unpaired = content.get("unpaired")
    if unpaired is not None and (
        not isinstance(unpaired, dict) or unpaired.get("kind") not in UNPAIRED_KINDS
    ):
        raise bad("unpaired", f"must be null or an object whose kind is one of {', '.join(UNPAIRED_KINDS)}")
    chosen, model = content.get("chosen_image"), content.get("model")
    if chosen is not None and chosen not in names:
        raise bad("chosen_image", f"must name one of the session's images, got {chosen!r}")
    if model not in (None, MODEL):
        raise bad("model", f"must be null or {MODEL!r}, got {model!r}")
    settings = _check_settings(bad, content.get("settings", {}))
    return SessionSpec(
        folder, tuple(classes), tuple(colours), refs, layer_refs, settings, unpaired, chosen, model
    )
