"""The user's choices kept between napari sessions: a small JSON file in the user's config folder.

The file is ``$SCRIBBLESEG_CONFIG_DIR/settings.json`` when that variable is set (the tests set it, so they
never touch the real one), else ``platformdirs.user_config_path("napari-scribbleseg") / "settings.json"``
(``~/.config/napari-scribbleseg/settings.json`` on Linux). It holds the class names, the training settings
in the shape of a session's (``train_config``, ``method_options``, ``preprocess``, ``stop``; see
:mod:`napari_scribbleseg.io.session_folder`) and the last folders of the file dialogs. A file that cannot
be read is ignored with a warning; a write that fails is logged; neither ever stops the widget.

This module imports neither Qt nor napari; :mod:`.remember` applies the content to the dock.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CONFIG_ENV = "SCRIBBLESEG_CONFIG_DIR"
FILE = "settings.json"
FORMAT = "napari-scribbleseg-settings"

_LOCK = threading.Lock()


def config_dir() -> Path:
    """The folder of the settings file (``$SCRIBBLESEG_CONFIG_DIR`` or the user's config folder)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_config_path

        return user_config_path("napari-scribbleseg")
    except ImportError:  # pragma: no cover - platformdirs comes with napari
        return Path.home() / ".config" / "napari-scribbleseg"


def settings_path() -> Path:
    """The settings file."""
    return config_dir() / FILE


def read_preferences() -> tuple[dict[str, Any], str | None]:
    """The remembered choices and, when the file could not be used, why (it is then ignored).

    A missing file is no problem (first start): ``({}, None)``.
    """
    path = settings_path()
    if not path.is_file():
        return {}, None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"{path}: the remembered settings are unreadable and were ignored ({exc})"
        log.warning("%s", problem)
        return {}, problem
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        problem = f"{path}: not a napari-scribbleseg settings file; the remembered settings were ignored"
        log.warning("%s", problem)
        return {}, problem
    return content, None


def update_preferences(**sections: Any) -> bool:
    """Replace ``sections`` of the settings file (the others are kept); True when written.

    ``folders`` is merged key by key. A failed write is logged and returns False.
    """
    from ..io import atomic_write_json

    with _LOCK:
        content, _ = read_preferences()
        if "folders" in sections:
            sections["folders"] = {**(content.get("folders") or {}), **sections["folders"]}
        content.update(sections, format=FORMAT, format_version=1)
        try:
            settings_path().parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(settings_path(), json.loads(json.dumps(content, default=str)))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("cannot remember the settings in %s: %s", settings_path(), exc)
            return False
    return True


def last_folder(kind: str) -> str:
    """The folder last used for ``kind`` (``"session"``, ``"model"``, ``"export"``...), or ``""``."""
    folders = read_preferences()[0].get("folders")
    value = folders.get(kind) if isinstance(folders, dict) else None
    return value if isinstance(value, str) and Path(value).is_dir() else ""


def remember_folder(kind: str, path: str | Path) -> None:
    """Remember the folder of ``path`` (a folder, or a file's folder) for ``kind``."""
    p = Path(path).expanduser()
    folder = p if p.is_dir() else p.parent
    update_preferences(folders={kind: str(folder)})
