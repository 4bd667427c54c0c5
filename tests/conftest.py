"""Shared fixtures: tiny, seeded synthetic volumes (fast on a CPU).

Test modules never import each other or a ``conftest.py``: what several modules share is a fixture here
(or in the ``conftest.py`` of their folder). Pure helper functions are handed out as session-scoped
fixtures (``tiny_volume(seed)``, ``scribbles_from(mask)``), so module-scoped fixtures can use them too.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg.data.dataset import Case

CLASSES = ("background", "ring", "disk")
SPACING = (1.5, 1.5, 6.0)


def _tiny_volume(seed: int = 0, shape=(48, 48, 4), spacing=SPACING) -> tuple[np.ndarray, np.ndarray]:
    """A bright disk (class 2) inside a dark ring (class 1) on noise; slice axis last. Returns image, mask."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    yy, xx = np.mgrid[:nx, :ny]
    cx, cy = nx / 2 + rng.uniform(-4, 4), ny / 2 + rng.uniform(-4, 4)
    mask = np.zeros(shape, np.uint8)
    image = rng.normal(0.0, 0.1, shape).astype(np.float32)
    for z in range(nz):
        r = 8 + rng.uniform(-1, 1)
        d = np.hypot(yy - cx, xx - cy)
        mask[..., z][d < r + 3] = 1
        mask[..., z][d < r] = 2
    image += np.where(mask == 2, 1.0, np.where(mask == 1, -0.5, 0.2)).astype(np.float32)
    return image, mask


def _scribbles_from(mask: np.ndarray, rng_seed: int = 0) -> np.ndarray:
    """Crude scribbles: a few annotated pixels per class per slice (scribble encoding)."""
    from scipy import ndimage

    rng = np.random.default_rng(rng_seed)
    s = np.zeros(mask.shape, np.uint8)
    for z in range(mask.shape[2]):
        m = mask[..., z]
        for k in range(3):
            inner = ndimage.binary_erosion(m == k, iterations=1)
            ys, xs = np.nonzero(inner)
            if len(ys):
                pick = rng.choice(len(ys), size=min(30, len(ys)), replace=False)
                s[ys[pick], xs[pick], z] = k + 1
    return s


@pytest.fixture(scope="session")
def classes() -> tuple[str, ...]:
    """The class names of :func:`tiny_volume`'s masks."""
    return CLASSES


@pytest.fixture(scope="session")
def tiny_volume() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``tiny_volume(seed=0, shape=(48, 48, 4))`` -> (image, mask): a disk in a ring, slice axis last."""
    return _tiny_volume


@pytest.fixture(scope="session")
def scribbles_from() -> Callable[..., np.ndarray]:
    """``scribbles_from(mask, rng_seed=0)`` -> a few scribbled pixels per class and slice."""
    return _scribbles_from


@pytest.fixture
def tiny_cases() -> list[Case]:
    """Three scribbled tiny volumes (no dense masks)."""
    cases = []
    for i in range(3):
        img, mask = _tiny_volume(i)
        cases.append(Case(img, SPACING, [_scribbles_from(mask, i)], None, f"case{i}"))
    return cases


@pytest.fixture
def tiny_masks() -> list[Case]:
    """Two unpaired masks (other subjects) for the adversarial methods."""
    out = []
    for i in range(2):
        _, mask = _tiny_volume(10 + i)
        out.append(Case(np.zeros(mask.shape, np.float32), SPACING, [], mask, f"mask{i}"))
    return out


def _lying_file(
    path: Path, shape, *, zooms=(1.0, 1.0, 1.0), dtype=np.int16, data_bytes: int = 16, units="mm"
) -> Path:
    """A NIfTI file whose header declares ``shape`` but which holds only ``data_bytes`` bytes of data.

    Gzipped when ``path`` ends with ``.gz``. Nothing of the declared size is ever allocated.
    """
    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    header.set_data_shape(shape)
    header["pixdim"][1:4] = zooms  # raw, so that 0, negative or NaN values go in as they are
    header.set_xyzt_units(units, "sec")
    header["vox_offset"] = 352
    buf = BytesIO()
    header.write_to(buf)
    raw = buf.getvalue() + b"\0" * 4 + b"\0" * data_bytes  # 4 bytes: "no extensions"
    path.write_bytes(gzip.compress(raw) if str(path).endswith(".gz") else raw)
    return path


@pytest.fixture(scope="session")
def lying_file():
    """``lying_file(path, shape, zooms=(1, 1, 1), dtype=int16, data_bytes=16, units="mm")`` -> ``path``.

    A tiny NIfTI file whose header declares any shape and spacing (e.g. 2000^3 voxels in 70 bytes).
    """
    return _lying_file


@pytest.fixture
def untrained_model(tmp_path):
    """A valid model folder (untrained 3-class UNet at 1 mm) for the prediction paths."""
    from napari_scribbleseg.io import checkpoint as ckpt
    from napari_scribbleseg.models.registry import build_segmentor

    kwargs = {"in_channels": 1, "n_classes": 3, "width": 4, "depth": 3}
    meta = {
        "method": "pce",
        "class_names": ["background", "ring", "disk"],
        "preprocess": {"target_spacing": 1.0, "patch_size": 32},
        "train_config": {"width": 4, "depth": 3},
        "segmentor": {"name": "unet", "kwargs": kwargs},
    }
    return ckpt.save_model_folder(tmp_path / "model", build_segmentor("unet", **kwargs).state_dict(), meta)
