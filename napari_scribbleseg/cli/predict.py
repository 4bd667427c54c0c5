"""``scribbleseg predict``: segment volumes with a trained model, one mask file per image."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .options import require


def cmd_predict(opts: dict[str, Any]) -> int:
    """``scribbleseg predict``.

    Each image's mask goes to ``--out`` in ``--format`` (default: the image's family; see
    :func:`napari_scribbleseg.io.output_format`), named by :func:`napari_scribbleseg.io.output_name`.
    Formats, outputs and inputs are all checked before the model is loaded.
    """
    from .. import io
    from ..inference import Predictor, entropy

    require(opts, "model", "out", "images")
    images = io.list_volumes(opts["images"], what="images")
    out = Path(opts["out"])
    fmts = {f: io.output_format(opts.get("format"), f) for f in images}
    for f in images:
        io.check_output_format(fmts[f], f)
    dest = {f: out / io.output_name(f, fmts[f]) for f in images}
    entropy_file = {f: out / f"{io.case_name(f)}_entropy.nii.gz" for f in images}
    outputs = [q for f in images for q in io.output_files(dest[f], fmts[f])]
    outputs += list(entropy_file.values()) if opts.get("uncertainty") else []
    model_files = (
        [q for q in Path(opts["model"]).rglob("*") if q.is_file()] if Path(opts["model"]).is_dir() else []
    )
    scribble_dirs = opts.get("scribbles") or []
    scribble_dirs = scribble_dirs if isinstance(scribble_dirs, list) else [scribble_dirs]
    pairs = [io.pair_by_name(images, d, what="scribbles", required=False) for d in scribble_dirs]
    scribbled = {f: [row[i] for row in pairs if row[i] is not None] for i, f in enumerate(images)}
    inputs = io.input_files(images) + io.input_files([q for qs in scribbled.values() for q in qs])
    io.check_outputs(outputs, inputs=[*inputs, *model_files], overwrite=bool(opts.get("overwrite")))
    predictor = Predictor.load(opts["model"], device=opts.get("device") or "auto")
    for img_path in images:
        t = time.monotonic()
        vol = io.read_image(img_path, frame=opts.get("frame"), series=opts.get("series"))
        scr = _scribbles(io, scribbled[img_path], vol, len(predictor.class_names))
        mask, probs = predictor.segment(vol.data, vol.spacing, source=img_path, scribbles=scr)
        io.write_mask(
            dest[img_path],
            mask,
            vol,
            class_names=predictor.class_names,
            fmt=fmts[img_path],
            protected=inputs,
            made_by="scribbleseg predict",
        )
        if opts.get("uncertainty"):
            io.write_image(
                entropy_file[img_path], entropy(probs), vol, protected=inputs, made_by="scribbleseg predict"
            )
        how = " with its scribbles" if scr is not None else ""
        print(f"{img_path.name} -> {dest[img_path]}{how} ({time.monotonic() - t:.1f}s)", flush=True)
    from ..devices import format_peak_memory

    memory = format_peak_memory()
    if memory:
        print(f"predicted {len(images)} volume(s); {memory}", flush=True)
    return 0


def _scribbles(io: Any, files: list[Path], vol: Any, n_classes: int) -> Any:
    """The merged scribbles of one image (several files: several annotators), or ``None``."""
    if not files:
        return None
    from ..scribbles.propagate import merge_annotators

    arrays = [io.read_labels(f, kind="scribbles", n_classes=n_classes, reference=vol).data for f in files]
    return merge_annotators(arrays)
