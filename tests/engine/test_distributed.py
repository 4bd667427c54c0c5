"""Data-parallel training: the torchrun helpers in one process, and two processes through torchrun.

The two-process run uses gloo on the CPU: the same code path as NCCL on GPUs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from napari_scribbleseg import io
from napari_scribbleseg.engine.distributed import init_distributed, shutdown_distributed, wrap_ddp


def test_single_process_needs_no_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_distributed() == (0, 1)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_distributed() == (0, 1)
    assert shutdown_distributed() is False and shutdown_distributed(barrier=False) is False


def test_wrap_ddp_leaves_single_process_and_frozen_modules_alone():
    net = torch.nn.Linear(2, 2)
    assert wrap_ddp(net, torch.device("cpu"), 1) is net
    frozen = torch.nn.Linear(2, 2).requires_grad_(False)
    assert wrap_ddp(frozen, torch.device("cpu"), 2) is frozen


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not installed")
def test_torchrun_two_processes(tmp_path, tiny_volume, scribbles_from):
    aff = np.diag([1.5, 1.5, 6.0, 1.0])
    for i in range(3):
        img, mask = tiny_volume(i)
        io.save_nifti(tmp_path / "img" / f"c{i}.nii.gz", img, aff, kind="image")
        io.save_nifti(tmp_path / "scr" / f"c{i}.nii.gz", scribbles_from(mask, i), aff, kind="labels")
        io.save_nifti(tmp_path / "msk" / f"c{i}.nii.gz", mask, aff, kind="labels")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "napari_scribbleseg",
        "train",
        str(tmp_path / "img"),
        "--scribbles",
        str(tmp_path / "scr"),
        "--masks",
        str(tmp_path / "msk"),
        "--method",
        "aag",
        "--classes",
        "bg,ring,disk",
        "--out",
        str(tmp_path / "model"),
        "--width",
        "4",
        "--depth",
        "3",
        "--patch-size",
        "32",
        "--batch-size",
        "2",
        "--max-steps",
        "3",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # a rank that aborts prints its Python stacks
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "terminate called" not in proc.stderr
    assert proc.stdout.count("finished (max-steps) after 3 steps") == 1  # only rank 0 reports
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert meta["step"] == 3
