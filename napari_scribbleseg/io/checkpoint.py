"""Model files: a folder with weights (safetensors), JSON metadata and an optional training state.

Layout of a model folder ``MODEL/``::

    model.safetensors     best segmentor weights (what ``predict`` uses)
    meta.json             method, configs, class names, preprocessing, segmentor spec, package version
    state/last.safetensors    latest weights of every network (for --resume / Continue)
    state/optim.pt        optimiser states and counters: torch.save of tensors and plain containers,
                          loaded with ``weights_only=True``

Nothing here unpickles arbitrary objects (DESIGN.md Sec. 2). The module lives in ``io`` so that both
``engine`` (which writes models) and ``inference`` (which reads them) use it without ``inference``
importing ``engine``.

A model folder is written as one unit (:func:`save_model_folder`): every file goes into a hidden sibling
``.MODEL.saving/``, is flushed to disk, and the folder then replaces ``MODEL`` by two renames (the old one
parked as ``.MODEL.previous/`` in between, then deleted). After a crash or a full disk ``MODEL`` is the old
model or the new one, never a mix; a crash between the two renames is repaired the next time the folder
is saved or loaded (:func:`recover_model_dir`). A model folder holds only the model: saving refuses a
folder with other files in it, which the swap would otherwise take away.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .atomic import describe_error, fsync_dir, fsync_file

FORMAT = "napari-scribbleseg-model"
FORMAT_VERSION = 1


def _flat_state(modules: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, module in modules.items():
        for k, v in module.state_dict().items():
            out[f"{name}.{k}"] = v.detach().cpu().contiguous()
    return out


def load_weights(path: Path) -> dict[str, Any]:
    """Read a safetensors file into CPU tensors."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # corrupt or not safetensors
        raise CheckpointError(f"{path}: cannot read model weights ({exc})") from None


#: What a model folder holds (anything else in a destination folder stops a save).
MODEL_ENTRIES = frozenset({"model.safetensors", "meta.json", "state"})


def _siblings(folder: Path) -> tuple[Path, Path]:
    """The staging and parked folders of ``folder``: ``.NAME.saving`` and ``.NAME.previous``."""
    return folder.parent / f".{folder.name}.saving", folder.parent / f".{folder.name}.previous"


def recover_model_dir(folder: str | Path) -> None:
    """Finish or undo a save of ``folder`` that a crash interrupted between its two renames.

    A staging folder whose ``meta.json`` exists is complete (``meta.json`` is written last); otherwise the
    parked previous model goes back. Nothing happens while ``folder`` exists.
    """
    folder = Path(folder)
    if folder.exists():
        return
    staging, previous = _siblings(folder)
    try:
        if (staging / "meta.json").is_file():
            os.replace(staging, folder)
            shutil.rmtree(previous, ignore_errors=True)
        elif previous.is_dir():
            os.replace(previous, folder)
    except OSError:  # a read-only place: loading then reports the folder as missing
        pass


def check_model_destination(folder: str | Path) -> Path:
    """Check, before any work, that a model can be saved as ``folder``; return it.

    ``folder`` may be new, an empty folder or an earlier model folder (replaced as a unit when the new
    model is saved). Its parent is created and must be writable (a probe folder is made and removed).

    Raises
    ------
    CheckpointError
        ``folder`` is a file, holds files that are not a model's, or cannot be written.
    """
    folder = Path(folder).expanduser()
    recover_model_dir(folder)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{folder}: is a file, not a folder; give a folder for the model")
    if folder.is_dir():
        foreign = sorted(e.name for e in folder.iterdir() if e.name not in MODEL_ENTRIES)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise CheckpointError(
                f"{folder}: holds other files ({shown}); a model folder holds only the model, so choose a "
                "new or empty folder"
            )
    probe = folder.parent / f".{folder.name}.probe-{os.getpid()}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise CheckpointError(f"{folder}: cannot write the model there: {describe_error(exc)}") from None
    return folder


