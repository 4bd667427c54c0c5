"""Worker threads of the dock widget and the process-wide policies that keep napari responsive.

The widget runs one task at a time (train, predict or load) in a napari ``thread_worker``;
:class:`TaskRunner` starts it, routes its results to the main thread and reports when it ends. The
policies: the engine is imported by a start-up worker (:func:`warm_up`), training threads run at a lower
priority (:class:`lowered_priority`) and with one CPU left to napari (:func:`default_training_threads`),
and the objects alive once the engine is loaded are moved out of the cyclic GC's reach
(:func:`freeze_startup_objects`).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal

log = logging.getLogger(__name__)

#: How much lower than the GUI the training thread (and the torch threads it starts) runs (Linux nice).
TRAINING_NICENESS = 10

_FROZEN = False


def default_training_threads() -> int:
    """CPU threads for training from the GUI: all the CPUs this process may use but one.

    With other busy processes, 1 training thread trained ~10x faster than 2 on a 2-core machine (no
    OpenMP spin-waits on a descheduled partner), and the spare core keeps the viewer responsive; see
    ``bench/responsiveness.py``.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, n - 1)


def freeze_startup_objects() -> None:
    """Move every object alive now (napari, torch, the engine) out of the cyclic GC's reach, once.

    A full (generation 2) collection runs in whichever thread happens to allocate and holds the GIL
    while it walks every tracked object; with napari and torch loaded that is millions of objects, and
    ``bench/responsiveness.py`` measured a 314 ms freeze of the viewer from one such collection during
    training. :func:`gc.freeze` puts today's long-lived objects in a permanent generation, so later full
    collections only scan what was made since. It is a process-wide setting; the cost is that garbage
    cycles among the frozen objects are never collected (there are few: these are mostly modules,
    classes and napari's own long-lived objects).
    """
    global _FROZEN
    if not _FROZEN:
        gc.freeze()
        _FROZEN = True


def warm_up() -> tuple[Any, list[str]]:
    """Import what training needs, for a worker thread; returns ``(METHODS, available devices)``.

    Importing torch takes 1-3 s; done in the main thread it would freeze napari when the dock opens.
    Beyond torch and the engine, this builds a throw-away Adam optimiser: torch imports ``torch._dynamo``
    (and sympy, ~800 modules, 2 s on a 2-core CPU) the first time an optimiser is made, and doing it here
    keeps that burst of GIL-holding imports out of the first training run.
    """
    import torch

    from ..devices import available_devices
    from ..engine import trainer  # noqa: F401
    from ..engine.methods import METHODS
    from ..inference import Predictor  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    return METHODS, available_devices()


class lowered_priority:  # noqa: N801 (used like a function)
    """Context manager: run the calling thread ``TRAINING_NICENESS`` steps nicer (Linux; else no-op).

    On Linux a thread has its own nice value, and threads it creates inherit it, so torch's intra-op
    threads started by the training thread run at the lower priority too. The GUI thread then wins the
    CPU whenever it needs it, even when training uses every core. On exit the old value is restored when
    the OS allows it (raising priority may need privileges; a worker thread that stays nicer only runs
    background work).
    """

    def __enter__(self) -> lowered_priority:
        self.tid = None
        try:
            tid = threading.get_native_id()
            self.old = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(self.old + TRAINING_NICENESS, 19))
            self.tid = tid
        except (AttributeError, OSError):  # not Linux, or not allowed
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tid is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, self.tid, self.old)
            except OSError:
                pass


class ProgressRelay(QObject):
    """Carries ``(name, done, total)`` progress from a worker thread to the main thread (queued signal)."""

    progress = Signal(str, int, int)


class TaskRunner(QObject):
    """Runs one task at a time in a napari worker thread and reports its end on the main thread.

    A task is ``"train"`` (a generator whose yielded events go to ``on_yielded``), ``"predict"`` or
    ``"load"`` (a function whose result goes to ``on_returned``). Errors are logged and emitted as
    :attr:`errored`; the worker is created with ``_ignore_errors`` so napari does not show a second
    traceback dialog.
    """

    #: A task began: its name.
    started = Signal(str)
    #: A task's worker raised: task name, exception.
    errored = Signal(str, object)
    #: A task's worker ended (after success, error or abort): its name.
    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: Any = None
        self.task: str | None = None

    @property
    def busy(self) -> bool:
        """Whether a task runs."""
        return self.worker is not None

    def start(
        self,
        task: str,
        func: Callable[..., Any],
        *args: Any,
        on_yielded: Callable[[Any], None] | None = None,
        on_returned: Callable[[Any], None] | None = None,
    ) -> Any:
        """Run ``func(*args)`` in a new worker thread as ``task``; returns the started worker."""
        from napari.qt.threading import create_worker

        if self.worker is not None:
            raise RuntimeError(f"busy with {self.task}")
        worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True)
        if on_yielded is not None:
            worker.yielded.connect(on_yielded)
        if on_returned is not None:
            worker.returned.connect(on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.worker, self.task = worker, task
        self.started.emit(task)
        worker.start()
        return worker

    def _on_errored(self, exc: BaseException) -> None:
        log.error("%s failed", self.task, exc_info=exc)
        self.errored.emit(self.task or "", exc)

    def _on_finished(self) -> None:
        task = self.task or ""
        self.worker, self.task = None, None
        self.finished.emit(task)


def start_warm_up(on_ready: Callable[[Any], None], on_error: Callable[[BaseException], None]) -> Any:
    """Run :func:`warm_up` in a worker thread; ``on_ready((METHODS, devices))`` on the main thread."""
    from napari.qt.threading import create_worker

    worker = create_worker(warm_up, _start_thread=False, _ignore_errors=True)
    worker.returned.connect(on_ready)
    worker.errored.connect(on_error)
    worker.start()
    return worker
