"""Pooled confusion counts of saved predictions against the dev data's masks: where a run errs.

    python bench/confusion.py "bench/runs/real/cohort/crf/pred" [more prediction folders]

For each folder of predicted masks (``scribbleseg predict`` output, mask encoding 0 background, 1..3
structures), sums the confusion matrix over its volumes against ``acdc-dev/labels`` (same file names) and
prints it with each structure's pooled Dice, precision and recall. Over-segmentation shows as low
precision, a boundary placed too far out as one structure's voxels counted under its neighbour.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nibabel as nib
import numpy as np

from napari_scribbleseg.errors import DataError, LabelError
from napari_scribbleseg.metrics import confusion_matrix

DEFAULT_LABELS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "acdc-dev" / "labels"
NAMES = ("background", "RV", "MYO", "LV")


def confusion(pred_dir: Path, labels: Path) -> np.ndarray:
    """(4, 4) counts summed over the folder's volumes, rows the true class, columns the predicted one."""
    counts = np.zeros((4, 4), np.int64)
    files = sorted(pred_dir.glob("*.nii.gz"))
    if not files:
        raise SystemExit(f"{pred_dir}: no .nii.gz predictions")
    for f in files:
        truth_file = labels / f.name
        if not truth_file.is_file():
            raise SystemExit(f"{truth_file}: no mask for the prediction {f}")
        pred = np.asarray(nib.load(f).dataobj)
        truth = np.asarray(nib.load(truth_file).dataobj)
        try:
            counts += confusion_matrix(pred, truth, len(NAMES))
        except (DataError, LabelError) as exc:
            raise SystemExit(f"{f}: {exc}") from None
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pred", nargs="+", help="folders of predicted masks")
    p.add_argument("--labels", default=str(DEFAULT_LABELS), help="folder of the true masks")
    args = p.parse_args(argv)
    for folder in args.pred:
        m = confusion(Path(folder), Path(args.labels))
        print(f"== {folder}\ntrue \\ predicted  " + "  ".join(f"{n:>10}" for n in NAMES))
        for i, n in enumerate(NAMES):
            print(f"{n:>17}  " + "  ".join(f"{v:>10}" for v in m[i]))
        for c in range(1, 4):
            tp = m[c, c]
            print(
                f"{NAMES[c]}: Dice {2 * tp / (m[c].sum() + m[:, c].sum()):.3f}, "
                f"precision {tp / max(1, m[:, c].sum()):.3f}, recall {tp / max(1, m[c].sum()):.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
