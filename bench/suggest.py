"""Does "scribble here next" help? The suggestion benchmark of issue #12 on real cine MRI (acdc-dev).

For each volume of the interactive protocol (expert scribbles on 3 slices, one volume alone):

1. the model trained 60 s on those scribbles (``--base RUN``: the models of an earlier
   ``bench/real.py --protocol interactive`` run, so both arms start from the same weights);
2. two more slices are scribbled from the true mask with the project's own generator
   (``scribbles_from_mask``, style ``paper``), chosen (a) by :func:`rank_slices` on the model's prediction,
   (b) evenly spaced over the unscribbled slices that show the heart (at 1/3 and 2/3 of them);
3. training continues 30 s from the 60 s model (``train --resume``) on the 5 scribbled slices;
4. the volume is predicted with its scribbles (``predict --scribbles``, what the widget does) and scored.

    python bench/suggest.py --base "aag-shape prior from pseudo-labels" [--volumes 5]

Writes ``bench/results/suggest.md`` and ``.json`` (Dice per arm and volume, the slices chosen, the CPU's
flags). Without the data it says where it is expected and exits 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from common import cpu_flags
from real import CLASSES, DEFAULT_DATA, ROOT, STRUCTURES, cli, interactive_volumes, link_folder

N_CLASSES = 4


def pick_even(truth: np.ndarray, axis: int, scribbled: np.ndarray, n: int = 2) -> list[int]:
    """``n`` unscribbled heart-bearing slices evenly spaced (at k/(n+1) of them)."""
    other = tuple(a for a in range(3) if a != axis)
    heart = np.nonzero(truth.any(axis=other) & ~scribbled)[0]
    return [int(heart[int(len(heart) * (k + 1) / (n + 1))]) for k in range(n)] if len(heart) else []


def write_results(rows: list[dict], args: argparse.Namespace) -> str:
    """Write results/suggest.md and .json for the volumes done so far; the Markdown table."""
    flags = cpu_flags()
    summary = {
        arm: {s: float(np.mean([r[arm]["dice"][s] for r in rows])) for s in STRUCTURES}
        | {"mean": float(np.mean([r[arm]["mean"] for r in rows]))}
        for arm in ("suggested", "even")
    }
    wins = sum(r["suggested"]["mean"] > r["even"]["mean"] for r in rows)
    out_dir = ROOT / "results"
    (out_dir / "suggest.json").write_text(
        json.dumps(
            {
                "cpu_flags": flags,
                "base": args.base,
                "budget_s": args.budget,
                "summary": summary,
                "wins": wins,
                "rows": rows,
            },
            indent=1,
        )  # fmt: skip
    )
    lines = [
        "### Scribble here next: suggested vs evenly spaced slices (acdc-dev, interactive protocol)",
        "",
        f"CPU flags: {flags}. Start: the `{args.method}` models trained 60 s on the expert scribbles of 3 "
        f"slices (run `{args.base}`); 2 slices scribbled from the true mask (project generator, style "
        f"paper); {args.budget:.0f} s more training (`--resume`); predicted with the volume's scribbles.",
        "",
        "| arm | Dice RV | Dice MYO | Dice LV | Dice mean | volumes |",
        "|---|---|---|---|---|---|",
    ]
    for arm in ("suggested", "even"):
        m = summary[arm]
        lines.append(
            f"| {arm} | {m['RV']:.3f} | {m['MYO']:.3f} | {m['LV']:.3f} | **{m['mean']:.3f}** | {len(rows)} |"
        )
    lines += ["", f"The suggestion beat evenly spaced slices on {wins} of {len(rows)} volumes.", ""]
    lines += ["| volume | suggested slices (score) | Dice | even slices | Dice |", "|---|---|---|---|---|"]
    for r in rows:
        sug = ", ".join(f"{z} ({sc})" for z, sc in zip(r["suggested"]["slices"], r["scores"]))
        lines.append(
            f"| {r['volume']} | {sug} | {r['suggested']['mean']:.3f} | "
            f"{', '.join(map(str, r['even']['slices']))} | {r['even']['mean']:.3f} |"
        )
    (out_dir / "suggest.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--base", required=True, help="label of the interactive run whose 60 s models start both arms"
    )
    p.add_argument("--method", default="aag", help="method of the base run")
    p.add_argument("--budget", type=float, default=30.0, help="seconds of training after the new scribbles")
    p.add_argument("--volumes", type=int, default=None, help="only the first N volumes")
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--work", default=str(ROOT / "runs" / "suggest"))
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "scribbles-3-slices").is_dir():
        print(f"no development data at {data} (see its README); nothing to do")
        return 0
    import nibabel as nib

    from napari_scribbleseg.data.slices import choose_slice_axis
    from napari_scribbleseg.inference import Predictor
    from napari_scribbleseg.inference.suggest import rank_slices
    from napari_scribbleseg.io import read_image, save_nifti
    from napari_scribbleseg.scribbles.volume import scribbles_from_mask

    base_dir = ROOT / "runs" / "real" / "interactive" / f"{args.method}-{args.base}"
    work = Path(args.work)
    rows = []
    for s in interactive_volumes(data / "scribbles-3-slices", False)[: args.volumes or None]:
        name = s.name.split(".")[0]
        model = base_dir / name / "model"
        vol = read_image(data / "images" / s.name)
        truth = np.asarray(nib.load(str(data / "labels" / s.name)).dataobj).astype(np.uint8)
        expert = np.asarray(nib.load(str(s)).dataobj).astype(np.uint8)
        axis = choose_slice_axis(vol.spacing)
        other = tuple(a for a in range(3) if a != axis)
        scribbled = expert.any(axis=other)
        t = time.monotonic()
        probs = Predictor.load(model, device="cpu").predict_proba(vol.data, vol.spacing)
        ranked = rank_slices(probs, axis, scribbles=expert, top=2)
        rank_s = time.monotonic() - t
        picks = {"suggested": [r.slice_index for r in ranked], "even": pick_even(truth, axis, scribbled)}
        row = {"volume": name, "rank_s": round(rank_s, 2), "scores": [round(r.score, 3) for r in ranked]}
        for arm, slices in picks.items():
            one = work / arm / name
            shutil.rmtree(one, ignore_errors=True)  # a rerun starts clean
            added = scribbles_from_mask(truth, N_CLASSES, slice_axis=axis, slices=slices, rng=0)
            merged = np.where(expert > 0, expert, added).astype(np.uint8)
            save_nifti(one / "scribbles" / s.name, merged, vol.affine, kind="labels")
            img = link_folder(one / "images", [data / "images" / s.name])
            truth_dir = link_folder(one / "truth", [data / "labels" / s.name])
            log = one / "log.txt"
            out = cli(
                ["train", str(img), "--scribbles", str(one / "scribbles"), "--classes", CLASSES,
                 "--method", args.method, "--resume", str(model), "--time-budget", str(args.budget),
                 "--out", str(one / "model"), "--quiet"],
                log,
            )  # fmt: skip
            cli(["predict", "--model", str(one / "model"), "--out", str(one / "pred"), str(img),
                 "--scribbles", str(one / "scribbles"), "--overwrite"], log)  # fmt: skip
            cli(["evaluate", "--pred", str(one / "pred"), "--truth", str(truth_dir), "--json",
                 str(one / "eval.json"), "--overwrite"], log)  # fmt: skip
            dice = next(iter(json.loads((one / "eval.json").read_text())["cases"].values()))["dice"]
            row[arm] = {"slices": slices, "dice": dice, "mean": float(np.mean([dice[k] for k in STRUCTURES]))}
            row[arm]["train"] = out.strip().splitlines()[-1] if out.strip() else ""
        print(json.dumps({k: row[k] for k in ("volume", "scores")}),
              {a: (row[a]["slices"], round(row[a]["mean"], 3)) for a in picks}, flush=True)  # fmt: skip
        rows.append(row)
        write_results(rows, args)  # after every volume: a stopped run keeps what it measured
    print(write_results(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
