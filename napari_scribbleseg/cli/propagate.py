"""``scribbleseg propagate``: dense masks from scribbles in seconds, without training (3D random walker)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import DataError
from .options import require


def cmd_propagate(opts: dict[str, Any]) -> int:
    """``scribbleseg propagate``: each image's scribbles spread over its volume, one mask file per image."""
    from .. import io
    from ..engine.propagation import propagated_mask
    from ..inference.postprocess import convex_classes
    from ..scribbles.propagate import DEFAULT_BETA
    from .train import _class_names

    require(opts, "images", "scribbles", "out")
    images = io.list_volumes(opts["images"], what="images")
    scribble_dirs = opts["scribbles"] if isinstance(opts["scribbles"], list) else [opts["scribbles"]]
    pairs = [io.pair_by_name(images, d, what="scribbles", required=False) for d in scribble_dirs]
    scribble_files = [p for pair in pairs for p in pair if p is not None]
    classes = _class_names(opts, [], scribble_files)
    out = Path(opts["out"])
    beta = float(opts.get("beta") or DEFAULT_BETA)
    convex = convex_classes(opts.get("convex") or "", classes)
    protected = io.input_files(images) + scribble_files + [io.sidecar_path(f) for f in scribble_files]
    fmts = {f: io.output_format(opts.get("format"), f) for f in images}
    for f in images:
        io.check_output_format(fmts[f], f)
    dest = {f: out / io.output_name(f, fmts[f]) for f in images}
    outputs = [q for f in images for q in io.output_files(dest[f], fmts[f])]
    io.check_outputs(outputs, inputs=protected, overwrite=bool(opts.get("overwrite")))
    for i, img_path in enumerate(images):
        files = [pair[i] for pair in pairs if pair[i] is not None]
        if not files:
            raise DataError(f"{img_path}: no scribbles named {img_path.name} in {', '.join(scribble_dirs)}")
        t = time.monotonic()
        vol = io.read_image(img_path, frame=opts.get("frame"), series=opts.get("series"))
        scribbles = [
            io.read_labels(f, kind="scribbles", n_classes=len(classes), reference=vol).data for f in files
        ]
        post = {
            "slice_axis": opts.get("slice_axis"),
            "keep_largest": not opts.get("keep_all"),
            "convex": convex,
        }
        try:
            mask = propagated_mask(vol.data, scribbles, len(classes), vol.spacing, beta=beta, **post)
        except DataError as exc:
            raise DataError(f"{img_path}: {exc}") from None
        io.write_mask(
            dest[img_path],
            mask,
            vol,
            class_names=classes,
            fmt=fmts[img_path],
            protected=protected,
            made_by="scribbleseg propagate",
        )
        print(f"{img_path.name} -> {dest[img_path]} ({time.monotonic() - t:.1f}s)", flush=True)
    return 0
