"""Closing the viewer while the dock's workers run: nothing is left running, nothing aborts the process.

A worker that outlives the viewer emits on Qt objects the interpreter's clean-up deletes ("wrapped C/C++
object of type WorkerBaseSignals has been deleted") and PyQt then aborts the process, so each scenario
runs in a subprocess of its own and must exit with 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("napari")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

pytestmark = [
    pytest.mark.qt,
    pytest.mark.slow,  # a new Python process with napari and torch per scenario
    pytest.mark.skipif(not ensure_display(), reason="napari's canvas needs a display: install Xvfb"),
]

PRELUDE = """
import sys, time
import numpy as np
import napari
from qtpy.QtWidgets import QApplication
from napari_scribbleseg._napari.widget import ScribbleSegWidget

def check(ok, what):
    if not ok:
        print("FAILED:", what, flush=True)
        sys.exit(3)

def dock():
    viewer = napari.Viewer(show=False)
    viewer.add_image(np.zeros((4, 32, 32), np.float32), name="img")
    widget = ScribbleSegWidget(viewer)
    viewer.window.add_dock_widget(widget)
    return viewer, widget

def process_until(condition, seconds=120.0):
    app, end = QApplication.instance(), time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    return condition()
"""

CLOSE_WHILE_LOADING = """
viewer, widget = dock()
check(not widget.ready, "the engine was already loaded")
viewer.close()  # at once: the engine-loading worker is still importing torch
check(widget._warm_up.ended.is_set(), "closing did not wait for the engine-loading worker")
check(not widget.ready, "a callback of the engine-loading worker ran after the close")
print("OK", flush=True)
"""

CLOSE_DURING_PREDICT_AND_LOAD = """
calls = {"progress": 0, "returned": [], "load_done": False}

viewer, widget = dock()
check(process_until(lambda: widget.ready), "the engine did not load")

def slow_predict(items, uncertainty, progress=None):  # 400 slices of 50 ms: 20 s unless cancelled
    for i in range(400):
        time.sleep(0.05)
        progress("img", i + 1, 400)
        calls["progress"] += 1
    return []

widget.session.predict = slow_predict
widget.files._on_predicted = lambda results: calls["returned"].append("predict")
widget.predict()
check(process_until(lambda: calls["progress"] >= 3, 30), "predict did not start")
viewer.close()
check(not widget.runner.busy, "the predict worker still runs after the close")
check(calls["progress"] < 400, "the prediction was not cancelled")

viewer, widget = dock()
check(process_until(lambda: widget.ready), "the engine did not load (2nd viewer)")

def slow_load(folder, device="auto"):  # cannot be cancelled: the close waits for it
    time.sleep(2.0)
    calls["load_done"] = True
    return object()

widget.session.load = slow_load
widget.files._on_loaded = lambda predictor: calls["returned"].append("load")
widget.load_model("some-model-folder")
viewer.close()
check(calls["load_done"], "closing did not wait for the load worker")
process_until(lambda: False, 1.0)  # queued signals, if any, are delivered now
check(calls["returned"] == [], f"callbacks ran after the close: {calls['returned']}")
print("OK", flush=True)
"""


def run_script(body: str, tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "SCRIBBLESEG_RECOVERY_DIR": str(tmp_path / "recovery"),
    }
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=400, check=False
    )


def test_closing_the_viewer_while_the_engine_loads_waits_for_it_and_exits_cleanly(tmp_path):
    proc = run_script(CLOSE_WHILE_LOADING, tmp_path)
    assert proc.returncode == 0, (proc.stdout, proc.stderr[-3000:])
    assert "OK" in proc.stdout
    assert "has been deleted" not in proc.stderr, proc.stderr[-3000:]


def test_closing_the_viewer_cancels_predict_waits_for_load_and_runs_no_callback(tmp_path):
    proc = run_script(CLOSE_DURING_PREDICT_AND_LOAD, tmp_path)
    assert proc.returncode == 0, (proc.stdout, proc.stderr[-3000:])
    assert "OK" in proc.stdout
    assert "has been deleted" not in proc.stderr, proc.stderr[-3000:]


class _Close:
    """A stand-in for a close event (Qt sets ``spontaneous`` only for events from the window system)."""

    def __init__(self, spontaneous: bool) -> None:
        self._spontaneous = spontaneous

    def type(self):
        from qtpy.QtCore import QEvent

        return QEvent.Close

    def spontaneous(self) -> bool:
        return self._spontaneous


def test_a_close_by_the_user_counts_once_the_window_is_hidden(qtbot):
    """napari may still ask "close?" after the user's click: only a hidden window has really closed."""
    from qtpy.QtWidgets import QMainWindow

    from napari_scribbleseg._napari.closing import WindowCloseWatcher

    calls = []
    window = QMainWindow()
    qtbot.addWidget(window)
    watcher = WindowCloseWatcher(lambda: calls.append("closed"))
    watcher.watch(window)
    window.show()
    watcher.eventFilter(window, _Close(spontaneous=True))
    assert calls == []  # the confirmation dialog may cancel it
    window.hide()
    assert calls == ["closed"]
    window.show()
    window.close()  # a close from code is final at once
    assert calls == ["closed", "closed"]
