"""``scribbleseg sample-data`` and ``scribbleseg scribbles``."""

from __future__ import annotations

import numpy as np

from napari_scribbleseg import io
from napari_scribbleseg.cli import main


def test_scribbles_and_sample_data_commands(tmp_path):
    assert main(["sample-data", "cardiac", "--out", str(tmp_path / "s"), "--subjects", "3"]) == 0
    assert (tmp_path / "s/train/images").is_dir()
    assert (
        main(
            [
                "scribbles",
                "--masks",
                str(tmp_path / "s/test/masks"),
                "--out",
                str(tmp_path / "sc"),
                "--style",
                "skeleton",
                "--slices",
                "3",
            ]
        )
        == 0
    )
    files = sorted((tmp_path / "sc").glob("*.nii.gz"))
    assert files
    s = io.read_labels(files[0], kind="scribbles", n_classes=4)
    slices = np.flatnonzero((s.data > 1).reshape(-1, s.shape[2]).any(0))
    assert len(slices) == 3
