"""Benchmark: the interactive case — one volume, scribbles on 3 of its slices, a 60 s budget, whole volume
predicted. Uses the held-out test subjects of the cardiac sample (their masks make the
scribbles and score the prediction) and the CLI, so wall time includes loading.

    python bench/interactive.py --budget 60 --methods pce,crf,aag --subjects 3
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from common import cpu_flags
from methods import ROOT, STRUCTURES, bench_method, run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--budget", type=float, default=60)
    p.add_argument("--methods", default="pce,crf,aag")
    p.add_argument("--subjects", type=int, default=3)
    p.add_argument("--slices", type=int, default=3)
    p.add_argument("--data", default=str(ROOT / "data" / "cardiac"))
    p.add_argument("--work", default=str(ROOT / "runs" / "interactive"))
    p.add_argument("--name", default="interactive", help="results file name (bench/results/NAME.md/json)")
    p.add_argument("--extra", default="", help="extra train options, e.g. '--opt dice_weight=0'")
    args = p.parse_args()
    data, work = Path(args.data), Path(args.work)
    if not (data / "test/images").is_dir():
        run(["scribbleseg", "sample-data", "cardiac", "--out", str(data)])
    cases = sorted(f.name for f in (data / "test/images").glob("*.nii.gz"))[: args.subjects]
    shutil.rmtree(work, ignore_errors=True)
    # scribbles on `slices` slices of each test volume, made from its mask by the paper's procedures
    run(
        [
            "scribbleseg",
            "scribbles",
            "--masks",
            str(data / "test/masks"),
            "--out",
            str(work / "scribbles"),
            "--style",
            "paper",
            "--slices",
            str(args.slices),
            "--seed",
            "7",
        ]
    )
    rows = []
    for method in args.methods.split(","):
        for case in cases:
            one = work / "one" / case.split(".")[0]
            (one / "images").mkdir(parents=True, exist_ok=True)
            (one / "truth").mkdir(parents=True, exist_ok=True)
            shutil.copy(data / "test/images" / case, one / "images" / case)
            shutil.copy(data / "test/masks" / case, one / "truth" / case)
            row = bench_method(
                method,
                data,
                args.budget,
                one,
                args.extra.split(),
                scribbles=[str(work / "scribbles")],
                train_images=one / "images",
                test_images=one / "images",
                test_masks=one / "truth",
            )
            rows.append({"case": case, **row})
            print(json.dumps(rows[-1]), flush=True)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(
        json.dumps(
            {"budget_s": args.budget, "slices": args.slices, "cpu_flags": cpu_flags(), "rows": rows}, indent=2
        )
    )
    lines = [
        f"### Interactive case: one volume, scribbles on {args.slices} slices, {args.budget:.0f} s budget",
        "",
        "| method | " + " | ".join(f"Dice {s}" for s in STRUCTURES) + " | Dice mean | HD95 mean (mm) | n |",
        "|" + "---|" * (len(STRUCTURES) + 4),
    ]
    for method in args.methods.split(","):
        rs = [r for r in rows if r["method"] == method]

        def mean(key: str, s: str | None = None, rs: list = rs) -> float | None:
            # HD95 is undefined (None) where a structure was not predicted at all: left out
            vals = [v for r in rs if (v := (r[key][s] if s else r[key])) is not None]
            return sum(vals) / len(vals) if vals else None

        def fmt(v: float | None, spec: str) -> str:
            return "n/a" if v is None else format(v, spec)

        lines.append(
            f"| {method} | "
            + " | ".join(fmt(mean("dice", s), ".3f") for s in STRUCTURES)
            + f" | **{fmt(mean('dice_mean'), '.3f')}** | {fmt(mean('hd95_mean'), '.1f')} | {len(rs)} |"
        )
    md = "\n".join(lines) + "\n"
    (out / f"{args.name}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
