"""Fixtures of the napari tests: oblique volumes written with chosen qform/sform codes.

Every test autosaves into its own recovery folder (``SCRIBBLESEG_RECOVERY_DIR``), never the user's.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _rotation(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _oblique_affine(
    spacing=(0.8, 1.2, 5.0), angles=(0.35, -0.2, 0.5), origin=(-40.0, 25.0, 12.5)
) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = _rotation(*angles) @ np.diag(spacing)
    aff[:3, 3] = origin
    return aff


def _save_volume(path: Path, data: np.ndarray, affine: np.ndarray, qcode: int = 1, scode: int = 2) -> Path:
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(affine, code=qcode)
    img.header.set_sform(affine, code=scode)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(path))
    return path


@pytest.fixture(scope="session")
def oblique_affine():
    """``oblique_affine(spacing, angles, origin)`` -> a 4x4 affine rotated about all three axes."""
    return _oblique_affine


@pytest.fixture(scope="session")
def save_volume():
    """``save_volume(path, data, affine, qcode=1, scode=2)`` -> ``path``: a NIfTI file, mm units."""
    return _save_volume


@pytest.fixture(autouse=True)
def recovery_dir(tmp_path_factory, monkeypatch) -> Path:
    """The test's own autosave folder (also set as ``SCRIBBLESEG_RECOVERY_DIR``)."""
    folder = tmp_path_factory.mktemp("recovery")
    monkeypatch.setenv("SCRIBBLESEG_RECOVERY_DIR", str(folder))
    return folder
