"""``scribbleseg evaluate``: Dice and HD95 per class and per case of predicted masks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DataError
from .options import require


def cmd_evaluate(opts: dict[str, Any]) -> int:
    """``scribbleseg evaluate``."""
    from .. import io
    from ..labels import parse_class_names
    from ..metrics import evaluate_pairs, format_table, result_to_json

    require(opts, "pred", "truth")
    truths = io.list_nifti([opts["truth"]], what="true masks")
    preds = io.pair_by_name(truths, opts["pred"], what="predictions", required=True)
    if opts.get("json"):
        inputs = [*truths, *preds, *(io.sidecar_path(f) for f in [*truths, *preds])]
        io.check_outputs([opts["json"]], inputs=inputs, overwrite=bool(opts.get("overwrite")))
    if opts.get("classes"):
        classes = parse_class_names(opts["classes"])
    else:
        classes = io.read_class_names(preds[0], kind="mask")
        if classes is None:
            top = max(int(io.read_labels(t, kind="mask").data.max()) for t in truths)
            from ..labels import default_class_names

            classes = default_class_names(max(top + 1, 2))
    result = evaluate_pairs(list(zip(preds, truths)), classes)
    print(format_table(result))
    if opts.get("json"):
        Path(opts["json"]).parent.mkdir(parents=True, exist_ok=True)
        content = {"made_by": "scribbleseg evaluate", **json.loads(result_to_json(result))}
        io.atomic_write_json(opts["json"], content, error=DataError)
    return 0
