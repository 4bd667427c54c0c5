"""``scribbleseg scribbles`` and ``scribbleseg sample-data``: make training data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .options import require


def cmd_scribbles(opts: dict[str, Any]) -> int:
    """``scribbleseg scribbles``."""
    import numpy as np

    from .. import io
    from ..data.slices import choose_slice_axis
    from ..scribbles import scribbles_from_mask

    require(opts, "masks", "out")
    files = io.list_nifti([opts["masks"]], what="masks")
    rng = np.random.default_rng(opts.get("seed") or 0)
    slices_opt = opts.get("slices") or "all"
    slices: Any = "all" if str(slices_opt) == "all" else int(slices_opt)
    out = Path(opts["out"])
    inputs = files + [io.sidecar_path(f) for f in files]
    dest = {f: out / io.output_name(f, "nifti") for f in files}  # scribbles are written as NIfTI
    io.check_outputs(list(dest.values()), inputs=inputs, overwrite=bool(opts.get("overwrite")))
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
        io.write_labels(dest[f], s, m, protected=files, made_by="scribbleseg scribbles")
        print(f"{f.name} -> {dest[f]}")
    return 0


def cmd_sample_data(opts: dict[str, Any]) -> int:
    """``scribbleseg sample-data``."""
    from ..data.samples import write_sample
    from ..errors import DataError
    from ..io import DATASET_CLASSES_FILE, is_own_output

    out = Path(opts["out"])
    if out.is_dir() and any(out.iterdir()) and not opts.get("overwrite"):
        if not is_own_output(out / DATASET_CLASSES_FILE):  # a sample written before may be rewritten
            raise DataError(
                f"{out}: is not empty and holds no sample dataset; choose a new or empty folder, or pass "
                "--overwrite to write the sample's files into it"
            )
    kwargs = {"seed": opts.get("seed") or 0}
    if opts.get("subjects"):
        kwargs["n_subjects"] = opts["subjects"]
    path = write_sample(opts["name"], out, **kwargs)
    print(f"wrote the {opts['name']} sample to {path}")
    return 0
