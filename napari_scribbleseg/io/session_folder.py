"""The session folder: images (by reference), annotation layers, classes, settings and the model, together.

The napari widget saves and opens it (Save session / Open session) and ``scribbleseg train --session DIR``
trains from it, so the GUI and the CLI share one folder::

    SESSION/
      session.json          what the session holds (below); written last, atomically
      annotations/          one NIfTI file per scribble, dense-mask or unpaired-mask layer, each on its
                            image's grid (affine and header of the image)
      images/               copies of the images (optional; always for images without a file)
      model/                the trained model with its training state (io.checkpoint's model folder)

``session.json`` (``format`` ``"napari-scribbleseg-session"``, ``format_version`` 1) holds ``classes`` and
their ``colours``; ``images``: ``name``, ``path`` (absolute, or relative to the folder when ``copied``),
``relative`` (the path seen from the folder, tried when the absolute one is gone), ``sha256`` of the file
(of every file, for a DICOM folder), ``geometry`` (``shape``, ``affine``, ``frame``, ``series``) and
``sample``; ``layers``: ``name``, ``kind`` (``scribbles``, ``dense`` or ``unpaired``), ``image`` and
``file``; ``unpaired`` (the source of an adversarial method's masks), ``settings`` (``train_config``,
``method_options``, ``preprocess``, ``stop``), ``chosen_image`` and ``model`` (``"model"`` or null).

Rules: a session folder is new, empty or an earlier session (:func:`check_session_destination`); files are
written atomically and only the session's own files are ever replaced or removed; opening checks every
field (:func:`read_session`, one :class:`~napari_scribbleseg.errors.DataError` naming the file and the
field) and every image's checksum (:func:`find_image`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from ..errors import DataError
from .atomic import atomic_write_json, describe_error
from .session_meta import (
    ANNOTATIONS,
    FORMAT,
    FORMAT_VERSION,
    IMAGES,
    MODEL,
    SESSION_FILE,
    ImageRef,
    LayerRef,
    SessionSpec,
    check_session_json,
)

__all__ = [
    "ANNOTATIONS",
    "FORMAT",
    "FORMAT_VERSION",
    "IMAGES",
    "MODEL",
    "SESSION_FILE",
    "ImageRef",
    "LayerRef",
    "SessionSpec",
    "check_session_destination",
    "copy_model_folder",
    "file_sha256",
    "find_image",
    "layer_file",
    "read_session",
    "write_session",
]


# -- checksums and names ------------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of every file under a folder (a DICOM series: names and contents, sorted)."""
    p = Path(path)
    digest = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            digest.update(f.relative_to(p).as_posix().encode("utf-8") + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def layer_file(name: str, folder: str = ANNOTATIONS) -> str:
    """The session-relative file of layer ``name`` (a readable slug and a hash: unique per name)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "layer"
    return f"{folder}/{slug}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}.nii.gz"


def read_session(folder: str | Path) -> SessionSpec:
    """Read and check the ``session.json`` of a session folder (or of the folder of a given file).

    Raises
    ------
    DataError
        No such folder, no or an unreadable ``session.json``, or an invalid field.
    """
    p = Path(folder).expanduser()
    if p.is_file() and p.name == SESSION_FILE:
        p = p.parent
    if not (p / SESSION_FILE).is_file():
        raise DataError(f"{folder}: not a session folder (no {SESSION_FILE})")
    try:
        content = json.loads((p / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{p / SESSION_FILE}: unreadable ({describe_error(exc)})") from None
    return check_session_json(p, content)


# -- writing --------------------------------------------------------------------------------------------
def check_session_destination(folder: str | Path) -> tuple[Path, SessionSpec | None]:
    """Check that a session can be saved into ``folder``; return it and the session already there, if any.

    ``folder`` may be new, empty, or an earlier session (its own files are replaced, nothing else).

    Raises
    ------
    DataError
        ``folder`` is a file, holds files that are not a session's, holds an unreadable session, or cannot
        be written.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: is a file, not a folder; give a folder for the session")
    old = None
    if (folder / SESSION_FILE).is_file():
        old = read_session(folder)
    elif folder.is_dir():
        foreign = sorted(e.name for e in folder.iterdir())
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise DataError(
                f"{folder}: holds other files ({shown}) and no {SESSION_FILE}; a session folder holds only "
                "the session, so choose a new or empty folder, or an earlier session"
            )
    try:
        (folder / ANNOTATIONS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot write the session there: {describe_error(exc)}") from None
    return folder, old


def write_session(spec: SessionSpec, old: SessionSpec | None = None, package_version: str = "") -> Path:
    """Write ``session.json`` of ``spec`` atomically, then remove the files of ``old`` no longer listed.

    Call it after every file it lists is written: a crash before leaves the previous session whole.
    """
    path = spec.folder / SESSION_FILE
    atomic_write_json(path, spec.to_json(package_version), error=lambda m: DataError(f"{path}: {m}"))
    if old is not None:
        keep = {la.file for la in spec.layers} | {im.path for im in spec.images if im.copied}
        stale = {la.file for la in old.layers} | {im.path for im in old.images if im.copied}
        for relative in sorted(stale - keep):
            target = spec.folder / relative
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
    return path


def copy_model_folder(source: str | Path, folder: str | Path) -> Path:
    """Copy model folder ``source`` to ``folder`` as one unit (a staging copy, then renames).

    Raises
    ------
    napari_scribbleseg.errors.CheckpointError
        ``folder`` is not a place for a model (:func:`~.checkpoint.check_model_destination`), or a copy fails.
    """
    from .checkpoint import check_model_destination, replace_model_dir, resolve_model_dir

    source = resolve_model_dir(source)
    folder = check_model_destination(folder)
    if folder.exists() and os.path.samefile(source, folder):
        return folder
    return replace_model_dir(folder, lambda staging: shutil.copytree(source, staging), "copy the model")


# -- opening --------------------------------------------------------------------------------------------
def find_image(spec: SessionSpec, ref: ImageRef) -> tuple[Path | None, str | None]:
    """Where image ``ref`` of ``spec`` is now: ``(path, None)``, or ``(None, problem)`` for people.

    A copied image is looked for in the session folder; another at its saved path, then at its path
    relative to the session folder (both moved together). A file is the image when its checksum matches.
    """
    if ref.copied:
        candidates = [spec.folder / ref.path]
    else:
        candidates = [Path(ref.path)] + ([spec.folder / ref.relative] if ref.relative else [])
    changed = None
    for path in candidates:
        if path.exists():
            if file_sha256(path) == ref.sha256:
                return path, None
            changed = changed or path
    if changed is not None:
        return (
            None,
            f"image {ref.name!r}: {changed} changed since the session was saved (its checksum differs)",
        )
    return (
        None,
        f"image {ref.name!r}: {candidates[0]} is missing (moved or deleted since the session was saved)",
    )
