"""Benchmark on real cardiac cine MRI with expert scribbles (the development data, ``acdc-dev``).

Runs the real CLI (``scribbleseg train / predict / evaluate``) in three protocols and two diagnostics and
scores 3D Dice and HD95 per structure on patients the run never trained on (checkpoints are selected on
training patients):

- ``cohort``: the scribbles of patients 021-080 -> predict 081-100 (15 min, every method);
- ``cohort-masks``: the scribbles of 021-050 + the dense masks of 051-080 as unpaired masks -> 081-100
  (the methods that use unpaired masks, and ``pce`` as the control);
- ``cohort-mixed`` (a diagnostic): the cohort's sizes, but train and test patients drawn from every
  diagnosis block of ACDC (patients 1-15 of each block of 20 train, 16-20 test);
- ``few`` (a diagnostic for ``auto``'s choice): the scribbles of ``--patients N`` patients spread over
  021-080 (both frames: about 9 scribbled slices a volume) -> 081-100, 5 min; ``aag`` and ``crf``;
- ``interactive``: one volume alone (expert scribbles on 3 slices), 60 s, predict that volume; 20
  volumes, one per patient 081-100, end-diastole and end-systole alternating (``--all-frames``: all 40).
  The pseudo-method ``propagate`` runs ``scribbleseg propagate`` (no training) on the same scribbles.

    python bench/real.py --protocol interactive --methods crf --volumes 5 --budget 30   # quick look
    python bench/real.py --protocol cohort --methods pce,crf,aag --name real --merge

Writes ``bench/results/NAME.json`` and ``NAME.md`` (``--merge`` keeps the rows of other protocols and
methods). The data never ships with the package: without it the script says where it is expected and
exits 0. Set ``PYTHONPATH`` to benchmark another source tree (the CLI runs as ``python -m
napari_scribbleseg`` with this interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from common import cpu_flags

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "acdc-dev"
STRUCTURES = ("RV", "MYO", "LV")
CLASSES = "background,RV,MYO,LV"
PROTOCOLS = {
    # name: (default budget s, default methods, scribbled patients, unpaired-mask patients, test patients)
    # isdnet's confidence network needs real label maps (unpaired or dense masks): cohort-masks only
    "cohort": (900, "pce,wpce,crf,unetd,aag,attenscribble,size", range(21, 81), None, range(81, 101)),
    "cohort-masks": (900, "pce,aag,unetd,isdnet,size", range(21, 51), range(51, 81), range(81, 101)),
    "interactive": (60, "propagate,crf", None, None, None),  # the volumes of scribbles-3-slices/
    # ACDC numbers its patients by diagnosis in blocks of 20 (021-040 HCM, 041-060 MINF, 061-080 NOR,
    # 081-100 abnormal RV), so the protocols above test on a diagnosis none of the training patients has;
    # this diagnostic keeps the cohort's sizes (60 scribbled patients, 20 new ones) but draws both from
    # every block: patients 1-15 of each block train, 16-20 test
    "cohort-mixed": (
        900,
        "crf",
        [p for p in range(21, 101) if (p - 1) % 20 < 15],
        None,
        [p for p in range(21, 101) if (p - 1) % 20 >= 15],
    ),
    "few": (300, "aag,crf", None, None, range(81, 101)),  # scribbled: few_patients(--patients)
}


def few_patients(n: int) -> list[int]:
    """``n`` patients spread evenly over 021-080, so every training diagnosis block is drawn from."""
    if not 1 <= n <= 60:
        raise SystemExit(f"--patients must be 1..60, not {n}")
    return [21 + (i * 60) // n for i in range(n)]


def cli(args: list[str], log: Path | None = None) -> str:
    """Run ``scribbleseg ARGS`` with this interpreter; the output (also appended to ``log``)."""
    cmd = [sys.executable, "-m", "napari_scribbleseg", *args]
    print("$ scribbleseg", shlex.join(args), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ scribbleseg {shlex.join(args)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): scribbleseg {shlex.join(args)}")
    return proc.stdout


def patient(path: Path) -> int:
    """The ACDC patient number of a file named ``patientNNN_frameMM.nii.gz``."""
    return int(path.name[7:10])


def link_folder(folder: Path, files: list[Path]) -> Path:
    """``folder`` holding symbolic links to ``files`` (nothing is copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        dst = folder / f.name
        if not dst.exists():
            dst.symlink_to(f.resolve())
    return folder


def propagate_score(image: Path, scribbles: Path, truth: Path, work: Path) -> dict:
    """``scribbleseg propagate`` on ``image`` (no training), evaluated against ``truth``: one result row."""
    pred, log = work / "pred", work / "log.txt"
    args = ["propagate", str(image), "--scribbles", str(scribbles), "--classes", CLASSES, "--out", str(pred)]
    t = time.monotonic()
    cli(args, log)
    wall = time.monotonic() - t
    res_json = work / "eval.json"
    cli(["evaluate", "--pred", str(pred), "--truth", str(truth), "--json", str(res_json)], log)
    return {
        "method": "propagate",
        "budget_s": 0.0,
        "train_wall_s": round(wall, 1),
        "steps": 0,
        "slices_per_s": None,
        "predict_s_per_volume": round(wall, 2),
        "train_peak_rss_mib": None,
        "cases": json.loads(res_json.read_text())["cases"],
        "command": "scribbleseg " + shlex.join(args),
    }


def interactive_volumes(folder: Path, all_frames: bool) -> list[Path]:
    """The interactive protocol's volumes: one per patient, ED and ES alternating (or every volume)."""
    files = sorted(folder.glob("*.nii.gz"))
    if all_frames:
        return files
    by_patient: dict[int, list[Path]] = {}
    for f in files:
        by_patient.setdefault(patient(f), []).append(f)
    return [fs[i % len(fs)] for i, (_, fs) in enumerate(sorted(by_patient.items()))]


def train_predict_score(
    method: str,
    train_images: Path,
    scribbles: Path,
    test_images: Path,
    truth: Path,
    work: Path,
    budget: float,
    extra: list[str],
    masks: Path | None = None,
    predict_extra: list[str] = (),
    reuse: tuple[Path, dict] | None = None,
) -> dict:
    """Train with the CLI, predict ``test_images``, evaluate against ``truth``: one result row.

    ``reuse`` = (model folder, its run's row): predict with a model trained by an earlier run (its
    training figures are copied) instead of training again.
    """
    model, pred, log = work / "model", work / "pred", work / "log.txt"
    train_args = [
        "train", str(train_images), "--scribbles", str(scribbles), "--classes", CLASSES,
        "--method", method, "--time-budget", str(budget), "--out", str(model), "--quiet",
        *(["--masks", str(masks)] if masks else []), *extra,
    ]  # fmt: skip
    if reuse is not None:
        model, before = reuse
        work.mkdir(parents=True, exist_ok=True)
        wall, train_args = before["train_wall_s"], shlex.split(before["command"])[1:]
        steps = None if before["steps"] is None else (before["steps"], before["slices_per_s"])
        peak = before.get("train_peak_rss_mib")
    else:
        t = time.monotonic()
        out = cli(train_args, log)
        wall = time.monotonic() - t
        found = re.search(r"after (\d+) steps, ([\d.]+) slices/s", out)
        steps = (int(found.group(1)), float(found.group(2))) if found else None
        found = re.search(r"peak memory (\d+) MiB RSS", out)
        peak = int(found.group(1)) if found else None
    t = time.monotonic()
    predict_args = ["predict", "--model", str(model), "--out", str(pred), str(test_images), *predict_extra]
    cli(predict_args, log)
    n_test = len(list(test_images.glob("*.nii*")))
    predict_wall = (time.monotonic() - t) / max(n_test, 1)
    res_json = work / "eval.json"
    cli(["evaluate", "--pred", str(pred), "--truth", str(truth), "--json", str(res_json)], log)
    res = json.loads(res_json.read_text())
    return {
        "method": method,
        "budget_s": budget,
        "train_wall_s": round(wall, 1),
        "steps": steps[0] if steps else None,
        "slices_per_s": steps[1] if steps else None,
        "predict_s_per_volume": round(predict_wall, 2),
        "train_peak_rss_mib": peak,
        "cases": res["cases"],
        "command": "scribbleseg " + shlex.join(train_args),
        "predict_command": "scribbleseg " + shlex.join(predict_args),
    }


def summarise(rows: list[dict]) -> dict:
    """Mean Dice/HD95 per structure over every case of ``rows`` (several runs pool their cases)."""
    cases = [c for r in rows for c in r["cases"].values()]

    def mean(values: list) -> float | None:
        vals = [v for v in values if v is not None and v == v]
        return round(sum(vals) / len(vals), 4) if vals else None

    dice = {s: mean([c["dice"][s] for c in cases]) for s in STRUCTURES}
    hd95 = {s: mean([c["hd95"][s] for c in cases]) for s in STRUCTURES}
    walls = [r["train_wall_s"] for r in rows]
    sps = [r["slices_per_s"] for r in rows if r["slices_per_s"]]
    steps = [r["steps"] for r in rows if r["steps"] is not None]
    return {
        "dice": dice,
        "dice_mean": mean(list(dice.values())),
        "hd95": hd95,
        "hd95_mean": mean(list(hd95.values())),
        "n_cases": len(cases),
        "runs": len(rows),
        "steps": round(sum(steps) / len(steps)) if steps else None,
        "slices_per_s": round(sum(sps) / len(sps), 1) if sps else None,
        "train_wall_s": round(max(walls), 1),
        "budget_s": rows[0]["budget_s"],
        "predict_s_per_volume": round(sum(r["predict_s_per_volume"] for r in rows) / len(rows), 2),
        "train_peak_rss_mib": max((r["train_peak_rss_mib"] or 0) for r in rows) or None,
    }


def run_protocol(protocol: str, method: str, args: argparse.Namespace, data: Path, work: Path) -> dict:
    """One method in one protocol; a summary row with its per-run details."""
    budget = args.budget or PROTOCOLS[protocol][0]
    extra = shlex.split(args.extra)
    images = sorted((data / "images").glob("*.nii.gz"))
    run_dir = work / protocol / (method + (f"-{args.label}" if args.label else ""))
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    if method == "propagate" and protocol != "interactive":
        raise SystemExit("propagate needs the test volumes' own scribbles: interactive protocol only")
    if protocol == "interactive":
        scribbled = interactive_volumes(data / "scribbles-3-slices", args.all_frames)[: args.volumes or None]
        runs = []
        predict_extra = ["--scribbles", str(data / "scribbles-3-slices")] if args.predict_scribbles else []
        reused = earlier_runs(protocol, method, args.reuse) if args.reuse is not None else None
        for s in scribbled:
            one = run_dir / s.name.split(".")[0]
            img = link_folder(one / "images", [data / "images" / s.name])
            truth = link_folder(one / "truth", [data / "labels" / s.name])
            if method == "propagate":
                row = propagate_score(img, data / "scribbles-3-slices", truth, one)
            else:
                reuse = None
                if reused is not None:
                    src = work / protocol / (method + (f"-{args.reuse}" if args.reuse else "")) / one.name
                    reuse = (src / "model", reused[one.name])
                row = train_predict_score(
                    method, img, data / "scribbles-3-slices", img, truth, one, budget, extra,
                    predict_extra=predict_extra, reuse=reuse,
                )  # fmt: skip
            print(
                json.dumps({k: row[k] for k in ("method", "steps", "train_wall_s")}), row["cases"], flush=True
            )
            runs.append(row)
    else:
        scribbled_patients, mask_patients, tested = PROTOCOLS[protocol][2:]
        if protocol == "few":
            scribbled_patients = few_patients(args.patients)
        test = [f for f in images if patient(f) in tested][: args.test or None]
        train = link_folder(run_dir / "train_images", [f for f in images if patient(f) in scribbled_patients])
        test_dir = link_folder(run_dir / "test_images", test)
        truth = link_folder(run_dir / "truth", [data / "labels" / f.name for f in test])
        masks = None
        if mask_patients is not None:
            masks = link_folder(
                run_dir / "unpaired_masks",
                [data / "labels" / f.name for f in images if patient(f) in mask_patients],
            )
        runs = [
            train_predict_score(
                method, train, data / "scribbles", test_dir, truth, run_dir, budget, extra, masks
            )
        ]
    summary = summarise(runs)
    return {"protocol": protocol, "method": method, "label": args.label or "", "extra": args.extra,
            **summary, "command": runs[0]["command"], "predict_command": runs[0].get("predict_command"),
            "runs_detail": runs}  # fmt: skip


def earlier_runs(protocol: str, method: str, label: str) -> dict[str, dict]:
    """The per-volume rows of an earlier run in ``results/real.json`` (``--reuse``), by volume name."""
    rows = json.loads((ROOT / "results" / "real.json").read_text())["rows"]
    for r in rows:
        if (r["protocol"], r["method"], r["label"]) == (protocol, method, label):
            return {next(iter(d["cases"])).split(".")[0]: d for d in r["runs_detail"]}
    raise SystemExit(f"--reuse: no {protocol}/{method} row labelled {label!r} in results/real.json")


def markdown(rows: list[dict], flags: str) -> str:
    lines = [
        "### Real cardiac cine MRI (acdc-dev), expert scribbles; 3D Dice / HD95 on unseen patients",
        "",
        f"CPU flags: {flags}. Budgets are `scribbleseg train` wall time (loading included).",
        "",
        "| protocol | method | variant | "
        + " | ".join(f"Dice {s}" for s in STRUCTURES)
        + " | Dice mean | HD95 mean (mm) | steps | slices/s | train wall (s) / budget | cases |",
        "|" + "---|" * (len(STRUCTURES) + 9),
    ]

    def fmt(v: float | None, spec: str) -> str:
        return "n/a" if v is None else format(v, spec)

    for r in rows:
        lines.append(
            f"| {r['protocol']} | {r['method']} | {r['label'] or 'default'} | "
            + " | ".join(fmt(r["dice"][s], ".3f") for s in STRUCTURES)
            + f" | **{fmt(r['dice_mean'], '.3f')}** | {fmt(r['hd95_mean'], '.1f')} | {r['steps']} | "
            f"{r['slices_per_s']} | {r['train_wall_s']} / {r['budget_s']:.0f} | {r['n_cases']} |"
        )
    lines += ["", "Commands (train step; predict and evaluate follow on the held-out patients):", ""]
    for r in rows:
        then = r.get("predict_command") or ""
        then = f"; predict: `{then}`" if "--scribbles" in then else ""
        lines.append(f"- {r['protocol']} / {r['method']} / {r['label'] or 'default'}: `{r['command']}`{then}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--protocol",
        default="interactive",
        help="cohort, cohort-masks, cohort-mixed, few, interactive (comma list)",
    )
    p.add_argument("--methods", default=None, help="comma list (default: the protocol's)")
    p.add_argument("--budget", type=float, default=None, help="seconds (default: 900 cohort, 60 interactive)")
    p.add_argument("--volumes", type=int, default=None, help="interactive: only the first N volumes")
    p.add_argument("--all-frames", action="store_true", help="interactive: all 40 volumes, not 20")
    p.add_argument("--patients", type=int, default=3, help="few: how many scribbled patients (default 3)")
    p.add_argument("--test", type=int, default=None, help="cohort: only the first N test volumes")
    p.add_argument("--extra", default="", help="extra train options, e.g. '--precision fp32 --threads 1'")
    p.add_argument(
        "--predict-scribbles",
        action="store_true",
        help="interactive: predict with --scribbles (the volume's own scribbles combined with the network)",
    )
    p.add_argument(
        "--reuse",
        default=None,
        metavar="LABEL",
        help="interactive: predict with the models of the earlier run labelled LABEL ('' = default) "
        "instead of training again (its training figures are copied)",
    )
    p.add_argument("--label", default="", help="names this variant in the table (e.g. 'fp32 1 thread')")
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--work", default=str(ROOT / "runs" / "real"))
    p.add_argument("--name", default="real", help="results file name (bench/results/NAME.md/json)")
    p.add_argument("--merge", action="store_true", help="keep the other rows of an existing NAME table")
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "images").is_dir():
        print(
            f"the real development data is not at {data}: this benchmark needs the acdc-dev folder "
            "(images/, scribbles/, labels/, scribbles-3-slices/; see shared/data/acdc-dev/README.md), "
            "given with --data. Nothing was run."
        )
        return 0
    flags = cpu_flags()
    print(f"CPU flags: {flags}; torch threads default to {os.cpu_count()} CPUs", flush=True)
    rows = []
    for protocol in args.protocol.split(","):
        if protocol not in PROTOCOLS:
            raise SystemExit(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        for method in (args.methods or PROTOCOLS[protocol][1]).split(","):
            row = run_protocol(protocol, method, args, data, Path(args.work))
            row["cpu_flags"] = flags
            row["date"] = time.strftime("%Y-%m-%d")
            rows.append(row)
            print(markdown([row], flags), flush=True)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    if args.merge and (out / f"{args.name}.json").is_file():
        old = json.loads((out / f"{args.name}.json").read_text())["rows"]
        key = lambda r: (r["protocol"], r["method"], r["label"])  # noqa: E731
        new = {key(r): r for r in rows}
        rows = [new.pop(key(r), r) for r in old] + list(new.values())
    (out / f"{args.name}.json").write_text(json.dumps({"cpu_flags": flags, "rows": rows}, indent=1))
    md = markdown(rows, flags)
    (out / f"{args.name}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
