"""Screenshots of the real plugin while it trains (for the README), rendered headless.

Opens napari (under Xvfb when there is no display: ``xvfb-run -a python bench/screenshots.py`` or just
``python bench/screenshots.py``), loads the cardiac sample through the plugin's sample-data contribution,
docks the widget from the plugin manifest, keeps the sample's scribbles on 3 slices only (¼, ½ and ¾ of
the stack, as a clinician would draw them), presses Train (method ``aag`` on the CPU) and saves:

- ``docs/screenshots/training.png``: the window during training, prediction layer refreshed from the
  previews, scribbles visible, progress bar running;
- ``docs/screenshots/attention.png``: the same moment with the attention map of the segmentor shown over
  the image (scribbles hidden);
- ``docs/screenshots/predicted.png``: after Stop and Predict, the whole-volume prediction with the
  uncertainty (entropy) layer;
- ``docs/screenshots/suggestions.png``: the same window with the dock scrolled to its View panel, the
  first suggested slice ("Scribble here next") clicked and its uncertain region shown over the image;
- ``docs/screenshots/plot.png`` and ``suggestion_list.png``: the dock's training panel (progress and the
  live plot of loss, validation score and time to the next preview) as it was during training, and its
  View panel with the suggestion list, each grabbed from the running widget at its full size.

Usage::

    python bench/screenshots.py [--seconds 90] [--width 16] [--patch 128]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from responsiveness import dismiss_notifications  # noqa: E402

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

if sys.platform.startswith("linux"):
    # a real X11 window (Xvfb when headless): napari's canvas renders and is captured like on a desktop
    os.environ["QT_QPA_PLATFORM"] = "xcb"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90.0, help="training time before the screenshots")
    ap.add_argument("--width", type=int, default=16, help="network width")
    ap.add_argument("--patch", type=int, default=96, help="patch size")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args(argv)
    if not ensure_display("1600x1000x24"):
        raise SystemExit("needs a display or Xvfb")

    import warnings

    from qtpy.QtWidgets import QApplication

    warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated")

    import napari

    from napari_scribbleseg.engine import events as E

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(title="napari-scribbleseg", show=True)
    viewer.window._qt_window.resize(1560, 960)
    viewer.open_sample("napari-scribbleseg", "cardiac")
    dismiss_notifications(viewer)
    _, widget = viewer.window.add_plugin_dock_widget("napari-scribbleseg", "Scribble segmentation")
    app = QApplication.instance()

    def wait(cond, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    wait(lambda: widget.ready, 120)
    widget.settings.method_combo.setCurrentText("aag")
    widget.settings.device_combo.setCurrentText("cpu")
    widget.settings.stop_kind.setCurrentText("seconds")
    widget.settings.stop_value.setValue(args.seconds + 60)  # stopped by hand below
    widget.settings.train_form.set_values({"width": args.width, "preview_every": 2.0})
    widget.settings.pre_form.set_values({"patch_size": args.patch})
    image = viewer.layers["cardiac"]
    scribbles = viewer.layers["cardiac scribbles"]
    n = scribbles.data.shape[0]
    kept = {n // 4, n // 2, (3 * n) // 4}
    data = scribbles.data.copy()
    data[[z for z in range(n) if z not in kept]] = 0
    scribbles.data = data
    viewer.dims.set_point(0, image.data_to_world((n // 2, 0, 0))[0])  # a scribbled mid-ventricular slice
    events: list = []
    widget.event_handled.connect(events.append)
    widget.training.train_btn.click()
    t0 = time.monotonic()
    wait(
        lambda: time.monotonic() - t0 > args.seconds and any(isinstance(e, E.Preview) for e in events),
        args.seconds + 600,
    )
    wait(lambda: False, 1.0)  # let the last preview paint
    viewer.layers.selection.active = viewer.layers["cardiac scribbles"]
    att = [la for la in viewer.layers if " attention " in la.name]
    for la in att:
        la.visible = False
    wait(lambda: False, 0.3)
    viewer.screenshot(str(out / "training.png"), canvas_only=False, flash=False)
    widget.training.grab().save(str(out / "plot.png"))
    viewer.layers["cardiac scribbles"].visible = False
    viewer.layers["cardiac prediction"].opacity = 0.3
    for la in att:
        la.visible = la.name.endswith("1/8") or (len(att) == 1)
    if att:
        viewer.layers.selection.active = next(la for la in att if la.visible)
    wait(lambda: False, 0.5)
    viewer.screenshot(str(out / "attention.png"), canvas_only=False, flash=False)

    widget.training.stop_btn.click()
    wait(lambda: not widget.busy, 60)
    for la in att:
        la.visible = False
    viewer.layers["cardiac prediction"].opacity = 0.5
    widget.files.uncertainty_check.setChecked(True)
    widget.files.predict_btn.click()
    wait(lambda: not widget.busy, 300)
    viewer.layers["cardiac uncertainty"].visible = False
    viewer.layers.selection.active = viewer.layers["cardiac prediction"]
    wait(lambda: False, 0.5)
    viewer.screenshot(str(out / "predicted.png"), canvas_only=False, flash=False)

    # "Scribble here next": the dock scrolled to its View panel, the first suggestion clicked (the viewer
    # jumps to that slice), the uncertainty layer over the image marks where the network hesitates
    n_suggested = len(widget.view.suggestions)
    widget._scroll.ensureWidgetVisible(widget.view)
    if n_suggested:
        widget.view.suggestion_list.setCurrentRow(0)
    unc = viewer.layers["cardiac uncertainty"]
    unc.visible, unc.opacity = True, 0.6
    viewer.layers["cardiac prediction"].opacity = 0.3
    viewer.layers.selection.active = unc
    wait(lambda: False, 0.5)
    viewer.screenshot(str(out / "suggestions.png"), canvas_only=False, flash=False)
    widget.view.grab().save(str(out / "suggestion_list.png"))
    steps = max((e.step for e in events), default=0)
    print(
        f"saved {out}/training.png, attention.png, predicted.png, suggestions.png, plot.png, "
        f"suggestion_list.png after {steps} steps; {n_suggested} slices suggested"
    )
    viewer.close()


if __name__ == "__main__":
    main()
