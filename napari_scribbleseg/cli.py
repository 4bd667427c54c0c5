"""Command-line interface: ``scribbleseg train | predict | evaluate | scribbles | sample-data``.

Every option also has a config-file form: ``--config FILE.json`` (or ``.toml``) holds the same option names
(``time_budget``, ``method``...; method options under ``"method_options"``), and options given on the
command line win.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import PreprocessConfig, TrainConfig, field_help
from .errors import ConfigError, DataError, ScribbleSegError

# options of TrainConfig/PreprocessConfig that have their own spelled-out CLI flags in DESIGN.md
_SPECIAL = {"method", "time_budget", "epochs", "device", "seed"}


def _type_of(f: dataclasses.Field) -> Any:
    t = str(f.type)
    if "bool" in t:
        return _parse_bool
    if "int" in t and "float" not in t:
        return int
    if "float" in t:
        return float
    return str


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _add_config_options(p: argparse.ArgumentParser, cls: type, title: str) -> None:
    group = p.add_argument_group(title)
    helps = field_help(cls)
    for f in dataclasses.fields(cls):
        if f.name in _SPECIAL:
            continue
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=_type_of(f),
            default=None,
            help=f"{helps[f.name]} (default: {f.default})",
        )


def _method_help() -> str:
    from .engine.methods import METHODS

    return "; ".join(f"{n}: {METHODS.get(n).description}" for n in METHODS.names())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``scribbleseg``."""
    p = argparse.ArgumentParser(
        prog="scribbleseg", description="Scribble-supervised segmentation of medical volumes (NIfTI)."
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser(
        "train",
        help="train a model from images and scribbles",
        description="Train a scribble-supervised segmentor. Methods: " + _method_help(),
    )
    t.add_argument("images", nargs="*", help="image files or folders (NIfTI)")
    t.add_argument(
        "--scribbles",
        nargs="+",
        default=None,
        metavar="DIR",
        help="scribble folder(s), files named like the images; several = several annotators",
    )
    t.add_argument("--method", default=None, help="training method (default: aag)")
    t.add_argument("--out", default=None, help="model folder to write")
    t.add_argument("--classes", default=None, help="class names, background first: background,RV,MYO,LV")
    t.add_argument(
        "--masks", default=None, metavar="DIR", help="unpaired masks for the adversarial shape prior"
    )
    t.add_argument("--unlabeled", nargs="+", default=None, metavar="IMAGES", help="unlabeled images/folders")
    t.add_argument(
        "--full-masks",
        default=None,
        metavar="DIR",
        help="dense masks paired with some of the images (mixed supervision)",
    )
    t.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds (loading included), keeping the best model",
    )
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--resume", default=None, metavar="MODEL", help="continue training a model folder")
    t.add_argument(
        "--config", default=None, metavar="FILE", help="JSON or TOML file with any of these options"
    )
    t.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option, e.g. --opt a1=0.1 (see the method's docs)",
    )
    t.add_argument("--quiet", action="store_true", help="print only the summary")
    _add_config_options(t, TrainConfig, "training options")
    _add_config_options(t, PreprocessConfig, "preprocessing options")

    pr = sub.add_parser("predict", help="segment volumes with a trained model")
    pr.add_argument("images", nargs="*", help="image files or folders")
    pr.add_argument("--model", default=None, help="model folder")
    pr.add_argument("--out", default=None, help="output folder (files keep the input names)")
    pr.add_argument("--device", default=None)
    pr.add_argument("--uncertainty", action="store_true", help="also write <name>_entropy.nii.gz")
    pr.add_argument("--config", default=None, metavar="FILE")

    ev = sub.add_parser("evaluate", help="Dice and HD95 per class and per case")
    ev.add_argument("--pred", default=None, help="folder of predicted masks")
    ev.add_argument("--truth", default=None, help="folder of true masks (same file names)")
    ev.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    ev.add_argument("--classes", default=None, help="class names (default: the prediction's sidecar)")
    ev.add_argument("--config", default=None, metavar="FILE")

    sc = sub.add_parser("scribbles", help="make scribbles from dense masks (001 Sec. IV-A)")
    sc.add_argument("--masks", default=None, help="folder of masks")
    sc.add_argument("--out", default=None, help="output folder")
    sc.add_argument("--style", default=None, help="skeleton, random-walk or paper (default: paper)")
    sc.add_argument("--slices", default=None, help="'all' (default) or how many slices to scribble")
    sc.add_argument("--seed", type=int, default=None)
    sc.add_argument("--no-background", action="store_true", help="no background scribble")
    sc.add_argument("--config", default=None, metavar="FILE")

    sd = sub.add_parser("sample-data", help="write a sample dataset as NIfTI")
    sd.add_argument("name", help="cardiac or brain")
    sd.add_argument("--out", required=True, help="output folder")
    sd.add_argument("--seed", type=int, default=0)
    sd.add_argument("--subjects", type=int, default=None, help="number of subjects (cardiac)")
    return p


