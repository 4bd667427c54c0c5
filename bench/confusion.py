"""Pooled confusion counts of saved predictions against the dev data's masks: where a run errs.

    python bench/confusion.py "bench/runs/real/cohort/crf/pred" [more prediction folders]

For each folder of predicted masks (``scribbleseg predict`` output, mask encoding 0 background, 1..3
structures), sums the confusion matrix over its volumes against ``acdc-dev/labels`` (same file names) and
prints it with each structure's pooled Dice, precision and recall. Over-segmentation shows as low
precision, a boundary placed too far out as one structure's voxels counted under its neighbour.

It also prints where the false MYO voxels on the background lie (in-plane distance to the true MYO:
a one-pixel ring is a boundary's place, not a wrong region), the volume ratios of the epicardium
(MYO ∪ LV) and the endocardium (LV), and, as a diagnostic only, the mean Dice of the same predictions
with each slice's outer MYO ring that touches background given to background. That last figure is
scored on the test masks to measure how much of the error is where one boundary runs; it is no
post-processing (choosing it needs the masks). ``--out NAME`` also writes ``bench/results/NAME.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nibabel as nib
import numpy as np
from common import cpu_flags

from napari_scribbleseg.errors import DataError, LabelError
from napari_scribbleseg.metrics import confusion_matrix, dice_per_class

DEFAULT_LABELS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "acdc-dev" / "labels"
NAMES = ("background", "RV", "MYO", "LV")


def volumes(pred_dir: Path, labels: Path) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """``(file, prediction, truth)`` of every predicted volume of the folder, read once."""
    files = sorted(pred_dir.glob("*.nii.gz"))
    if not files:
        raise SystemExit(f"{pred_dir}: no .nii.gz predictions")
    out = []
    for f in files:
        truth_file = labels / f.name
        if not truth_file.is_file():
            raise SystemExit(f"{truth_file}: no mask for the prediction {f}")
        out.append((f, np.asarray(nib.load(f).dataobj), np.asarray(nib.load(truth_file).dataobj)))
    return out


def confusion(pairs: list[tuple[Path, np.ndarray, np.ndarray]]) -> np.ndarray:
    """(4, 4) counts summed over the volumes, rows the true class, columns the predicted one."""
    counts = np.zeros((4, 4), np.int64)
    for f, pred, truth in pairs:
        try:
            counts += confusion_matrix(pred, truth, len(NAMES))
        except (DataError, LabelError) as exc:
            raise SystemExit(f"{f}: {exc}") from None
    return counts


#: in-plane distance bands (pixels) of false MYO voxels on the background
BANDS = ((0.0, 1.5), (1.5, 3.0), (3.0, np.inf))


def myo_boundary(pairs: list[tuple[Path, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Where the false MYO voxels lie, the epi/endocardium volume ratios, and the thinner-MYO diagnostic.

    Slices run along the last array axis (the dev data's slice axis). Shares are of the true MYO volume.
    """
    from scipy import ndimage as ndi

    cross = ndi.generate_binary_structure(2, 1)
    bands = np.zeros(len(BANDS))
    sizes = np.zeros(4)  # predicted and true epicardium, predicted and true endocardium
    dice_now, dice_thin, true_myo_total = [], [], 0
    for _, pred, truth in pairs:
        pred, truth = pred.astype(np.int16), truth.astype(np.int16)
        true_myo_total += int((truth == 2).sum())
        sizes += [
            np.isin(pred, (2, 3)).sum(),
            np.isin(truth, (2, 3)).sum(),
            (pred == 3).sum(),
            (truth == 3).sum(),
        ]
        thin = pred.copy()
        for z in range(pred.shape[-1]):
            p, t = thin[..., z], truth[..., z]
            on_bg = (p == 2) & (t == 0)
            if on_bg.any():
                dist = ndi.distance_transform_edt(t != 2) if (t == 2).any() else np.inf
                for i, (lo, hi) in enumerate(BANDS):
                    bands[i] += (on_bg & (dist > lo) & (dist <= hi)).sum()
            myo = p == 2
            ring = myo & ~ndi.binary_erosion(myo, cross)
            p[ring & ndi.binary_dilation(p == 0, cross)] = 0
        dice_now.append(dice_per_class(pred, truth, len(NAMES)).mean())
        dice_thin.append(dice_per_class(thin, truth, len(NAMES)).mean())
    out = {
        f"false MYO on background at {lo:g}-{hi:g} px": b / max(true_myo_total, 1)
        for (lo, hi), b in zip(BANDS, bands, strict=True)
    }
    out["epicardium volume ratio"] = sizes[0] / max(sizes[1], 1)
    out["endocardium volume ratio"] = sizes[2] / max(sizes[3], 1)
    out["mean Dice"] = float(np.mean(dice_now))
    out["mean Dice, MYO one pixel thinner on its background side (diagnostic)"] = float(np.mean(dice_thin))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pred", nargs="+", help="folders of predicted masks")
    p.add_argument("--labels", default=str(DEFAULT_LABELS), help="folder of the true masks")
    p.add_argument("--out", default=None, help="also write bench/results/OUT.md")
    args = p.parse_args(argv)
    lines = []
    for folder in args.pred:
        pairs = volumes(Path(folder), Path(args.labels))
        m = confusion(pairs)
        lines.append(f"== {folder}\ntrue \\ predicted  " + "  ".join(f"{n:>10}" for n in NAMES))
        for i, n in enumerate(NAMES):
            lines.append(f"{n:>17}  " + "  ".join(f"{v:>10}" for v in m[i]))
        for c in range(1, 4):
            tp = m[c, c]
            lines.append(
                f"{NAMES[c]}: Dice {2 * tp / (m[c].sum() + m[:, c].sum()):.3f}, "
                f"precision {tp / max(1, m[:, c].sum()):.3f}, recall {tp / max(1, m[c].sum()):.3f}"
            )
        lines += [f"{k}: {v:.3f}" for k, v in myo_boundary(pairs).items()]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        flags = cpu_flags()
        head = f"### Where the errors are (`python bench/confusion.py ... --out {args.out}`)\n\n"
        head += f"Predictions made on a CPU with flags: {flags} (the flags do not change these counts).\n\n"
        (Path(__file__).resolve().parent / "results" / f"{args.out}.md").write_text(
            head + "```\n" + text + "\n```\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
