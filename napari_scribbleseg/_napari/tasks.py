"""The widget's worker threads: one task at a time, cancellable, and never outliving the process's Qt.

:class:`TaskRunner` runs the widget's tasks (train, predict, propagate, load) in napari workers, through
:class:`WorkerHandle`, which knows when a worker has begun and ended, lets a task be cancelled, and
disconnects the widget's callbacks. Workers still running when the interpreter exits are waited for
first: its clean-up deletes their signal objects, and a worker emitting on a deleted one ("wrapped C/C++
object of type WorkerBaseSignals has been deleted") makes PyQt abort the whole process.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class TaskCancelled(Exception):
    """Raised in a worker thread when its task was cancelled (the viewer is closing)."""


class TaskFailed(Exception):
    """A task's ``RuntimeError``, re-raised as another type.

    superqt's workers take a ``RuntimeError`` for "the worker object was deleted": they only warn, and
    emit neither ``errored`` nor ``finished``, which would leave the widget busy forever (torch raises
    ``RuntimeError`` for many ordinary failures).
    """


#: Handles of workers whose thread may still run; waited for at interpreter exit (:func:`_wait_at_exit`).
_LIVE: set[WorkerHandle] = set()
#: How long the interpreter's exit waits for each worker still running (s).
EXIT_WAIT_S = 60.0
#: How long :meth:`WorkerHandle.wait` waits for a worker whose thread has not begun yet (s).
START_GRACE_S = 1.0


class WorkerHandle:
    """A worker thread of the widget: its cancel flag, its end, and the slots the widget connected.

    The function runs wrapped: it sets :attr:`started` on entry, stops at once with
    :class:`TaskCancelled` if :attr:`cancelled` is already set, and turns a ``RuntimeError`` into
    :class:`TaskFailed`. :attr:`ended` is set (from the worker thread, by a direct connection) when the
    worker emits its last signal, so after :meth:`wait` no code of the worker touches a Qt object.

    Parameters
    ----------
    func
        The task: a function, or a generator function (its yielded values are the worker's events).
    args, kwargs
        Its arguments.
    """

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        from napari.qt.threading import create_worker
        from qtpy.QtCore import Qt

        self.started = threading.Event()
        self.ended = threading.Event()
        self.cancelled = threading.Event()
        self._links: list[tuple[Any, Callable[..., Any]]] = []
        self.worker = create_worker(
            self._wrap(func), *args, _start_thread=False, _ignore_errors=True, **kwargs
        )
        self.worker.finished.connect(self.ended.set, Qt.DirectConnection)

    def _wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(func):

            def generator(*args: Any, **kwargs: Any) -> Any:
                self._enter()
                try:
                    return (yield from func(*args, **kwargs))
                except RuntimeError as exc:
                    raise TaskFailed(str(exc) or type(exc).__name__) from exc

            return generator

        def function(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return func(*args, **kwargs)
            except RuntimeError as exc:
                raise TaskFailed(str(exc) or type(exc).__name__) from exc

        return function

    def _enter(self) -> None:
        self.started.set()
        if self.cancelled.is_set():
            raise TaskCancelled("cancelled before it began")

    def connect(self, signal: str, slot: Callable[..., Any]) -> None:
        """Connect ``slot`` to the worker's ``signal`` (remembered for :meth:`disconnect`)."""
        sig = getattr(self.worker, signal)
        sig.connect(slot)
        self._links.append((sig, slot))

    def start(self, pool: Any = None) -> None:
        """Start the worker thread, in napari's global thread pool or ``pool``.

        It is waited for at interpreter exit if it still runs then.
        """
        _register_exit_wait()
        for ended in [h for h in _LIVE if h.ended.is_set()]:
            _LIVE.discard(ended)
        _LIVE.add(self)
        if pool is None:
            self.worker.start()
        else:
            pool.start(self.worker)

    def cancel(self, *, abort: bool = True) -> None:
        """Ask the task to end: set :attr:`cancelled`, and ``worker.quit()`` when ``abort``.

        ``abort=False`` for a training generator, which must run to its end (the trainer stops itself
        after its current step) rather than be left suspended mid-run.
        """
        self.cancelled.set()
        if abort:
            self.worker.quit()

    def disconnect(self) -> None:
        """Disconnect every slot connected with :meth:`connect` (no callback after a close)."""
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except (TypeError, RuntimeError):  # already disconnected, or the signals object is gone
                pass
        self._links.clear()

    def release(self) -> None:
        """The worker ended: drop the connections (they hold the widget) and the exit wait."""
        self.disconnect()
        if self.ended.is_set():
            _LIVE.discard(self)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the worker's end; True when it ended (or never began).

        A worker whose thread has not begun within :data:`START_GRACE_S` (superqt defers the start to
        the event loop, which is blocked while we wait) is not waited for: being cancelled, it ends at
        once if it ever begins.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        if not self.started.wait(min(START_GRACE_S, max(timeout, 0.0))):
            return not self.started.is_set()
        return self.ended.wait(max(deadline - time.monotonic(), 0.0))


def _wait_at_exit() -> None:
    """Wait for the workers still running before the interpreter's clean-up.

    The clean-up deletes their signal objects, and a worker emitting on a deleted one makes PyQt abort the
    process.
    """
    for handle in list(_LIVE):
        if handle.started.is_set() and not handle.ended.is_set():
            handle.cancelled.set()
            try:
                handle.worker.quit()  # a training generator ends at its next event
            except RuntimeError:
                pass
            handle.ended.wait(EXIT_WAIT_S)
    _LIVE.clear()
    for pool in _POOLS:  # a queued task must not start during the interpreter's clean-up
        pool.clear()
        pool.waitForDone(int(EXIT_WAIT_S * 1000))


_EXIT_HOOKED = False
#: The thread pools of our own (:func:`private_pool`).
_POOLS: list[Any] = []


def private_pool(threads: int = 1) -> Any:
    """A new ``QThreadPool`` of ``threads`` threads, emptied and waited for at interpreter exit."""
    from qtpy.QtCore import QThreadPool

    pool = QThreadPool()
    pool.setMaxThreadCount(threads)
    _POOLS.append(pool)
    return pool


def _register_exit_wait() -> None:
    global _EXIT_HOOKED
    if not _EXIT_HOOKED:
        atexit.register(_wait_at_exit)
        _EXIT_HOOKED = True


class TaskRunner(QObject):
    """Runs one task at a time in a napari worker thread and reports its end on the main thread.

    A task is ``"train"`` (a generator whose yielded events go to ``on_yielded``), ``"predict"``,
    ``"propagate"`` or ``"load"`` (a function whose result goes to ``on_returned``). Errors are logged
    and emitted as :attr:`errored`; the worker is created with ``_ignore_errors`` so napari does not show
    a second traceback dialog.
    """

    #: A task began: its name.
    started = Signal(str)
    #: A task's worker raised: task name, exception.
    errored = Signal(str, object)
    #: A task's worker ended (after success, error or abort): its name.
    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.handle: WorkerHandle | None = None
        self.task: str | None = None

    @property
    def busy(self) -> bool:
        """Whether a task runs."""
        return self.handle is not None

    @property
    def worker(self) -> Any:
        """The running napari worker, if any."""
        return None if self.handle is None else self.handle.worker

    def start(
        self,
        task: str,
        func: Callable[..., Any],
        *args: Any,
        on_yielded: Callable[[Any], None] | None = None,
        on_returned: Callable[[Any], None] | None = None,
        progress: Callable[..., None] | None = None,
    ) -> Any:
        """Run ``func(*args)`` in a new worker thread as ``task``; returns the started worker.

        ``progress``, if given, is passed to ``func`` as its ``progress`` keyword, wrapped so that it
        raises :class:`TaskCancelled` once the task is cancelled (:meth:`shutdown`).
        """
        if self.handle is not None:
            raise RuntimeError(f"busy with {self.task}")
        handle: WorkerHandle | None = None

        def guarded(*a: Any) -> None:  # ``handle`` is bound below, before the thread starts
            if handle is not None and handle.cancelled.is_set():
                raise TaskCancelled("cancelled")
            progress(*a)  # type: ignore[misc]

        kwargs = {"progress": guarded} if progress is not None else {}
        handle = WorkerHandle(func, *args, **kwargs)
        if on_yielded is not None:
            handle.connect("yielded", on_yielded)
        if on_returned is not None:
            handle.connect("returned", on_returned)
        handle.connect("errored", self._on_errored)
        handle.connect("finished", self._on_finished)
        self.handle, self.task = handle, task
        self.started.emit(task)
        handle.start()
        return handle.worker

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, TaskCancelled):
            return
        log.error("%s failed", self.task, exc_info=exc)
        self.errored.emit(self.task or "", exc)

    def _on_finished(self) -> None:
        task = self.task or ""
        if self.handle is not None:
            self.handle.release()
        self.handle, self.task = None, None
        self.finished.emit(task)

    def shutdown(self, timeout: float) -> bool:
        """Cancel the running task, disconnect its callbacks and wait up to ``timeout`` s for its end.

        Training is not aborted (the session's stop flag ends it after the current step); Predict and
        Propagate end at their next slice; Load runs to its end. Returns True when no task is left
        running; the runner is then idle again and :attr:`finished` is emitted.
        """
        handle, task = self.handle, self.task
        if handle is None:
            return True
        handle.cancel(abort=task != "train")
        handle.disconnect()
        if not handle.wait(timeout):
            log.warning("%s did not end within %.0f s of the viewer closing", task, timeout)
            return False
        handle.release()
        self.handle, self.task = None, None
        self.finished.emit(task or "")
        return True
