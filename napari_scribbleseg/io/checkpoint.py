"""Model files: a folder with weights (safetensors), JSON metadata and an optional training state.

Layout of a model folder ``MODEL/``::

    model.safetensors     best segmentor weights (what ``predict`` uses)
    meta.json             method, configs, class names, preprocessing, segmentor spec, package version
    state/last.safetensors    latest weights of every network (for --resume / Continue)
    state/optim.pt        optimiser states and counters: torch.save of tensors and plain containers,
                          loaded with ``weights_only=True``

Nothing here unpickles arbitrary objects (DESIGN.md Sec. 2). Every file is written through the atomic
writer (:func:`~napari_scribbleseg.io.atomic.atomic_write`), so an interrupted save leaves the previous
file in place. The module lives in ``io`` so that both ``engine`` (which writes models) and ``inference``
(which reads them) use it without ``inference`` importing ``engine``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .atomic import atomic_write, atomic_write_text

FORMAT = "napari-scribbleseg-model"
FORMAT_VERSION = 1


def _flat_state(modules: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, module in modules.items():
        for k, v in module.state_dict().items():
            out[f"{name}.{k}"] = v.detach().cpu().contiguous()
    return out


def save_weights(path: Path, state: dict[str, Any]) -> None:
    """Write a flat ``{name: tensor}`` dict as safetensors, atomically."""
    from safetensors.torch import save_file

    atomic_write(path, lambda tmp: save_file({k: v.contiguous() for k, v in state.items()}, str(tmp)))


def load_weights(path: Path) -> dict[str, Any]:
    """Read a safetensors file into CPU tensors."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # corrupt or not safetensors
        raise CheckpointError(f"{path}: cannot read model weights ({exc})") from None


def save_model(folder: Path, segmentor_state: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``meta.json`` into ``folder``."""
    folder = Path(folder)
    save_weights(folder / "model.safetensors", segmentor_state)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2))


def save_training_state(folder: Path, modules: dict[str, Any], optim_state: dict[str, Any]) -> None:
    """Write the state needed to continue training (all networks, optimisers, counters)."""
    import torch

    folder = Path(folder) / "state"
    save_weights(folder / "last.safetensors", _flat_state(modules))
    atomic_write(folder / "optim.pt", lambda tmp: torch.save(optim_state, tmp))


def resolve_model_dir(path: str | Path) -> Path:
    """Accept the model folder or a file inside it; check that it holds a model."""
    p = Path(path)
    if p.is_file():
        p = p.parent
    if not p.exists():
        raise CheckpointError(f"{path}: no such model folder")
    if not (p / "meta.json").is_file() or not (p / "model.safetensors").is_file():
        raise CheckpointError(
            f"{path}: not a napari-scribbleseg model (missing meta.json or model.safetensors)"
        )
    return p


def load_meta(path: str | Path) -> dict[str, Any]:
    """Read and check ``meta.json`` of a model folder."""
    folder = resolve_model_dir(path)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{folder / 'meta.json'}: unreadable ({exc})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{folder}: not a napari-scribbleseg model (format {meta.get('format')!r})")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{folder}: written by a newer napari-scribbleseg (format {meta['format_version']}); "
            "please upgrade"
        )
    return meta


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
