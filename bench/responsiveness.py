"""How long does napari's event loop stall while the plugin trains on the CPU?

Opens the real viewer (under Xvfb when there is no display) with the cardiac sample and the dock widget,
presses Train with the default network width and patch size (method ``aag``, the cardiac sample's
unpaired masks), and while it trains:

- a 10 ms ``QTimer`` (precise) records how late each tick fires: the worst lateness is the longest time
  the GUI could not react (the figure the issue asks to keep under 200 ms);
- the user is simulated: the slider moves to another slice every 500 ms (napari re-slices and repaints,
  the preview request follows).

Writes ``bench/results/responsiveness.json`` and ``.md``.

Usage::

    python bench/responsiveness.py [--seconds 45] [--threads N] [--method aag] [--tag NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import cpu_flags  # noqa: E402

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

if sys.platform.startswith("linux"):
    # a real X11 window (Xvfb when headless): napari's canvas renders and is captured like on a desktop
    os.environ["QT_QPA_PLATFORM"] = "xcb"


NOTES = """
## What keeps the viewer responsive

Each item avoids a main-thread stall that the stall attribution above (``stalls_over_50ms_detail``) finds
on the 2-core machine:

- **Preview layers are made at Train time**, one per event-loop turn, 60 ms apart, before the CPU is busy
  (the attention scales come from a 1-slice forward pass); making the 5 layers (prediction, attention per
  scale) at the first preview stalls the loop for about 1.5 s.
- **`gc.freeze()` once the engine is loaded**: a full cyclic collection over napari's and torch's objects
  in the main thread takes about 314 ms; after the freeze, 15-30 ms.
- **The start-up worker imports `torch._dynamo` and sympy (~800 modules)** when the dock opens; imported
  by the first optimiser step in the training thread they hold the GIL for bursts of 180-250 ms.
- **The method list loads in a worker** and the dock appears at once; importing torch in the main thread
  freezes it for 1.2-2.7 s.
