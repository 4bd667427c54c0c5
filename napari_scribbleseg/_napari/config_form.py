"""A form generated with magicgui from a config dataclass (configs are data: no per-method widgets).

Each field becomes a typed magicgui widget chosen by its annotation and ``metadata``, so a value the
engine would reject cannot be typed in:

=============================================  ===================================================
field                                          widget
=============================================  ===================================================
``bool``                                       ``CheckBox``
``int`` / ``float``                            ``SpinBox`` / ``FloatSpinBox`` within the field's range
``Literal[...]``, an ``Enum``, or               ``ComboBox`` (a drop-down of the allowed values)
``metadata["choices"]``
``Path``                                       ``FileEdit`` (``metadata["mode"]``: r, w or d)
``str`` and anything else                      ``LineEdit`` (JSON for lists, tuples and dicts)
``X | None``                                   the widget of ``X`` next to a "default" check box
=============================================  ===================================================

Ranges come from ``metadata["min"]`` / ``metadata["max"]`` when a field declares them; otherwise numbers
are non-negative (every option of the package is) up to :data:`INT_MAX` / :data:`FLOAT_MAX`.
``metadata["help"]`` is the tooltip.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from magicgui import widgets as mw
from magicgui.widgets.bases import ValuedContainerWidget, ValueWidget
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

#: Upper bound of an integer field without ``metadata["max"]``.
INT_MAX = 2**31 - 1
#: Upper bound of a float field without ``metadata["max"]``.
FLOAT_MAX = 1e9


def base_type(annotation: Any) -> tuple[Any, bool]:
    """``(type, optional)`` of an annotation such as ``int | None``."""
    args = typing.get_args(annotation)
    if args and type(None) in args and typing.get_origin(annotation) is not Literal:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else Any), True
    return annotation, False


def choices_of(typ: Any, metadata: typing.Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The allowed values of a field (``Literal`` arguments, ``Enum`` members or ``metadata["choices"]``)."""
    if "choices" in metadata:
        return tuple(metadata["choices"])
    if typing.get_origin(typ) is Literal:
        return typing.get_args(typ)
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        return tuple(typ)
    return None


def bounds_of(typ: Any, metadata: typing.Mapping[str, Any], default: Any) -> tuple[float, float]:
    """``(min, max)`` of a numeric field: its metadata, else ``[0, INT_MAX]`` / ``[0, FLOAT_MAX]``.

    The range always contains the default.
    """
    lo = metadata.get("min", 0)
    hi = metadata.get("max", INT_MAX if typ is int else FLOAT_MAX)
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        lo, hi = min(lo, default), max(hi, default)
    return lo, hi


def _decimals(default: Any, lo: float, metadata: typing.Mapping[str, Any]) -> int:
    """Decimals a float spin box shows: two significant digits below the default (at least 3).

    A ``QDoubleSpinBox`` rounds to its decimals, so ``1e-5`` in a 2-decimal box would become 0.
    """
    if "decimals" in metadata:
        return int(metadata["decimals"])
    smallest = [abs(v) for v in (default, lo) if isinstance(v, (int, float)) and v]
    if not smallest:
        return 3
    return int(min(10, max(3, 2 - math.floor(math.log10(min(smallest))))))


class OptionalValue(ValuedContainerWidget):
    """A value widget next to a "default" check box; ticked, the value is ``None`` (the field's default).

    Parameters
    ----------
    inner
        The widget that edits a value when "default" is not ticked.
    """

    def __init__(self, inner: ValueWidget, **kwargs: Any) -> None:
        self.auto = mw.CheckBox(text="default", value=True)
        self.inner = inner
        super().__init__(widgets=[self.auto, self.inner], layout="horizontal", labels=False, **kwargs)
        self.margins = (0, 0, 0, 0)
        self.inner.enabled = False
        self.auto.changed.connect(self._on_auto)
        self.inner.changed.connect(lambda _=None: self.changed.emit(self.value))

    def _on_auto(self, checked: bool) -> None:
        self.inner.enabled = not checked
        self.changed.emit(self.value)

    def get_value(self) -> Any:
        """``None`` when "default" is ticked, else the inner widget's value."""
        return None if self.auto.value else self.inner.value

    def set_value(self, value: Any) -> None:
        """``None`` ticks "default"; any other value goes to the inner widget."""
        if value is not None:
            self.inner.value = value
        self.auto.value = value is None
        self.inner.enabled = value is not None


