"""Ctrl-C and SIGTERM during ``scribbleseg train`` save the model so far and exit non-zero, saying so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from napari_scribbleseg.io import checkpoint as ckpt

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_and_saves(dataset, tmp_path, sig):
    d = dataset
    out = tmp_path / "m"
    cmd = [
        sys.executable, "-m", "napari_scribbleseg", "train", str(d / "train/images"),
        "--scribbles", str(d / "train/scribbles"), "--classes", "background,ring,disk", "--method", "pce",
        "--out", str(out), "--time-budget", "600", "--width", "4", "--depth", "3", "--batch-size", "2",
        "--patch-size", "32", "--device", "cpu", "--precision", "fp32", "--threads", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # the first progress line comes after the first step
            if line.startswith("step "):
                break
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, err
    name = signal.Signals(sig).name
    assert f"interrupted ({name}): the model of step" in err and f"--resume {out}" in err
    assert "Traceback" not in err
    meta = ckpt.load_meta(out)
    assert meta["step"] >= 1
    modules, optim = ckpt.load_training_state(out)
    assert optim["trainer"]["plan"] is not None  # unfinished: a resume continues its plan
