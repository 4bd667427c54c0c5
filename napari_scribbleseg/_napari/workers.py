"""Worker threads of the dock widget and the process-wide policies that keep napari responsive.

The widget runs one task at a time (train, predict, propagate or load) in a napari ``thread_worker``;
:class:`~.tasks.TaskRunner` (re-exported here) starts it, routes its results to the main thread, reports
when it ends, and cancels and waits for it when the viewer closes. The policies: the engine is imported
by a start-up worker (:func:`warm_up`), training threads run at a lower priority
(:class:`lowered_priority`) and with one CPU left to napari (:func:`default_training_threads`), and the
objects alive once the engine is loaded are moved out of the cyclic GC's reach
(:func:`freeze_startup_objects`).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal

from .tasks import TaskCancelled, TaskFailed, TaskRunner, WorkerHandle, private_pool

__all__ = [
    "ProgressRelay",
    "TaskCancelled",
    "TaskFailed",
    "TaskRunner",
    "WorkerHandle",
    "default_training_threads",
    "freeze_startup_objects",
    "lowered_priority",
    "start_warm_up",
    "warm_up",
]

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


_WARM_UP_POOL: Any = None


def start_warm_up(on_ready: Callable[[Any], None], on_error: Callable[[BaseException], None]) -> WorkerHandle:
    """Run :func:`warm_up` in a worker thread; ``on_ready((METHODS, devices))`` on the main thread.

    Warm-ups run one at a time in a pool of their own. In napari's global pool (as many threads as CPUs),
    the warm-ups of two docks opened together filled both threads of a 2-core machine while their imports
    waited for the GIL, which the main thread held while Qt scaled an image with that same pool: napari
    froze.
    """
    global _WARM_UP_POOL
    if _WARM_UP_POOL is None:
        _WARM_UP_POOL = private_pool(1)
    handle = WorkerHandle(warm_up)
    handle.connect("returned", on_ready)
    handle.connect("errored", on_error)
    handle.connect("finished", handle.release)
    handle.start(_WARM_UP_POOL)
    return handle
