"""``scribbleseg train``: read the images and annotations, train, print the events."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import PreprocessConfig, TrainConfig
from ..errors import DataError
from .options import parse_method_options, require


def _class_names(
    opts: dict[str, Any], label_files: Sequence[Path], scribble_files: Sequence[Path]
) -> tuple[str, ...]:
    """Classes from --classes, a classes.json beside the data, or the largest label value."""
    from .. import io
    from ..labels import default_class_names, parse_class_names

    if opts.get("classes"):
        return parse_class_names(opts["classes"])
    for f in list(scribble_files) + list(label_files):
        for parent in list(f.parents)[:3]:
            cj = parent / "classes.json"
            if cj.is_file():
                try:
                    return parse_class_names(json.loads(cj.read_text())["classes"])
                except (KeyError, json.JSONDecodeError, TypeError):
                    raise DataError(f'{cj}: expected {{"classes": [...]}}') from None
    top = 0
    for f in scribble_files:
        top = max(top, int(io.read_labels(f, kind="scribbles").data.max()))
    for f in label_files:
        top = max(top, int(io.read_labels(f, kind="mask").data.max()) + 1)
    names = default_class_names(max(top, 2))
    print(f"note: no --classes given; using {len(names)} classes {','.join(names)}", file=sys.stderr)
    return names


def cmd_train(opts: dict[str, Any], t_start: float) -> int:
    """``scribbleseg train``."""
    from .. import io
    from ..config import from_dict
    from ..data.dataset import Case
    from ..engine.trainer import Trainer
    from ..io import checkpoint

    require(opts, "images", "scribbles", "out")
    # a bad output place or resume folder fails now, not after the whole budget
    checkpoint.check_model_destination(opts["out"])
    if opts.get("resume"):
        checkpoint.load_meta(opts["resume"])
    images = io.list_nifti(opts["images"], what="images")
    scribble_dirs = opts["scribbles"] if isinstance(opts["scribbles"], list) else [opts["scribbles"]]
    pairs = [io.pair_by_name(images, d, what="scribbles", required=False) for d in scribble_dirs]
    for img_i, img in enumerate(images):
        if all(p[img_i] is None for p in pairs):
            if not opts.get("full_masks"):
                raise DataError(
                    f"{img}: no scribbles named {img.name} in {', '.join(map(str, scribble_dirs))}"
                )
    full = (
        io.pair_by_name(images, opts["full_masks"], what="full masks", required=False)
        if opts.get("full_masks")
        else [None] * len(images)
    )
    mask_files = io.list_nifti([opts["masks"]], what="unpaired masks") if opts.get("masks") else []
    scribble_files = [p for row in pairs for p in row if p is not None]
    classes = _class_names(opts, mask_files + [f for f in full if f], scribble_files)
    n = len(classes)

    cases = []
    for i, img_path in enumerate(images):
        vol = io.read_image(img_path, frame=opts.get("frame"), series=opts.get("series"))
        scr = [
            io.read_labels(row[i], kind="scribbles", n_classes=n, reference=vol).data
            for row in pairs
            if row[i] is not None
        ]
        mask = io.read_labels(full[i], kind="mask", n_classes=n, reference=vol).data if full[i] else None
        if not scr and mask is None:
            continue
        cases.append(Case(vol.data, vol.spacing, scr, mask, io.case_name(img_path)))
    unpaired = []
    for f in mask_files:
        m = io.read_labels(f, kind="mask", n_classes=n)
        unpaired.append(Case(m.data.astype("float32") * 0, m.spacing, [], m.data, io.case_name(f)))
    unlabeled = []
    if opts.get("unlabeled"):
        for f in io.list_nifti(opts["unlabeled"], what="unlabeled images"):
            v = io.read_image(f, frame=opts.get("frame"), series=opts.get("series"))
            unlabeled.append(Case(v.data, v.spacing, [], None, io.case_name(f)))

    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    pre_fields = {f.name for f in dataclasses.fields(PreprocessConfig)}
    tc = from_dict(TrainConfig, {k: v for k, v in opts.items() if k in train_fields and v is not None})
    pc = from_dict(PreprocessConfig, {k: v for k, v in opts.items() if k in pre_fields and v is not None})
    method_opts = parse_method_options(opts.get("opt") or [], opts.get("method_options") or {})
    trainer = Trainer(
        cases,
        classes,
        tc,
        method_opts,
        pc,
        unpaired,
        unlabeled,
        opts["out"],
        opts.get("resume"),
        start_time=t_start,
    )
    return run_trainer(trainer, opts, t_start, f"add --resume {opts['out']} to the same command")


def run_trainer(trainer: Any, opts: dict[str, Any], t_start: float, to_continue: str) -> int:
    """Run ``trainer`` to its end, printing its events; the exit code.

    Ctrl-C and SIGTERM stop it after the current step and save the model (``opts["out"]``); the message
    then says how to continue (``to_continue``).
    """
    received: list[int] = []
    previous = _stop_on_signals(trainer, received)
    try:
        rc = _report(trainer.fit(), opts, t_start)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        trainer.close()  # frees the DDP wrappers before the process group goes
    if received and rc == 0:
        saved = (
            f"the model of step {trainer.best_step} is saved in {opts['out']}" if trainer.step else "nothing"
        )
        print(
            f"interrupted ({signal.Signals(received[0]).name}): {saved}; {to_continue} to continue the run",
            file=sys.stderr,
            flush=True,
        )
        return 128 + received[0]
    return rc


def _stop_on_signals(trainer: Any, received: list[int]) -> dict[int, Any]:
    """Ctrl-C and SIGTERM stop training after the current step and save it, like the budget's end.

    A second signal aborts at once (KeyboardInterrupt). Returns the previous handlers; the signals seen are
    appended to ``received``. Handlers can only be installed from the main thread (elsewhere: none).
    """

    def on_signal(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        print(
            f"\n{signal.Signals(signum).name}: stopping after this step and saving the model "
            "(again to abort without saving)",
            file=sys.stderr,
            flush=True,
        )
        trainer.stop()

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def _report(events: Iterator[Any], opts: dict[str, Any], t_start: float) -> int:
    """Print the training events; the exit code (1 when training failed)."""
    from ..engine import events as ev

    quiet = opts.get("quiet")
    last_print = 0.0
    speed = 0.0
    for e in events:
        if isinstance(e, ev.Progress):
            speed = e.slices_per_s
        if isinstance(e, ev.Started):
            print(
                f"training {e.method} on {e.device} ({e.precision}): {e.n_train_slices} annotated slices, "
                f"{e.n_val_volumes} validation volumes" + (", resumed" if e.resumed else ""),
                flush=True,
            )
            for line in e.info:
                print(f"note: {line}", flush=True)
            for note in e.notes:
                print(f"warning: {note}", file=sys.stderr, flush=True)
        elif isinstance(e, ev.Progress) and not quiet and (e.elapsed - last_print >= 10 or e.step == 1):
            last_print = e.elapsed
            loss = " ".join(f"{k}={v:.4f}" for k, v in e.losses.items())
            eta = f" ETA {e.eta:.0f}s" if e.eta is not None else ""
            print(
                f"step {e.step} epoch {e.epoch:.2f} {loss} lr={e.lr:.2e} {e.slices_per_s:.1f} slices/s{eta}",
                flush=True,
            )
        elif isinstance(e, ev.Validation) and not quiet:
            mark = " *best*" if e.best else ""
            print(
                f"validation at step {e.step}: "
                + " ".join(f"{k}={v:.4f}" for k, v in e.metrics.items())
                + mark,
                flush=True,
            )
        elif isinstance(e, ev.Failed):
            print(f"error: {e.message}", file=sys.stderr)
            if e.details:
                print(e.details, file=sys.stderr)
            return 1
        elif isinstance(e, ev.Finished):
            from ..devices import format_peak_memory

            memory = format_peak_memory()
            print(
                f"finished ({e.reason}) after {e.step} steps, {speed:.1f} slices/s, in "
                f"{time.monotonic() - t_start:.1f}s"
                + (f", {memory}" if memory else "")
                + f"; model saved to {opts['out']}",
                flush=True,
            )
    return 0