def make_input(typ: Any, optional: bool, default: Any, metadata: typing.Mapping[str, Any]) -> Any:
    """The magicgui widget for one field (see the module docstring for the mapping)."""
    if optional:
        start = metadata.get("placeholder", None)
        inner = make_input(typ, False, start, metadata)
        widget = OptionalValue(inner)
        widget.value = default
        return widget
    choices = choices_of(typ, metadata)
    if choices is not None:
        return mw.ComboBox(choices=choices, value=default if default in choices else choices[0])
    if typ is bool:
        return mw.CheckBox(value=bool(default), text="")
    if typ is int:
        lo, hi = bounds_of(int, metadata, default)
        value = int(default) if default is not None else int(lo)
        return mw.SpinBox(value=value, min=int(lo), max=int(hi), step=metadata.get("step", 1))
    if typ is float:
        lo, hi = bounds_of(float, metadata, default)
        box = mw.FloatSpinBox(min=lo, max=hi, step=metadata.get("step", None))
        box.native.setDecimals(_decimals(default, lo, metadata))
        box.native.setRange(lo, hi)  # setDecimals rounds the range: restore it
        box.value = float(default) if default is not None else float(lo)
        return box
    if typ is Path:
        mode = metadata.get("mode", "r")
        return mw.FileEdit(mode=mode, value=default, nullable=True)
    return _TextInput(typ, default)


class _TextInput(mw.LineEdit):
    """A line edit for ``str`` and structured (JSON) values."""

    def __init__(self, typ: Any, default: Any) -> None:
        super().__init__(value="" if default is None else _format(default))
        self._typ = typ

    def parsed(self) -> Any:
        text = str(self.value).strip()
        if self._typ is str:
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def set_parsed(self, value: Any) -> None:
        self.value = "" if value is None else _format(value)


def _format(value: Any) -> str:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


class ConfigForm(QWidget):
    """magicgui inputs for the fields of dataclass ``cls``, in a Qt widget.

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
        self._inputs: dict[str, Any] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        hints = typing.get_type_hints(cls)
        skip = set(exclude)
        fields = [f for f in dataclasses.fields(cls) if f.name not in skip]
        self.container = mw.Container(labels=True)
        self.container.margins = (0, 0, 0, 0)
        for f in fields:
            typ, optional = base_type(hints.get(f.name, str))
            default = f.default if f.default is not dataclasses.MISSING else None
            widget = make_input(typ, optional, default, f.metadata)
            widget.name = f.name
            widget.label = f.name.replace("_", " ")
            if isinstance(widget, mw.CheckBox):  # containers do not label buttons: the text is the label
                widget.text = widget.label
            tip = f.metadata.get("help", "")
            widget.tooltip = tip + (" (ticked 'default': the automatic choice)" if optional else "")
            widget.native.setObjectName(f"option_{f.name}")
            self.container.append(widget)
            self._inputs[f.name] = widget
        if fields:
            layout.addWidget(self.container.native)
        else:
            layout.addWidget(QLabel("(no options)"))

    # -- values ---------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Field values as typed Python values (``None`` where an optional field says "default")."""
        out: dict[str, Any] = {}
        for name, w in self._inputs.items():
            if isinstance(w, _TextInput):
                out[name] = w.parsed()
            elif isinstance(w, mw.FileEdit):
                value = w.value
                out[name] = value if value not in ("", None) else None
            else:
                out[name] = w.value
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        """Set inputs from a dict; unknown names are ignored, strings are read as the field's type.

        Raises
        ------
        ValueError
            A value outside a field's range or choices.
        """
        for name, value in values.items():
            w = self._inputs.get(name)
            if w is None:
                continue
            if isinstance(w, _TextInput):
                w.set_parsed(value)
                continue
            target = w.inner if isinstance(w, OptionalValue) else w
            if isinstance(value, str) and isinstance(target, mw.SpinBox):
                value = int(value)
            elif isinstance(value, str) and isinstance(target, mw.FloatSpinBox):
                value = float(value)
            if isinstance(w, mw.ComboBox) and value not in w.choices:
                raise ValueError(f"option {name!r}: {value!r} is not one of {list(w.choices)}")
            w.value = value

    def input(self, name: str) -> Any:
        """The magicgui widget of field ``name`` (its ``.native`` is the Qt widget)."""
        return self._inputs[name]
