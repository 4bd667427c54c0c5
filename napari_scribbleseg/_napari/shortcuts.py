"""Keyboard shortcuts of the dock: Train, Stop, Continue, Predict, next suggested slice, 3D, class to paint.

========== ====================================================================================
Shift+T    Train a new model
Shift+S    Stop training (the model is kept)
Shift+C    Continue training
Shift+R    Predict the whole volume ("run" the model)
Shift+N    Go to the next slice suggested for scribbling
Shift+D    3D view of the prediction, and back
Alt+1..9   Paint scribble value 1..9 (1 = background, k + 1 = structure k), as in the dock's legend
========== ====================================================================================

**Why these keys.** napari's own keys are left alone: its Labels layer uses the bare digits 1-7 for its
tools (1 erase, 2 paint, 3 polygon, 4 fill, 5 picker, 6 pan/zoom, 7 transform) and bare letters (E, P, F,
L, Z, M, X, B), its Shapes and Points layers more letters with and without Shift (Shift+A, Shift+L,
Shift+P), the viewer Shift+V, Ctrl/Cmd with many letters, Alt+S, Alt+C, Alt+T and the menus' Alt+letter.
Shift+letters napari does not use, and Alt+digits, are free whatever layer is active; they need no Ctrl,
so they mean the same on macOS. :func:`napari_keybindings` lists napari's bindings (its default shortcuts
and the app-model key bindings of the running napari) and a key found there is not bound (a warning is
logged), so a future napari that takes one of these keys keeps it.

**How.** Each key is bound twice, without double firing: on the viewer's keymap (``viewer.bind_key``,
``overwrite=False``), which acts while the canvas has the keyboard focus (where one paints), and as a
``QShortcut`` scoped to the dock (``Qt.WidgetWithChildrenShortcut``), which acts while the dock has it.
A key another dock or plugin already bound on the viewer keeps its binding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from qtpy.QtCore import Qt
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import QShortcut, QWidget

log = logging.getLogger(__name__)


class Shortcut(NamedTuple):
    """A key (napari's spelling, e.g. ``"Shift-T"``), the widget's method it calls, and what it does."""

    key: str
    action: str
    text: str

    @property
    def label(self) -> str:
        """The key as people read it (``"Shift+T"``)."""
        return self.key.replace("-", "+")


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Shift-T", "train", "Train a new model"),
    Shortcut("Shift-S", "stop", "Stop training"),
    Shortcut("Shift-C", "continue_training", "Continue training"),
    Shortcut("Shift-R", "predict", "Predict the whole volume"),
    Shortcut("Shift-N", "next_suggestion", "Go to the next suggested slice"),
    Shortcut("Shift-D", "toggle_3d", "3D view of the prediction, and back"),
    *(Shortcut(f"Alt-{v}", f"select_class:{v}", f"Paint scribble value {v}") for v in range(1, 10)),
)


def napari_keybindings() -> dict[Any, str]:
    """The key bindings of napari: its default shortcuts and the app-model bindings registered so far.

    Returns a dict from app-model ``KeyBinding`` to the napari command that uses it.
    """
    from napari.utils.shortcuts import default_shortcuts

    taken: dict[Any, str] = {}
    for command, bindings in default_shortcuts.items():
        for kb in bindings:
            taken[kb] = command
    try:
        from napari._app_model import get_app_model

        for rule in get_app_model().keybindings:
            taken[rule.keybinding] = rule.command_id
    except Exception:  # a napari without app-model: its default shortcuts are checked
        pass
    return taken


def clashes(shortcuts: tuple[Shortcut, ...] = SHORTCUTS) -> list[str]:
    """``"<key>: napari's <command>"`` for each of ``shortcuts`` that napari binds itself."""
    from napari.utils.key_bindings import coerce_keybinding

    taken = napari_keybindings()
    out = []
    for sc in shortcuts:
        kb = coerce_keybinding(sc.key)
        if kb in taken:
            out.append(f"{sc.label}: napari's {taken[kb]}")
    return out


class KeyboardShortcuts:
    """Binds :data:`SHORTCUTS` to ``widget``'s methods on ``viewer`` and in the dock (see the module docs).

    Parameters
    ----------
    widget
        The dock widget: its methods named by :attr:`Shortcut.action` are called (``select_class(v)`` for
        ``select_class:v``).
    viewer
        The napari viewer.
    """

    def __init__(self, widget: QWidget, viewer: Any) -> None:
        from napari.utils.key_bindings import coerce_keybinding

        self.widget, self.viewer = widget, viewer
        self.bound: list[tuple[Any, Callable[..., Any]]] = []  # (KeyBinding, function) on the viewer
        self.qt: dict[str, QShortcut] = {}
        taken = napari_keybindings()
        for sc in SHORTCUTS:
            kb = coerce_keybinding(sc.key)
            if kb in taken:
                log.warning("shortcut %s not bound: napari uses it for %s", sc.label, taken[kb])
                continue

            def on_key(_viewer: Any = None, sc: Shortcut = sc) -> None:
                self.trigger(sc.action)

            try:
                viewer.bind_key(sc.key, on_key, overwrite=False)
                self.bound.append((kb, on_key))
            except ValueError:
                log.warning("shortcut %s not bound on the viewer: something else uses it", sc.label)
            shortcut = QShortcut(QKeySequence(sc.label), widget)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(on_key)
            self.qt[sc.key] = shortcut

    def trigger(self, action: str) -> None:
        """Call the widget's method for ``action`` (what a key press does)."""
        name, _, arg = action.partition(":")
        method = getattr(self.widget, name)
        if arg:
            method(int(arg))
        else:
            method()

    def annotate(self, buttons: dict[str, Any]) -> None:
        """Append each action's key to its button's tooltip (``{"train": train_btn, ...}``)."""
        for action, button in buttons.items():
            button.setToolTip(button.toolTip() + self.describe(action))

    def unbind(self) -> None:
        """Remove the viewer's bindings that are still ours (when the dock closes)."""
        for kb, func in self.bound:
            if self.viewer.keymap.get(kb) is func:
                self.viewer.bind_key(kb, None)
        self.bound.clear()
        for shortcut in self.qt.values():
            shortcut.setEnabled(False)

    @staticmethod
    def describe(action: str) -> str:
        """`` (Shift+T)`` for the key of ``action``, to append to a tooltip; ``""`` when it has none."""
        keys = [sc.label for sc in SHORTCUTS if sc.action == action]
        return f" ({keys[0]})" if keys else ""
