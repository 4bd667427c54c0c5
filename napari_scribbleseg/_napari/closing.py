"""Knowing when the viewer's window really closes, so that the dock can end its workers in time."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QWidget


class WindowCloseWatcher(QObject):
    """Calls ``on_close`` when a watched main window closes.

    A close from code (``viewer.close()``) is final: ``on_close`` runs at once, before napari deletes
    the window and the dock. A close by the user (the window's close button) may still be cancelled in
    napari's confirmation dialog, so ``on_close`` waits for the window to be hidden.

    Parameters
    ----------
    on_close
        Called on the main thread, while the window and the dock still exist.
    parent
        Parent QObject (the dock widget: the filter goes away with it).
    """

    def __init__(self, on_close: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_close = on_close
        self._watched = 0  # id() of the watched window: no reference, the viewer must be freed on close
        self._pending = False

    def watch(self, window: QWidget | None) -> None:
        """Watch ``window`` (once; a second call with the same window does nothing)."""
        if window is not None and id(window) != self._watched:
            window.installEventFilter(self)
            self._watched = id(window)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """React to the window's close (or to its hiding after a close the user may have cancelled)."""
        kind = event.type()
        if kind == QEvent.Close:
            if event.spontaneous():
                self._pending = True
            else:
                self.on_close()
        elif kind == QEvent.Hide and self._pending and isinstance(obj, QWidget) and not obj.isVisible():
            self._pending = False
            self.on_close()
        elif kind == QEvent.Show:
            self._pending = False
        return False
