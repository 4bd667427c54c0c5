"""How long does reading a CT-sized DICOM series take, and how much memory?

Writes a synthetic series (int16, ``--size`` x ``--size`` pixels, ``--slices`` slices, one file per slice,
CT Image Storage tags) to a temporary folder with SimpleITK, then, in a fresh Python process each time
(so that the peak resident memory is the read's own), reads it ``--repeat`` times with

- ``napari_scribbleseg.io.read_image`` (header scan of every file, limit checks, series read, float32
  volume in the engine's orientation; the header scan is also timed alone, with ``count_frames``), and
- plain ``SimpleITK.ImageSeriesReader`` (GDCM file list + read, int16), for reference.

Reports wall time, the time of the header scan alone (``count_frames``), and the peak resident memory
(``VmHWM``) above the process's memory after its imports. The page cache is warm after the first read
(the files were just written); the first repeat is reported separately.

Writes ``bench/results/dicom_read.json`` and ``.md`` (``--results DIR`` elsewhere, e.g. for a quick check).

Usage::

    python bench/dicom_read.py [--size 512] [--slices 300] [--repeat 3] [--results DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import cpu_flags  # noqa: E402

CHILD = r"""
import json, sys, time
from pathlib import Path

def hwm_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

import SimpleITK as sitk
from napari_scribbleseg import io
folder, how = sys.argv[1], sys.argv[2]
base = hwm_kib()
t0 = time.perf_counter()
if how == "ours":
    n = io.count_frames(folder)  # the header scan alone, then the whole read (its own scan included)
    t_headers = time.perf_counter() - t0
    t0 = time.perf_counter()
    vol = io.read_image(folder)
    shape, dtype = vol.shape, str(vol.data.dtype)
else:
    reader = sitk.ImageSeriesReader()
    uid = reader.GetGDCMSeriesIDs(folder)[0]
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder, uid))
    t_headers = time.perf_counter() - t0
    image = reader.Execute()
    shape, dtype = image.GetSize(), image.GetPixelIDTypeAsString()
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "headers_s": t_headers, "peak_mib": (hwm_kib() - base) / 1024,
                  "base_mib": base / 1024, "shape": list(shape), "dtype": dtype}))
"""


def write_series(folder: Path, size: int, slices: int) -> float:
    """A synthetic CT series (body-like ellipse, noise); returns the seconds it took to write.

    (GDCM's writer leaves the process in the "C" locale; the reads run in other processes.)
    """
    import SimpleITK as sitk

    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    body = ((xx - size / 2) / (0.42 * size)) ** 2 + ((yy - size / 2) / (0.33 * size)) ** 2 < 1
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    uid = "1.2.826.0.1.3680043.8.498.77"
    for k in range(slices):
        pixels = np.where(body, 40, -1000) + rng.normal(0, 20, (size, size))
        s = sitk.GetImageFromArray(pixels.astype(np.int16))
        tags = {
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0008|0018": f"{uid}.{k + 1}",
            "0008|0060": "CT",
            "0010|0020": "BENCH",
            "0020|000d": uid + ".1",
            "0020|000e": uid,
            "0020|0052": uid + ".2",
            "0020|0013": str(k + 1),
            "0020|0032": f"-250\\-250\\{-600 + 1.25 * k:.3f}",
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0028|0030": "0.9765625\\0.9765625",
            "0018|0050": "1.25",
        }
        for key, value in tags.items():
            s.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"CT{k + 1:05d}.dcm"))
        writer.Execute(s)
    return time.perf_counter() - t0


def read_once(folder: Path, how: str) -> dict:
    """One read in a fresh process; its figures."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), how], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_markdown(res: dict, path: Path) -> None:
    """The results as a Markdown table."""
    mib = res["size"] ** 2 * res["slices"] * 4 / 2**20
    md = [
        "# Reading a DICOM series",
        "",
        f"`{res['command']}`",
        "",
        f"{res['size']} x {res['size']} x {res['slices']} int16 CT slices, one file each "
        f"({res['files_mib']:.0f} MiB on disk; {mib:.0f} MiB as the engine's float32 volume). Each read in a "
        "fresh process; peak memory is the resident peak (VmHWM) above the process after its imports. Page "
        "cache warm (files just written).",
        "",
        f"Machine: {res['machine']}, CPU flags: {res['cpu_flags']}, {res['cpus']} CPUs.",
        "",
        "| reader | first read (s) | median of later reads (s) | header scan (s) | peak memory (MiB) |",
        "|---|---|---|---|---|",
    ]
    for how, label in (("ours", "`io.read_image` (float32)"), ("sitk", "SimpleITK series reader (int16)")):
        runs = res[how]
        later = [r["seconds"] for r in runs[1:]] or [runs[0]["seconds"]]
        md.append(
            f"| {label} | {runs[0]['seconds']:.2f} | {float(np.median(later)):.2f} | "
            f"{float(np.median([r['headers_s'] for r in runs])):.2f} | "
            f"{max(r['peak_mib'] for r in runs):.0f} |"
        )
    md += ["", f"Writing the series took {res['write_s']:.1f} s.", ""]
    path.write_text("\n".join(md))


def main() -> None:
    """Run the benchmark and write its results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512, help="rows = columns of each slice")
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", default=str(ROOT / "bench" / "results"), help="folder for the results")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="dicom_bench_") as tmp:
        folder = Path(tmp) / "ct"
        write_s = write_series(folder, args.size, args.slices)
        files_mib = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        res = {
            "command": "python bench/dicom_read.py " + " ".join(sys.argv[1:]),
            "size": args.size,
            "slices": args.slices,
            "files_mib": files_mib,
            "write_s": write_s,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "cpu_flags": cpu_flags(),
            "ours": [],
            "sitk": [],
        }
        for _ in range(args.repeat):
            for how in ("ours", "sitk"):
                res[how].append(read_once(folder, how))
                print(how, res[how][-1], flush=True)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dicom_read.json").write_text(json.dumps(res, indent=2) + "\n")
    write_markdown(res, out / "dicom_read.md")
    print(f"wrote {out / 'dicom_read.md'}")


if __name__ == "__main__":
    main()
