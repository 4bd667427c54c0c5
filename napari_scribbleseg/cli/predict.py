"""``scribbleseg predict``: segment volumes with a trained model, one mask file per image."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .options import require


def cmd_predict(opts: dict[str, Any]) -> int:
    """``scribbleseg predict``."""
    from .. import io
    from ..inference import Predictor, entropy

    require(opts, "model", "out", "images")
    images = io.list_nifti(opts["images"], what="images")
    out = Path(opts["out"])
    entropy_file = {f: out / f"{io.case_name(f)}_entropy.nii.gz" for f in images}
    outputs = [q for f in images for q in (out / f.name, io.sidecar_path(out / f.name))]
    outputs += list(entropy_file.values()) if opts.get("uncertainty") else []
    model_files = (
        [q for q in Path(opts["model"]).rglob("*") if q.is_file()] if Path(opts["model"]).is_dir() else []
    )
    io.check_outputs(outputs, inputs=[*images, *model_files], overwrite=bool(opts.get("overwrite")))
    predictor = Predictor.load(opts["model"], device=opts.get("device") or "auto")
    for img_path in images:
        t = time.monotonic()
        vol = io.read_image(img_path)
        mask, probs = predictor.segment(vol.data, vol.spacing, source=img_path)
        dest = out / img_path.name
        io.write_labels(
            dest,
            mask,
            vol,
            class_names=predictor.class_names,
            protected=images,
            made_by="scribbleseg predict",
        )
        if opts.get("uncertainty"):
            io.write_image(
                entropy_file[img_path], entropy(probs), vol, protected=images, made_by="scribbleseg predict"
            )
        print(f"{img_path.name} -> {dest} ({time.monotonic() - t:.1f}s)", flush=True)
    from ..devices import format_peak_memory

    memory = format_peak_memory()
    if memory:
        print(f"predicted {len(images)} volume(s); {memory}", flush=True)
    return 0
