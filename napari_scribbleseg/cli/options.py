"""Options from the command line and a config file, merged into one dict per command.

Every option also has a config-file form: ``--config FILE.json`` (or ``.toml``) holds the same option names
(``time_budget``, ``method``...; method options under ``"method_options"``), and options given on the
command line win.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ConfigError


def _toml_module(path: str) -> ModuleType:
    """``tomllib`` (Python >= 3.11) or its backport ``tomli`` (a dependency on Python 3.10)."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError(
                f"{path}: reading a .toml config on Python < 3.11 needs the tomli package "
                f"(pip install tomli), or write the config as .json"
            ) from None
    return tomllib


def load_config_file(path: str | None) -> dict[str, Any]:
    """The options of a JSON or TOML config file (``-`` in names becomes ``_``); ``{}`` without a file.

    Raises
    ------
    ConfigError
        The file is missing, cannot be parsed or does not hold a mapping.
    """
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        if p.suffix.lower() == ".toml":
            data = _toml_module(path).loads(p.read_text())
        else:
            data = json.loads(p.read_text())
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{path}: cannot parse config file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must hold a mapping of option names to values")
    return {k.replace("-", "_"): v for k, v in data.items()}


def merge_options(args: argparse.Namespace, file_opts: dict[str, Any]) -> dict[str, Any]:
    """Command-line values, falling back to the config file (unset flags do not override it)."""
    merged = dict(file_opts)
    for k, v in vars(args).items():
        if v is not None and v != [] and v is not False:
            merged[k] = v
        elif k not in merged:
            merged[k] = v
    return merged


def require(opts: dict[str, Any], *names: str) -> None:
    """Raise :class:`ConfigError` naming the ``--options`` among ``names`` that have no value."""
    missing = [n for n in names if not opts.get(n)]
    if missing:
        raise ConfigError("missing option(s): " + ", ".join("--" + m.replace("_", "-") for m in missing))


def parse_method_options(items: Sequence[str], base: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``--opt KEY=VALUE`` items (values parsed as JSON when they are JSON)."""
    out = dict(base)
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--opt expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out