- **The training thread runs at nice +10** (torch's threads inherit it) with CPUs - 1 threads; at equal
  priority, repaints after a slider move come 100-200 ms late.

Threads: with two other busy processes, 1 torch thread trains ~10x faster than 2 (OpenMP threads
spin-wait for a descheduled partner); on a quiet machine 2 threads train ~1.5x faster with the same
worst stall. The widget uses CPUs - 1 threads.

Not avoided: loading the engine when the dock opens stalls once for ~250 ms (dlopen of libtorch and module
imports in the worker hold the GIL), outside any training run.
"""


def write_markdown(res: dict, path: Path) -> None:
    """The results as a Markdown table (plus the notes above)."""
    md = [
        "# GUI responsiveness during CPU training",
        "",
        f"`{res.get('command', 'python bench/responsiveness.py')}`",
        "(Xvfb, a real napari window with the dock widget).",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for k, v in res.items():
        if k in ("stalls_over_50ms_detail", "command"):
            continue
        if isinstance(v, float):
            v = f"{v:.3g}"
        md.append(f"| {k} | {v} |")
    worst = sorted(res.get("stalls_over_50ms_detail", []), key=lambda d: -d["late_ms"])[:5]
    if worst:
        md += ["", "Worst stalls during training (what the main thread ran meanwhile):", ""]
        md += [f"- {d['late_ms']} ms at {d['at_s']} s: {d['main_thread_work_ms']}" for d in worst]
    path.write_text("\n".join(md) + "\n" + NOTES)


def dismiss_notifications(viewer) -> None:
    """Close napari's toasts (e.g. its PyQt5 deprecation notice) so they do not cover the canvas."""
    from napari._qt.dialogs.qt_notification import NapariQtNotification
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    for w in viewer.window._qt_window.findChildren(NapariQtNotification):
        w.close()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=45.0, help="training time budget")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads for training (default: the widget's, CPUs - 1)",
    )
    ap.add_argument("--method", default="aag")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument(
        "--predict",
        action="store_true",
        help="after training, press Predict (uncertainty on) and measure the stalls until the suggested "
        "slices are listed",
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args(argv)

    if not ensure_display():
        raise SystemExit("needs a display or Xvfb")
    import warnings

    import numpy as np
    import torch
    from qtpy.QtCore import QElapsedTimer, Qt, QTimer
    from qtpy.QtWidgets import QApplication

    warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated")

    import napari

    from napari_scribbleseg._napari.widget import ScribbleSegWidget
    from napari_scribbleseg.engine import events as E

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("napari-scribbleseg", "cardiac")
    dismiss_notifications(viewer)
    app = QApplication.instance()
    # stalls while the dock opens and the engine loads in a worker (torch, torch._dynamo)
    warm = QElapsedTimer()
    warm.start()
    warm_ticks: list[float] = []
    warm_timer = QTimer()
    warm_timer.setTimerType(Qt.PreciseTimer)
    warm_timer.setInterval(10)
    warm_timer.timeout.connect(lambda: warm_ticks.append(warm.nsecsElapsed() / 1e6))
    warm_timer.start()
    widget = ScribbleSegWidget(viewer)
    open_ms = warm.nsecsElapsed() / 1e6
    viewer.window.add_dock_widget(widget, name="Scribble segmentation")
    while not widget.ready and warm.nsecsElapsed() < 120e9:
        app.processEvents()
        time.sleep(0.001)
    ready_s = warm.nsecsElapsed() / 1e9
    warm_timer.stop()
    warm_late = np.diff(np.asarray(warm_ticks)) - 10.0
    widget.settings.method_combo.setCurrentText(args.method)
    widget.settings.device_combo.setCurrentText("cpu")
    widget.settings.stop_kind.setCurrentText("seconds")
    widget.settings.stop_value.setValue(args.seconds)
    if args.threads:
        widget.settings.train_form.set_values({"threads": args.threads})
    for _ in range(20):  # let the window settle
        app.processEvents()
        time.sleep(0.02)

    clock = QElapsedTimer()
    clock.start()
    ticks: list[float] = []  # ms since start of each tick
    marks: dict[str, float] = {}
    counts = {"Progress": 0, "Preview": 0}
    last_progress: list = []

    def on_tick() -> None:
        ticks.append(clock.nsecsElapsed() / 1e6)

    timer = QTimer()
    timer.setTimerType(Qt.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(on_tick)

    image = viewer.layers["cardiac"]
    n_slices = image.data.shape[0]
    state = {"slice": 0}

    def scroll() -> None:
        state["slice"] = (state["slice"] + 1) % n_slices
        viewer.dims.set_point(0, image.data_to_world((state["slice"], 0, 0))[0])

    # attribution: what the main thread was doing during each stall
    activities: list[tuple[float, float, str]] = []

    def timed(name_of, fn):
        def wrapper(*a, **k):
            s0 = clock.nsecsElapsed() / 1e6
            try:
                return fn(*a, **k)
            finally:
                activities.append((s0, clock.nsecsElapsed() / 1e6, name_of(*a)))

        return wrapper

    widget.training.on_event = timed(lambda ev: f"handle {type(ev).__name__}", widget.training.on_event)
    widget.previews.make_next_layer = timed(lambda: "make a preview layer", widget.previews.make_next_layer)
    scroll = timed(lambda: "scroll slider", scroll)

    scroller = QTimer()
    scroller.setInterval(500)
    scroller.timeout.connect(scroll)

    def on_event(ev) -> None:
        name = type(ev).__name__
        if name in counts:
            counts[name] += 1
        if isinstance(ev, E.Started):
            marks["started"] = clock.nsecsElapsed() / 1e6
        if isinstance(ev, E.Preview) and "first_preview" not in marks:
            marks["first_preview"] = clock.nsecsElapsed() / 1e6
        if isinstance(ev, E.Progress):
            last_progress[:] = [ev]
        if isinstance(ev, (E.Finished, E.Failed)):
            marks["finished"] = clock.nsecsElapsed() / 1e6
            if isinstance(ev, E.Failed):
                marks["failed"] = ev.message

    widget.event_handled.connect(on_event)

    # garbage collections (any thread): a full collection of napari's + torch's objects can be long
    import gc
    import threading

    gc_runs: list[tuple[float, float, int, str]] = []
    gc_start: dict[int, float] = {}

    def on_gc(phase: str, info: dict) -> None:
        now = clock.nsecsElapsed() / 1e6
        tid = threading.get_ident()
        if phase == "start":
            gc_start[tid] = now
        elif tid in gc_start:
            where = "main" if threading.current_thread() is threading.main_thread() else "worker"
            gc_runs.append((gc_start.pop(tid), now, info["generation"], where))

    gc.callbacks.append(on_gc)
    timer.start()
    scroller.start()
    marks["train_clicked"] = clock.nsecsElapsed() / 1e6
    widget.training.train_btn.click()

    # napari's own event loop (app.exec_) until the worker is done
    def check_done() -> None:
        if "finished" in marks and not widget.busy:
            app.quit()

    done = QTimer()
    done.setInterval(200)
    done.timeout.connect(check_done)
    done.start()
    QTimer.singleShot(int((args.seconds + 120) * 1000), app.quit)
    app.exec_()
    done.stop()
    timer.stop()
    scroller.stop()

    t = np.asarray(ticks)
    stalls = []
    for a, b in zip(t[:-1], t[1:]):
        if b - a - 10.0 > 50 and a >= marks["train_clicked"]:
            inside = [(round(e - s0), n) for s0, e, n in activities if s0 < b and e > a]
            inside += [
                (round(e - s0), f"gc gen {g} ({w} thread)")
                for s0, e, g, w in gc_runs
                if s0 < b and e > a and e - s0 > 5
            ]
            stalls.append(
                {
                    "at_s": round((a - marks["train_clicked"]) / 1000, 2),
                    "late_ms": round(b - a - 10.0),
                    "main_thread_work_ms": inside,
                }
            )
    t0, t1 = marks["train_clicked"], marks.get("finished", t[-1])
    sel = t[(t >= t0) & (t <= t1)]
    late = np.diff(sel) - 10.0
    started = marks.get("started", t0)
    train_late = np.diff(sel[sel >= started]) - 10.0
    worst_at = float(sel[1:][np.argmax(late)] - t0) / 1000 if len(late) else None
    prog = last_progress[0] if last_progress else None
    res = {
        "what": "worst lateness of a 10 ms QTimer in napari's main thread while the plugin trains on the CPU",
        "target_ms": 200,
        "method": args.method,
        "time_budget_s": args.seconds,
        "torch_threads": int(widget.settings.train_config().threads or torch.get_num_threads()),
        "settings": "default TrainConfig (width 16, depth 5, batch 12) and PreprocessConfig (patch 128); "
        "cardiac sample, scribbles on every slice; slider moved every 500 ms",
        "widget_constructor_ms": open_ms,
        "widget_open_to_ready_s": ready_s,
        "worst_lateness_while_engine_loads_ms": float(warm_late.max()) if len(warm_late) else None,
        "worst_lateness_ms": float(late.max()) if len(late) else None,
        "worst_lateness_at_s": worst_at,
        "worst_lateness_after_started_ms": float(train_late.max()) if len(train_late) else None,
        "p99_lateness_ms": float(np.percentile(late, 99)) if len(late) else None,
        "p95_lateness_ms": float(np.percentile(late, 95)) if len(late) else None,
        "median_tick_ms": float(np.median(np.diff(sel))) if len(sel) > 1 else None,
        "stalls_over_100ms": int((late > 100).sum()),
        "stalls_over_50ms": int((late > 50).sum()),
        "click_to_started_s": (started - t0) / 1000,
        "click_to_first_preview_s": (marks["first_preview"] - t0) / 1000
        if "first_preview" in marks
        else None,
        "training_s": (t1 - t0) / 1000,
        "steps": prog.step if prog else None,
        "slices_per_s": prog.slices_per_s if prog else None,
        "progress_events": counts["Progress"],
        "preview_events": counts["Preview"],
        "failed": marks.get("failed"),
        "stalls_over_50ms_detail": stalls,
        "gc_full_collections": [
            {"at_s": round((s0 - marks["train_clicked"]) / 1000, 2), "ms": round(e - s0), "thread": w}
            for s0, e, g, w in gc_runs
            if g == 2
        ],
        "cpu_flags": cpu_flags(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "load_average_at_end": os.getloadavg(),
    }
    if args.predict:  # then Predict the volume: forward pass, uncertainty and the slice ranking
        ticks.clear()
        widget.files.uncertainty_check.setChecked(True)
        scribbled = viewer.layers[f"{image.name} scribbles"]
        scribbled.data[1::2] = 0  # unscribble every other slice: those are the ones to suggest
        scribbled.refresh()
        timer.start()
        scroller.start()
        p0 = clock.nsecsElapsed() / 1e6
        widget.files.predict_btn.click()
        end = time.monotonic() + 180
        while (widget.busy or clock.nsecsElapsed() / 1e6 - p0 < 500) and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)
        p1 = clock.nsecsElapsed() / 1e6
        timer.stop()
        scroller.stop()
        pt = np.asarray(ticks)
        plate = np.diff(pt[pt >= p0]) - 10.0
        res["predict_with_suggestions"] = {
            "worst_lateness_ms": float(plate.max()) if len(plate) else None,
            "stalls_over_100ms": int((plate > 100).sum()),
            "predict_click_to_done_s": round((p1 - p0) / 1000, 2),
            "suggested_slices": len(widget.view.suggestions),
        }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "responsiveness" + (f"_{args.tag}" if args.tag else "")
    cmd = (
        f"python bench/responsiveness.py --seconds {args.seconds:g}"
        + (f" --threads {args.threads}" if args.threads else "")
        + (f" --method {args.method}" if args.method != "aag" else "")
        + (" --predict" if args.predict else "")
    )
    res["command"] = cmd
    (out / f"{stem}.json").write_text(json.dumps(res, indent=2) + "\n")
    write_markdown(res, out / f"{stem}.md")
    print(json.dumps(res, indent=2))
    viewer.close()
    return res


if __name__ == "__main__":
    main()
