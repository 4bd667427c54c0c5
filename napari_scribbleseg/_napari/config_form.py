"""A Qt form generated from a config dataclass (configs are data: no per-method widgets).

Each field becomes an input chosen by its type annotation (bool: check box; int: spin box; float, str and
optional values: a line edit, empty meaning ``None``), labelled by its name and with its
``metadata["help"]`` as tooltip.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterable
from typing import Any

from qtpy.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(type, optional) of an annotation such as ``int | None``."""
    args = typing.get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else Any), True
    return annotation, False


class ConfigForm(QWidget):
    """Inputs for the fields of dataclass ``cls``.

    Parameters
    ----------
    cls
        A dataclass type whose fields have defaults.
    exclude
        Field names not to show (they keep their defaults or are set elsewhere).
    parent
        Qt parent.
    """

    def __init__(self, cls: type, exclude: Iterable[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cls = cls
        self._inputs: dict[str, tuple[QWidget, Any, bool]] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        hints = typing.get_type_hints(cls)
        skip = set(exclude)
        fields = [f for f in dataclasses.fields(cls) if f.name not in skip]
        if not fields:
            layout.addRow(QLabel("(no options)"))
        for f in fields:
            typ, optional = _base_type(hints.get(f.name, str))
            default = f.default if f.default is not dataclasses.MISSING else None
            widget = self._make_input(typ, optional, default)
            tip = f.metadata.get("help", "")
            widget.setToolTip(tip + (" (empty: default/none)" if optional else ""))
            label = QLabel(f.name.replace("_", " "))
            label.setToolTip(tip)
            widget.setObjectName(f"option_{f.name}")
            layout.addRow(label, widget)
            self._inputs[f.name] = (widget, typ, optional)

    @staticmethod
    def _make_input(typ: Any, optional: bool, default: Any) -> QWidget:
        if typ is bool and not optional:
            w = QCheckBox()
            w.setChecked(bool(default))
            return w
        if typ is int and not optional:
            w = QSpinBox()
            w.setRange(-(2**31) + 1, 2**31 - 1)
            w.setValue(int(default or 0))
            return w
        w = QLineEdit()
        w.setText("" if default is None else _format(default))
        return w

    # -- values ---------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Field values as typed Python values.

        Raises
        ------
        ValueError
            A value that does not parse as its field's type (the message names the field).
        """
        out: dict[str, Any] = {}
        for name, (w, typ, optional) in self._inputs.items():
            if isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QSpinBox):
                out[name] = int(w.value())
            else:
                text = w.text().strip()
                if text == "" and optional:
                    out[name] = None
                    continue
                try:
                    out[name] = _parse(text, typ)
                except ValueError:
                    raise ValueError(
                        f"option {name!r}: cannot read {text!r} as {getattr(typ, '__name__', typ)}"
                    ) from None
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        """Set inputs from a dict (unknown names are ignored)."""
        for name, value in values.items():
            if name not in self._inputs:
                continue
            w, _typ, _opt = self._inputs[name]
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QSpinBox):
                w.setValue(int(value))
            else:
                w.setText("" if value is None else _format(value))

    def input(self, name: str) -> QWidget:
        """The input widget of field ``name``."""
        return self._inputs[name][0]


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def _parse(text: str, typ: Any) -> Any:
    if typ is float:
        return float(text)
    if typ is int:
        return int(text)
    if typ is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if typ is str:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
