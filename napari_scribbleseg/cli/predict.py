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
    from ..devices import format_peak_memory

    memory = format_peak_memory()
    if memory:
        print(f"predicted {len(images)} volume(s); {memory}", flush=True)
    return 0
