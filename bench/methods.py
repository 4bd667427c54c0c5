"""Benchmark: every method on the cardiac sample at the same training time budget.

Runs the real CLI (``scribbleseg train / predict / evaluate``) one method after the other, so the wall time
includes loading, and writes ``bench/results/methods.json`` and ``bench/results/methods.md``.

    python bench/methods.py --budget 300 [--methods pce,crf,aag] [--data bench/data/cardiac]

``--structures-only`` trains on the sample's scribbles with the background scribbles removed: only the
structures are marked, the setting of 004 Sec. 4.2 (weak labels inside the targets alone), where partial CE
has nothing that tells it where a structure ends.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from common import cpu_flags

ROOT = Path(__file__).resolve().parent
STRUCTURES = ("RV", "MYO", "LV")


def run(cmd: list[str]) -> str:
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return proc.stdout


def bench_method(
    method: str,
    data: Path,
    budget: float,
    work: Path,
    extra: list[str],
    label: str | None = None,
    scribbles: list[str] | None = None,
    train_images: Path | None = None,
    test_images: Path | None = None,
    test_masks: Path | None = None,
) -> dict:
    """Train ``method`` with the CLI, predict the test subjects, evaluate; one result row.

    ``label`` names the run (default: the method), ``scribbles`` the scribble folders (default: the
    sample's ``train/scribbles``); the image and mask folders default to the sample's ``train/images``,
    ``test/images`` and ``test/masks``.
    """
    label = label or method
    train_images = train_images or data / "train/images"
    test_images = test_images or data / "test/images"
    test_masks = test_masks or data / "test/masks"
    model, pred = work / "models" / label, work / "pred" / label
    t = time.monotonic()
    out = run(
        [
            "scribbleseg",
            "train",
            str(train_images),
            "--scribbles",
            *(scribbles or [str(data / "train/scribbles")]),
            "--masks",
            str(data / "unpaired_masks"),
            "--classes",
            "background,RV,MYO,LV",
            "--method",
            method,
            "--time-budget",
            str(budget),
            "--out",
            str(model),
            "--quiet",
            *extra,
        ]
    )
    wall = time.monotonic() - t
    m = re.search(r"after (\d+) steps, ([\d.]+) slices/s", out)
    t = time.monotonic()
    pred_out = run(["scribbleseg", "predict", "--model", str(model), "--out", str(pred), str(test_images)])
    n_test = len(list(test_images.glob("*.nii*")))
    pred_time = (time.monotonic() - t) / max(n_test, 1)
    res_json = work / f"eval_{label}.json"
    run(
        [
            "scribbleseg",
            "evaluate",
            "--pred",
            str(pred),
            "--truth",
            str(test_masks),
            "--json",
            str(res_json),
        ]
    )
    res = json.loads(res_json.read_text())
    peaks = [re.search(r"peak memory (\d+) MiB RSS", text) for text in (out, pred_out)]
    return {
        "method": label,
        "budget_s": budget,
        "train_wall_s": round(wall, 1),
        "steps": int(m.group(1)) if m else None,
        "slices_per_s": float(m.group(2)) if m else None,
        "predict_s_per_volume": round(pred_time, 2),
        "train_peak_rss_mib": int(peaks[0].group(1)) if peaks[0] else None,
        "predict_peak_rss_mib": int(peaks[1].group(1)) if peaks[1] else None,
        "dice": res["mean"]["dice"],
        "hd95": res["mean"]["hd95"],
        "dice_mean": res["mean"]["dice_mean"],
        "hd95_mean": res["mean"]["hd95_mean"],
    }


def structures_only(scribbles: Path, out: Path) -> Path:
    """Copies of the scribble files in ``scribbles`` without their background scribbles (value 1 -> 0)."""
    import nibabel as nib
    import numpy as np

    from napari_scribbleseg.labels import SCRIBBLE_BACKGROUND, UNANNOTATED

    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(scribbles.glob("*.nii*")):
        img = nib.load(f)
        data = np.asarray(img.dataobj)
        data = np.where(data == SCRIBBLE_BACKGROUND, UNANNOTATED, data).astype(data.dtype)
        nib.save(nib.Nifti1Image(data, img.affine, img.header), out / f.name)
    return out


def _fmt(value: float | None) -> str:
    """HD95 is undefined (None) where a structure was not predicted at all."""
    return "n/a" if value is None else f"{value:.1f}"


def markdown(rows: list[dict], title: str) -> str:
    head = (
        "| method | "
        + " | ".join(f"Dice {s}" for s in STRUCTURES)
        + " | Dice mean | "
        + " | ".join(f"HD95 {s} (mm)" for s in STRUCTURES)
        + " | HD95 mean | slices/s | train wall (s) | predict wall per volume (s)"
        + " | peak RSS train / predict (MiB) |"
    )
    sep = "|" + "---|" * (len(STRUCTURES) * 2 + 7)
    lines = [f"### {title}", "", head, sep]
    for r in rows:
        lines.append(
            f"| {r['method']} | "
            + " | ".join(f"{r['dice'][s]:.3f}" for s in STRUCTURES)
            + f" | **{r['dice_mean']:.3f}** | "
            + " | ".join(_fmt(r["hd95"][s]) for s in STRUCTURES)
            + f" | {_fmt(r['hd95_mean'])} | "
            f"{r['slices_per_s']} | {r['train_wall_s']} | {r.get('predict_s_per_volume', 'n/a')} | "
            f"{r.get('train_peak_rss_mib') or 'n/a'} / {r.get('predict_peak_rss_mib') or 'n/a'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--budget", type=float, default=300)
    p.add_argument("--methods", default="pce,wpce,crf,unetd,aag")
    p.add_argument("--data", default=str(ROOT / "data" / "cardiac"))
    p.add_argument("--work", default=str(ROOT / "runs"))
    p.add_argument("--name", default="methods")
    p.add_argument("--extra", default="", help="extra train options, e.g. '--seed 1'")
    p.add_argument("--suffix", default="", help="appended to each method's row label, e.g. ' (seed 1)'")
    p.add_argument(
        "--structures-only",
        action="store_true",
        help="train on the sample's scribbles without the background ones (004's weak-label setting)",
    )
    p.add_argument(
        "--merge",
        action="store_true",
        help="update the rows of these methods in an existing results/NAME table, keep the others",
    )
    args = p.parse_args()
    data, work = Path(args.data), Path(args.work)
    if not (data / "train/images").is_dir():
        run(["scribbleseg", "sample-data", "cardiac", "--out", str(data)])
    scribbles = None
    if args.structures_only:
        scribbles = [str(structures_only(data / "train/scribbles", work / "scribbles_structures_only"))]
    rows = []
    for method in args.methods.split(","):
        label = f"{method}{args.suffix}"
        rows.append(bench_method(method, data, args.budget, work, args.extra.split(), label, scribbles))
        print(json.dumps(rows[-1]), flush=True)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    if args.merge and (out / f"{args.name}.json").is_file():
        old = json.loads((out / f"{args.name}.json").read_text())["rows"]
        new = {r["method"]: r for r in rows}
        rows = [new.pop(r["method"], r) for r in old] + list(new.values())
    meta = {
        "budget_s": args.budget,
        "data": str(data),
        "machine": "2-core CPU, torch CPU build",
        "cpu_flags": cpu_flags(),
        "date": time.strftime("%Y-%m-%d"),
        "scribbles": "structures only (background scribbles removed)" if args.structures_only else "sample",
        "rows": rows,
    }
    (out / f"{args.name}.json").write_text(json.dumps(meta, indent=2))
    title = f"Cardiac sample, {args.budget:.0f} s training budget per method (held-out test subjects)"
    if args.structures_only:
        title += ", scribbles of the structures only (no background scribbles)"
    md = markdown(rows, title)
    (out / f"{args.name}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
