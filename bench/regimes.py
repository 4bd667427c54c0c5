"""Benchmark: the data regimes of 001 Sec. V on the cardiac sample, at the same time budget.

Rows, each trained with the real CLI and scored on the held-out test subjects:

* ``METHOD``: scribbles of one annotator (the sample's expert-like "paper" scribbles) -- the baseline;
* ``METHOD + unlabeled``: plus ``--unlabeled`` images (the unpaired-mask subjects' images), which feed the
  adversarial / semi-supervised terms (001 Sec. V-C);
* ``METHOD, 3 annotators``: ``--scribbles`` of three annotators of the same images -- expert-like,
  skeleton and random-walk (made with ``scribbleseg scribbles`` from the training masks), supervised
  losses summed over annotators (001 Sec. V-E);
* ``METHOD + 10% dense``: dense masks of 10 % of the training subjects added with ``--full-masks``
  (weighted CE on them, 001 Sec. V-F).

    python bench/regimes.py --budget 300 [--methods aag] [--reuse]

``--reuse`` takes the baseline row from ``bench/results/methods.json`` when it was run with the same
budget, instead of training it again. Writes ``bench/results/regimes.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from pathlib import Path

from common import cpu_flags
from methods import ROOT, STRUCTURES, bench_method, run


def annotator_scribbles(data: Path, work: Path) -> list[str]:
    """Scribble folders of three annotators of the training images (expert-like, skeleton, random walk)."""
    dirs = [str(data / "train/scribbles")]
    for style, seed in (("skeleton", 11), ("random-walk", 12)):
        out = work / f"annotator_{style}"
        shutil.rmtree(out, ignore_errors=True)
        run(
            [
                "scribbleseg",
                "scribbles",
                "--masks",
                str(data / "train/masks"),
                "--out",
                str(out),
                "--style",
                style,
                "--seed",
                str(seed),
            ]
        )
        dirs.append(str(out))
    return dirs


def dense_subset(data: Path, work: Path, fraction: float) -> tuple[Path, list[str]]:
    """A folder with the dense masks of ``fraction`` of the training subjects (at least one)."""
    masks = sorted((data / "train/masks").glob("*.nii*"))
    n = max(1, math.ceil(fraction * len(masks) - 1e-9))
    out = work / "dense_masks"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for f in masks[:n]:
        shutil.copy(f, out / f.name)
    return out, [f.name for f in masks[:n]]


def markdown(rows: list[dict], budget: float, baselines: dict[str, float]) -> str:
    lines = [
        f"### Data regimes on the cardiac sample, {budget:.0f} s training budget (held-out test subjects)",
        "",
        "| run | "
        + " | ".join(f"Dice {s}" for s in STRUCTURES)
        + " | Dice mean | vs one annotator, scribbles only | HD95 mean (mm) | slices/s | train wall (s) |",
        "|" + "---|" * (len(STRUCTURES) + 6),
    ]
    for r in rows:
        base = baselines.get(r["base"])
        delta = "baseline" if r["method"] == r["base"] else f"{r['dice_mean'] - base:+.3f}"
        lines.append(
            f"| {r['method']} | "
            + " | ".join(f"{r['dice'][s]:.3f}" for s in STRUCTURES)
            + f" | **{r['dice_mean']:.3f}** | {delta} | {r['hd95_mean']:.1f} | {r['slices_per_s']} | "
            f"{r['train_wall_s']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=300)
    p.add_argument("--methods", default="aag")
    p.add_argument("--dense-fraction", type=float, default=0.1)
    p.add_argument("--data", default=str(ROOT / "data" / "cardiac"))
    p.add_argument("--work", default=str(ROOT / "runs" / "regimes"))
    p.add_argument("--reuse", action="store_true", help="baseline rows from results/methods.json")
    args = p.parse_args()
    data, work = Path(args.data), Path(args.work)
    if not (data / "train/images").is_dir():
        run(["scribbleseg", "sample-data", "cardiac", "--out", str(data)])
    work.mkdir(parents=True, exist_ok=True)
    annotators = annotator_scribbles(data, work)
    dense_dir, dense_names = dense_subset(data, work, args.dense_fraction)
    previous = {}
    methods_json = ROOT / "results" / "methods.json"
    if args.reuse and methods_json.is_file():
        prev = json.loads(methods_json.read_text())
        if prev.get("budget_s") == args.budget:
            previous = {r["method"]: r for r in prev["rows"]}
    rows = []
    for method in args.methods.split(","):
        runs = [
            (method, [], None),
            (f"{method} + unlabeled", ["--unlabeled", str(data / "unlabeled/images")], None),
            (f"{method}, 3 annotators", [], annotators),
            (f"{method} + {args.dense_fraction:.0%} dense", ["--full-masks", str(dense_dir)], None),
        ]
        for label, extra, scribbles in runs:
            if label == method and method in previous:
                row = dict(previous[method], reused_from="results/methods.json")
            else:
                row = bench_method(method, data, args.budget, work, extra, label, scribbles)
            row["base"] = method
            rows.append(row)
            print(json.dumps(row), flush=True)
    baselines = {r["method"]: r["dice_mean"] for r in rows if r["method"] == r["base"]}
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    meta = {
        "budget_s": args.budget,
        "data": str(data),
        "dense_masks_of": dense_names,
        "annotators": ["paper (the sample's scribbles)", "skeleton, seed 11", "random-walk, seed 12"],
        "machine": "2-core CPU, torch CPU build",
        "cpu_flags": cpu_flags(),
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }
    (out / "regimes.json").write_text(json.dumps(meta, indent=2))
    md = markdown(rows, args.budget, baselines)
    (out / "regimes.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
