"""``scribbleseg train --session DIR``: train a session folder saved by the napari widget.

The session (:mod:`napari_scribbleseg.io.session_folder`) gives the images (found by checksum), their
scribble and dense-mask layers, the classes, the method with its options, the preprocessing, the stopping
criterion and the unpaired-mask source. Training continues the session's model (``DIR/model``, from its
saved step) and saves it back there, so opening the session in napari afterwards shows the new model.
Options given on the command line win over the session's; a stopping option (``--time-budget``,
``--epochs``, ``--max-steps``) replaces the session's criterion rather than adding to it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PreprocessConfig, TrainConfig, from_dict
from ..errors import ConfigError, DataError
from .options import parse_method_options
from .train import run_trainer

#: TrainConfig fields that say when a run stops.
STOP_FIELDS = ("time_budget", "epochs", "max_steps")


def session_cases(spec: Any, opts: dict[str, Any]) -> list[Any]:
    """The annotated images of session ``spec`` as training cases (arrays as the files hold them).

    Raises
    ------
    DataError
        An image that is missing or changed since the session was saved, or an annotation file that does
        not fit its image.
    """
    from .. import io
    from ..data.dataset import Case
    from ..io import session_folder as SF

    cases = []
    for ref in spec.images:
        layers = [la for la in spec.layers if la.image == ref.name]
        if not layers:
            continue
        path, problem = SF.find_image(spec, ref)
        if problem is not None:
            raise DataError(
                f"{spec.folder}: {problem}; put it back, or open the session in napari to locate it"
            )
        vol = io.read_image(
            path, frame=None if ref.copied else ref.frame, series=None if ref.copied else ref.series
        )
        if vol.shape != ref.shape or not io.affines_match(vol.affine, np.asarray(ref.affine)):
            raise DataError(f"{path}: its grid is not the one saved with the session for image {ref.name!r}")
        scribbles, mask = [], None
        for la in layers:
            data = io.read_labels(spec.path_of(la.file), kind="mask", reference=vol).data
            if la.kind == "dense":
                mask = data.astype(np.int64) if np.any(data) else None
            elif np.any(data):
                scribbles.append(data)
        if scribbles or mask is not None:
            cases.append(Case(vol.data, vol.spacing, scribbles, mask, ref.name))
    if not cases:
        raise DataError(f"{spec.folder}: the session has no scribbles (nor dense masks) to train on")
    return cases


def session_unpaired(spec: Any, opts: dict[str, Any], n_classes: int) -> list[Any]:
    """The unpaired masks: ``--masks DIR`` when given, else the session's source (layer, folder, sample)."""
    from .. import io
    from ..data.dataset import Case
    from ..engine.session import UnpairedSource

    source = spec.unpaired
    if opts.get("masks"):
        source = {"kind": "folder", "path": opts["masks"]}
    if source is None:
        return []
    if source["kind"] == "layer":
        files = [la.file for la in spec.layers if la.kind == "unpaired" and la.name == source.get("layer")]
        if not files:
            raise DataError(f"{spec.folder}: the unpaired-mask layer {source.get('layer')!r} has no file")
        m = io.read_labels(spec.path_of(files[0]), kind="mask", n_classes=n_classes)
        return [Case(np.zeros(m.shape, np.float32), m.spacing, [], m.data, str(source.get("layer")))]
    if source["kind"] == "folder":
        out = []
        for f in io.list_nifti([source.get("path")], what="unpaired masks"):
            m = io.read_labels(f, kind="mask", n_classes=n_classes)
            out.append(Case(np.zeros(m.shape, np.float32), m.spacing, [], m.data, io.case_name(f)))
        return out
    return UnpairedSource("sample", name=str(source.get("name"))).load()


def session_configs(spec: Any, opts: dict[str, Any]) -> tuple[TrainConfig, dict[str, Any], PreprocessConfig]:
    """Training config, method options and preprocessing: the session's, with the command line's on top."""
    settings = spec.settings
    train = dict(settings.get("train_config") or {})
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    cli = {k: v for k, v in opts.items() if k in train_fields and v is not None}
    if any(k in cli for k in STOP_FIELDS):
        train.update(dict.fromkeys(STOP_FIELDS))
    session_method = train.get("method")
    train.update(cli)
    pre_fields = {f.name for f in dataclasses.fields(PreprocessConfig)}
    pre = dict(settings.get("preprocess") or {})
    pre.update({k: v for k, v in opts.items() if k in pre_fields and v is not None})
    base = dict(settings.get("method_options") or {}) if train.get("method") == session_method else {}
    base.update(opts.get("method_options") or {})
    options = parse_method_options(opts.get("opt") or [], base)
    return (
        from_dict(TrainConfig, train, strict=False),
        options,
        from_dict(PreprocessConfig, pre, strict=False),
    )


def cmd_train_session(opts: dict[str, Any], t_start: float) -> int:
    """``scribbleseg train --session DIR``."""
    from .. import __version__, io
    from ..data.dataset import Case
    from ..engine.trainer import Trainer
    from ..io import checkpoint
    from ..io import session_folder as SF

    if opts.get("images") or opts.get("scribbles") or opts.get("full_masks"):
        raise ConfigError(
            "--session takes the images and annotations from the session folder: give no IMAGES, "
            "--scribbles or --full-masks with it"
        )
    spec = SF.read_session(opts["session"])
    own_model = spec.folder / SF.MODEL
    out = Path(opts.get("out") or own_model)
    checkpoint.check_model_destination(out)  # a bad output place fails now, not after the budget
    resume = opts.get("resume")
    if resume is None and spec.model_dir is not None and (spec.model_dir / "state").is_dir():
        resume = spec.model_dir
    if resume is not None:
        checkpoint.load_meta(resume)
    cases = session_cases(spec, opts)
    unpaired = session_unpaired(spec, opts, len(spec.classes))
    unlabeled = []
    if opts.get("unlabeled"):
        for f in io.list_nifti(opts["unlabeled"], what="unlabeled images"):
            v = io.read_image(f, frame=opts.get("frame"), series=opts.get("series"))
            unlabeled.append(Case(v.data, v.spacing, [], None, io.case_name(f)))
    config, options, pre = session_configs(spec, opts)
    print(
        f"session {spec.folder}: {len(cases)} annotated image(s)"
        + (f", continuing {resume}" if resume else "")
    )
    trainer = Trainer(
        cases, spec.classes, config, options, pre, unpaired, unlabeled, out, resume, start_time=t_start
    )
    rc = run_trainer(trainer, {**opts, "out": str(out)}, t_start, "run the same command again")
    if trainer.step and spec.model is None and out.resolve() == own_model.resolve():
        SF.write_session(dataclasses.replace(spec, model=SF.MODEL), package_version=__version__)
    return rc
