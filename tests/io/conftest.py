"""Fixtures of the NIfTI tests: an oblique affine, images written with chosen header codes, raw headers."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.io import NiftiVolume

SPACING = (1.3, 0.9, 7.5)


def _oblique_affine(spacing=SPACING, offset=(-91.5, 12.25, 40.0)) -> np.ndarray:
    """Rotation about two axes, anisotropic spacing and an offset."""
    a, b = np.deg2rad(17.0), np.deg2rad(-31.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    aff = np.eye(4)
    aff[:3, :3] = rz @ rx @ np.diag(spacing)
    aff[:3, 3] = offset
    return aff


def _raw_header(path: Path) -> nib.Nifti1Header:
    """The header exactly as stored on disk (nibabel's loaded header hides scl_slope/inter)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        return nib.Nifti1Header.from_fileobj(f)


def _make_image(
    path: Path, shape=(12, 10, 5), *, qcode=1, scode=2, dtype=np.int16, slope=None, seed=0
) -> NiftiVolume:
    """Write an oblique image whose qform and sform codes differ, then read it back."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 1000, size=shape).astype(dtype)
    img = nib.Nifti1Image(data, None)
    aff = _oblique_affine()
    img.header.set_qform(aff, code=qcode)
    img.header.set_sform(aff, code=scode)
    img.header.set_xyzt_units("mm", "sec")
    if slope is not None:
        img.header.set_slope_inter(*slope)
    nib.save(img, str(path))
    return io.read_image(path)


def _save_raw(path: Path, data: np.ndarray, affine=None) -> Path:
    """Save ``data`` with plain nibabel (identity affine unless given)."""
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


@pytest.fixture(scope="session")
def spacing() -> tuple[float, float, float]:
    """The voxel size of :func:`oblique_affine` and :func:`make_image`."""
    return SPACING


@pytest.fixture(scope="session")
def oblique_affine():
    """``oblique_affine(spacing=SPACING, offset=...)`` -> a 4x4 affine rotated about two axes."""
    return _oblique_affine


@pytest.fixture(scope="session")
def raw_header():
    """``raw_header(path)`` -> the NIfTI header as stored on disk."""
    return _raw_header


@pytest.fixture(scope="session")
def make_image():
    """``make_image(path, shape, qcode=1, scode=2, dtype, slope, seed)`` -> the written image, read back."""
    return _make_image


@pytest.fixture(scope="session")
def save_raw():
    """``save_raw(path, data, affine=None)`` -> ``path``, written with plain nibabel."""
    return _save_raw