def _load_config_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(p.read_text())
        else:
            data = json.loads(p.read_text())
    except Exception as exc:
        raise ConfigError(f"{path}: cannot parse config file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must hold a mapping of option names to values")
    return {k.replace("-", "_"): v for k, v in data.items()}


def _merge(args: argparse.Namespace, file_opts: dict[str, Any]) -> dict[str, Any]:
    """Command-line values, falling back to the config file."""
    merged = dict(file_opts)
    for k, v in vars(args).items():
        if v is not None and v != [] and v is not False:
            merged[k] = v
        elif k not in merged:
            merged[k] = v
    return merged


def _require(opts: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not opts.get(n)]
    if missing:
        raise ConfigError("missing option(s): " + ", ".join("--" + m.replace("_", "-") for m in missing))


def _parse_method_options(items: Sequence[str], base: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--opt expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def _class_names(
    opts: dict[str, Any], label_files: Sequence[Path], scribble_files: Sequence[Path]
) -> tuple[str, ...]:
    """Classes from --classes, a classes.json beside the data, or the largest label value."""
    from .data import io
    from .labels import default_class_names, parse_class_names

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
    from .config import from_dict
    from .data import io
    from .data.dataset import Case
    from .engine.trainer import Trainer

    _require(opts, "images", "scribbles", "out")
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
        vol = io.read_image(img_path)
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
            v = io.read_image(f)
            unlabeled.append(Case(v.data, v.spacing, [], None, io.case_name(f)))

    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    pre_fields = {f.name for f in dataclasses.fields(PreprocessConfig)}
    tc = from_dict(TrainConfig, {k: v for k, v in opts.items() if k in train_fields and v is not None})
    pc = from_dict(PreprocessConfig, {k: v for k, v in opts.items() if k in pre_fields and v is not None})
    method_opts = _parse_method_options(opts.get("opt") or [], opts.get("method_options") or {})
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
    try:
        return _report(trainer.fit(), opts, t_start)
    finally:
        trainer.close()  # frees the DDP wrappers before the process group goes


def _report(events: Iterator[Any], opts: dict[str, Any], t_start: float) -> int:
    """Print the training events; the exit code (1 when training failed)."""
    from .engine import events as ev

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
            from .devices import format_peak_memory

            memory = format_peak_memory()
            print(
                f"finished ({e.reason}) after {e.step} steps, {speed:.1f} slices/s, in "
                f"{time.monotonic() - t_start:.1f}s"
                + (f", {memory}" if memory else "")
                + f"; model saved to {opts['out']}",
                flush=True,
            )
    return 0


def cmd_predict(opts: dict[str, Any]) -> int:
    """``scribbleseg predict``."""
    from .data import io
    from .inference import Predictor, entropy

    _require(opts, "model", "out", "images")
    images = io.list_nifti(opts["images"], what="images")
    predictor = Predictor.load(opts["model"], device=opts.get("device") or "auto")
    out = Path(opts["out"])
    for img_path in images:
        t = time.monotonic()
        vol = io.read_image(img_path)
        mask, probs = predictor.segment(vol.data, vol.spacing)
        dest = out / img_path.name
        io.write_labels(dest, mask, vol, class_names=predictor.class_names, protected=images)
        if opts.get("uncertainty"):
            io.write_image(
                out / f"{io.case_name(img_path)}_entropy.nii.gz", entropy(probs), vol, protected=images
            )
        print(f"{img_path.name} -> {dest} ({time.monotonic() - t:.1f}s)", flush=True)
    from .devices import format_peak_memory

    memory = format_peak_memory()
    if memory:
        print(f"predicted {len(images)} volume(s); {memory}", flush=True)
    return 0


def cmd_evaluate(opts: dict[str, Any]) -> int:
    """``scribbleseg evaluate``."""
    from .data import io
    from .labels import parse_class_names
    from .metrics import evaluate_pairs, format_table, result_to_json

    _require(opts, "pred", "truth")
    truths = io.list_nifti([opts["truth"]], what="true masks")
    preds = io.pair_by_name(truths, opts["pred"], what="predictions", required=True)
    if opts.get("classes"):
        classes = parse_class_names(opts["classes"])
    else:
        classes = io.read_sidecar(preds[0])
        if classes is None:
            top = max(int(io.read_labels(t, kind="mask").data.max()) for t in truths)
            from .labels import default_class_names

            classes = default_class_names(max(top + 1, 2))
    result = evaluate_pairs(list(zip(preds, truths)), classes)
    print(format_table(result))
    if opts.get("json"):
        Path(opts["json"]).parent.mkdir(parents=True, exist_ok=True)
        Path(opts["json"]).write_text(result_to_json(result))
    return 0


def cmd_scribbles(opts: dict[str, Any]) -> int:
    """``scribbleseg scribbles``."""
    import numpy as np

    from .data import io
    from .data.slices import choose_slice_axis
    from .scribbles import scribbles_from_mask

    _require(opts, "masks", "out")
    files = io.list_nifti([opts["masks"]], what="masks")
    rng = np.random.default_rng(opts.get("seed") or 0)
    slices_opt = opts.get("slices") or "all"
    slices: Any = "all" if str(slices_opt) == "all" else int(slices_opt)
    out = Path(opts["out"])
    for f in files:
        m = io.read_labels(f, kind="mask")
        n = int(m.data.max()) + 1
        s = scribbles_from_mask(
            m.data,
            max(n, 2),
            slice_axis=choose_slice_axis(m.spacing),
            style=opts.get("style") or "paper",
            rng=rng,
            slices=slices,
            background=not opts.get("no_background"),
        )
        io.write_labels(out / f.name, s, m, protected=files)
        print(f"{f.name} -> {out / f.name}")
    return 0


def cmd_sample_data(opts: dict[str, Any]) -> int:
    """``scribbleseg sample-data``."""
    from .data.sample import write_sample

    kwargs = {"seed": opts.get("seed") or 0}
    if opts.get("subjects"):
        kwargs["n_subjects"] = opts["subjects"]
    path = write_sample(opts["name"], Path(opts["out"]), **kwargs)
    print(f"wrote the {opts['name']} sample to {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scribbleseg``; returns the exit code (0 ok, 1 error, 2 usage)."""
    t_start = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        opts = _merge(args, _load_config_file(getattr(args, "config", None)))
        if args.command == "train":
            from .engine.trainer import shutdown_distributed

            try:
                rc = cmd_train(opts, t_start)
            except BaseException:
                shutdown_distributed(barrier=False)
                raise
            if shutdown_distributed(barrier=rc == 0):
                # A torchrun rank whose group is torn down has nothing left for interpreter
                # finalisation, which is where ranks aborted in CI (see shutdown_distributed).
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(rc)
            return rc
        if args.command == "predict":
            return cmd_predict(opts)
        if args.command == "evaluate":
            return cmd_evaluate(opts)
        if args.command == "scribbles":
            return cmd_scribbles(opts)
        if args.command == "sample-data":
            return cmd_sample_data(opts)
    except ScribbleSegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
