"""The argument parser of ``scribbleseg``: one sub-command per job, flags generated from the configs.

Options of :class:`~napari_scribbleseg.config.TrainConfig` and
:class:`~napari_scribbleseg.config.PreprocessConfig` get a ``--flag`` each, with the field's help text and
default, so the CLI, the widget and the checkpoint share one set of option names.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .. import __version__
from ..config import PreprocessConfig, TrainConfig, field_help

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
            choices=f.metadata.get("choices"),
            help=f"{helps[f.name]} (default: {f.default})",
        )


def _add_overwrite(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing files that scribbleseg did not write (never the command's inputs)",
    )


def _add_input_choice(p: argparse.ArgumentParser) -> None:
    """``--frame`` and ``--series``: which 3D volume of a 4D file or a DICOM folder to read."""
    p.add_argument(
        "--frame",
        type=int,
        default=None,
        metavar="N",
        help="frame (0-based) of 4D images, e.g. a cine MRI phase; 3D images ignore it",
    )
    p.add_argument(
        "--series",
        default=None,
        metavar="UID",
        help="SeriesInstanceUID to read from DICOM folders that hold several series",
    )


def _add_format(p: argparse.ArgumentParser) -> None:
    from ..io.formats import OUTPUT_FORMATS

    p.add_argument(
        "--format",
        default=None,
        choices=list(OUTPUT_FORMATS),
        help="mask file format (default: the image's family: NIfTI and MetaImage -> nifti, NRRD -> "
        "seg.nrrd (3D Slicer), DICOM -> dicom-seg); nifti also writes <name>.json and ITK-SNAP "
        "<name>.labels.txt",
    )


def _method_help() -> str:
    from ..engine.method_choice import AUTO, AUTO_DESCRIPTION
    from ..engine.methods import METHODS

    methods = "; ".join(f"{n}: {METHODS.get(n).description}" for n in METHODS.names())
    return f"{AUTO} (default): {AUTO_DESCRIPTION}; {methods}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``scribbleseg``."""
    p = argparse.ArgumentParser(
        prog="scribbleseg",
        description="Scribble-supervised segmentation of medical volumes (NIfTI, NRRD, MetaImage, DICOM).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser(
        "train",
        help="train a model from images and scribbles",
        description="Train a scribble-supervised segmentor. Methods: " + _method_help(),
    )
    t.add_argument("images", nargs="*", help="image files or folders (NIfTI, NRRD, MetaImage, DICOM series)")
    t.add_argument(
        "--scribbles",
        nargs="+",
        default=None,
        metavar="DIR",
        help="scribble folder(s), files named like the images; several = several annotators",
    )
    t.add_argument("--method", default=None, help="training method (default: auto, which says what it chose)")
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
        "--session",
        default=None,
        metavar="DIR",
        help="train a session folder saved by the napari widget: its images, annotation layers, classes, "
        "method and options; continues its model (DIR/model) and saves it there. Options given here win; "
        "a stopping option (--time-budget, --epochs, --max-steps) replaces the session's",
    )
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
    _add_input_choice(t)
    _add_config_options(t, TrainConfig, "training options")
    _add_config_options(t, PreprocessConfig, "preprocessing options")

    pr = sub.add_parser("predict", help="segment volumes with a trained model")
    pr.add_argument("images", nargs="*", help="image files or folders")
    pr.add_argument("--model", default=None, help="model folder")
    pr.add_argument("--out", default=None, help="output folder (files keep the input names)")
    pr.add_argument("--device", default=None)
    pr.add_argument("--uncertainty", action="store_true", help="also write <name>_entropy.nii.gz")
    pr.add_argument(
        "--scribbles",
        nargs="+",
        default=None,
        metavar="DIR",
        help="scribbles of the images (paired by name, optional per image): a scribbled volume's mask "
        "combines the network with its scribbles propagated over it, and keeps every scribbled voxel",
    )
    pr.add_argument("--config", default=None, metavar="FILE")
    _add_input_choice(pr)
    _add_format(pr)
    _add_overwrite(pr)

    pg = sub.add_parser(
        "propagate",
        help="dense masks from scribbles in seconds, without training (3D random walker)",
        description="Spread each image's scribbles over its whole volume with a 3D random walker in the "
        "region around the scribbles (outside a background stroke drawn around the structures is "
        "background). No model is trained; for one volume scribbled on a few slices it is the fast path.",
    )
    pg.add_argument("images", nargs="*", help="image files or folders")
    pg.add_argument("--scribbles", nargs="+", default=None, metavar="DIR", help="scribble folder(s)")
    pg.add_argument("--out", default=None, help="output folder (files keep the input names)")
    pg.add_argument("--classes", default=None, help="class names, background first")
    pg.add_argument("--beta", type=float, default=None, help="edge sensitivity of the walk (default 2000)")
    pg.add_argument("--slice-axis", type=int, default=None, help="axis scribbled slice by slice")
    pg.add_argument("--keep-all", action="store_true", help="keep every connected component")
    pg.add_argument(
        "--convex",
        default=None,
        metavar="STRUCTURES",
        help="structures (comma-separated names) filled to their convex hull per slice, as train's --convex",
    )
    pg.add_argument("--config", default=None, metavar="FILE")
    _add_input_choice(pg)
    _add_format(pg)
    _add_overwrite(pg)

    ev = sub.add_parser("evaluate", help="Dice and HD95 per class and per case")
    ev.add_argument("--pred", default=None, help="folder of predicted masks")
    ev.add_argument("--truth", default=None, help="folder of true masks (same file names)")
    ev.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    ev.add_argument("--classes", default=None, help="class names (default: the prediction's sidecar)")
    ev.add_argument("--config", default=None, metavar="FILE")
    _add_overwrite(ev)

    sc = sub.add_parser("scribbles", help="make scribbles from dense masks (001 Sec. IV-A)")
    sc.add_argument("--masks", default=None, help="folder of masks")
    sc.add_argument("--out", default=None, help="output folder")
    sc.add_argument("--style", default=None, help="skeleton, random-walk or paper (default: paper)")
    sc.add_argument("--slices", default=None, help="'all' (default) or how many slices to scribble")
    sc.add_argument("--seed", type=int, default=None)
    sc.add_argument("--no-background", action="store_true", help="no background scribble")
    sc.add_argument("--config", default=None, metavar="FILE")
    _add_overwrite(sc)

    sd = sub.add_parser("sample-data", help="write a sample dataset as NIfTI")
    sd.add_argument("name", help="cardiac or brain")
    sd.add_argument("--out", required=True, help="output folder")
    sd.add_argument("--seed", type=int, default=0)
    sd.add_argument("--subjects", type=int, default=None, help="number of subjects (cardiac)")
    _add_overwrite(sd)
    return p
