"""Fixtures of the CLI tests: a tiny dataset on disk and the flags of a few-step CPU training."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg import io

TINY = (
    "--width",
    "4",
    "--depth",
    "3",
    "--batch-size",
    "2",
    "--patch-size",
    "32",
    "--max-steps",
    "3",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--threads",
    "1",
)


@pytest.fixture(scope="session")
def tiny_args() -> tuple[str, ...]:
    """``train`` flags for a tiny network, 3 steps on the CPU."""
    return TINY


@pytest.fixture
def dataset(tmp_path, tiny_volume, scribbles_from):
    """``train/{images,masks,scribbles}`` (3 cases) and ``test/{images,masks}`` (2), oblique affine."""
    affine = np.array([[0.0, -1.5, 0.1, 10.0], [1.5, 0.0, 0.0, -20.0], [0.0, 0.0, 6.0, 3.0], [0, 0, 0, 1]])
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            img, mask = tiny_volume(i + (10 if split == "test" else 0))
            io.save_nifti(tmp_path / split / "images" / f"c{i}.nii.gz", img, affine, kind="image")
            io.save_nifti(tmp_path / split / "masks" / f"c{i}.nii.gz", mask, affine, kind="labels")
            if split == "train":
                io.save_nifti(
                    tmp_path / split / "scribbles" / f"c{i}.nii.gz",
                    scribbles_from(mask, i),
                    affine,
                    kind="labels",
                )
    return tmp_path