def _write_file(path: Path, write: Any) -> None:
    """``write(path)`` into a new file that keeps the mode the umask gives (safetensors makes ``0o600``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    write(path)
    if stat.S_IMODE(os.stat(path).st_mode) != mode:
        os.chmod(path, mode)
    fsync_file(path)


def save_model_folder(
    folder: str | Path,
    segmentor_state: dict[str, Any],
    meta: dict[str, Any],
    modules: dict[str, Any] | None = None,
    optim_state: dict[str, Any] | None = None,
) -> Path:
    """Write a whole model folder as one unit (see the module docs); return ``folder``.

    Parameters
    ----------
    folder
        The model folder (new, empty, or an earlier model, which is replaced).
    segmentor_state
        The segmentor weights ``predict`` uses (``model.safetensors``).
    meta
        The metadata (``meta.json``; ``format`` and ``format_version`` are added).
    modules, optim_state
        Every network and the optimiser states and counters (``state/``), for Continue and ``--resume``;
        ``None`` for a model without training state.

    Raises
    ------
    CheckpointError
        The destination is unsuitable (:func:`check_model_destination`) or a write fails (the earlier
        model, if any, is then left as it was).
    """
    import torch
    from safetensors.torch import save_file

    folder = check_model_destination(folder)

    def fill(staging: Path) -> None:
        (staging / "state").mkdir(parents=True)
        weights = {k: v.detach().cpu().contiguous() for k, v in segmentor_state.items()}
        _write_file(staging / "model.safetensors", lambda f: save_file(weights, str(f)))
        if modules is not None:
            last = _flat_state(modules)
            _write_file(staging / "state" / "last.safetensors", lambda f: save_file(last, str(f)))
            _write_file(staging / "state" / "optim.pt", lambda f: torch.save(optim_state or {}, f))
        text = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, **meta}, indent=2)
        _write_file(staging / "meta.json", lambda f: f.write_text(text, encoding="utf-8"))  # last: complete
        fsync_dir(staging / "state")
        fsync_dir(staging)

    return replace_model_dir(folder, fill, "save the model")


def replace_model_dir(folder: Path, fill: Callable[[Path], None], what: str) -> Path:
    """Make ``folder`` anew as one unit: ``fill(staging)`` writes a staging folder, two renames swap it in.

    The earlier folder is parked as ``.NAME.previous`` between the renames (:func:`recover_model_dir`
    repairs a crash there) and removed after; a failure leaves it as it was.

    Raises
    ------
    CheckpointError
        ``fill`` or a rename fails (``what`` says what was being done).
    """
    staging, previous = _siblings(folder)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        fill(staging)
        if folder.exists():
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(folder, previous)
        os.replace(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        recover_model_dir(folder)
        raise CheckpointError(f"{folder}: cannot {what}: {describe_error(exc)}") from None
    fsync_dir(folder.parent)
    shutil.rmtree(previous, ignore_errors=True)
    return folder


def resolve_model_dir(path: str | Path) -> Path:
    """Accept the model folder or a file inside it; check that it holds a model."""
    p = Path(path)
    if p.is_file():
        p = p.parent
    recover_model_dir(p)
    if not p.exists():
        raise CheckpointError(f"{path}: no such model folder")
    if not (p / "meta.json").is_file() or not (p / "model.safetensors").is_file():
        raise CheckpointError(
            f"{path}: not a napari-scribbleseg model (missing meta.json or model.safetensors)"
        )
    return p


def load_meta(path: str | Path) -> dict[str, Any]:
    """Read ``meta.json`` of a model folder and check it against its schema (:mod:`.model_meta`)."""
    from .model_meta import check_meta

    folder = resolve_model_dir(path)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{folder / 'meta.json'}: unreadable ({describe_error(exc)})") from None
    return check_meta(folder, meta, FORMAT, FORMAT_VERSION)


def load_training_state(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(weights by module, optimiser state)`` of a model folder, or None if it has no training state."""
    import torch

    folder = resolve_model_dir(path) / "state"
    if not (folder / "last.safetensors").is_file() or not (folder / "optim.pt").is_file():
        return None
    flat = load_weights(folder / "last.safetensors")
    modules: dict[str, dict[str, Any]] = {}
    for k, v in flat.items():
        name, key = k.split(".", 1)
        modules.setdefault(name, {})[key] = v
    try:
        optim = torch.load(folder / "optim.pt", map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{folder / 'optim.pt'}: cannot read training state ({exc})") from None
    return modules, optim
