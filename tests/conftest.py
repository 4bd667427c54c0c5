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


@pytest.fixture
def session_folder(tmp_path):
    """``session_folder(method="pce")`` -> (folder, image file): a session folder as the widget saves one.

    One tiny image ``data/case01.nii.gz`` (referenced, not copied), its scribble layer, the classes of
    :func:`tiny_volume` and settings for a tiny 3-step CPU run; no model yet.
    """
    from napari_scribbleseg import io
    from napari_scribbleseg.io import session_folder as SF
    from napari_scribbleseg.labels import class_color

    def build(method: str = "pce") -> tuple[Path, Path]:
        image, mask = _tiny_volume(0)
        affine = np.diag([*SPACING, 1.0])
        affine[:3, 3] = (5.0, -3.0, 2.0)
        image_file = io.save_nifti(tmp_path / "data" / "case01.nii.gz", image, affine, kind="image")
        folder, _ = SF.check_session_destination(tmp_path / "session")
        vol = io.read_image(image_file)
        scribbles = SF.layer_file("case01 scribbles")
        io.write_labels(folder / scribbles, _scribbles_from(mask), vol, kind="scribbles")
        ref = SF.ImageRef(
            "case01",
            str(image_file.resolve()),
            SF.file_sha256(image_file),
            vol.shape,
            tuple(tuple(float(v) for v in row) for row in vol.affine),
            relative="../data/case01.nii.gz",
        )
        train = {"method": method, "max_steps": 3, "width": 4, "depth": 3, "batch_size": 2}
        train.update(device="cpu", precision="fp32", threads=1, val_fraction=0.0, preview_every=0.0)
        settings = {
            "train_config": train,
            "method_options": {},
            "preprocess": {"patch_size": 32},
            "stop": {"unit": "steps", "value": 3},
        }
        layer = SF.LayerRef("case01 scribbles", "scribbles", "case01", scribbles)
        colours = tuple(class_color(k) for k in range(len(CLASSES)))
        spec = SF.SessionSpec(folder, CLASSES, colours, [ref], [layer], settings, None, "case01", None)
        SF.write_session(spec)
        return folder, image_file

    return build


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


def _write_dicom_series(
    folder: Path,
    frames,
    *,
    series_uid: str | None = None,
    description: str = "test series",
    modality: str = "MR",
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
) -> str:
    """Write SimpleITK image(s) as a DICOM series, one file per slice (several images: cine frames).

    Each 3D ``SimpleITK.Image`` (int16, any geometry) is written slice by slice with the tags a viewer and
    highdicom need (MR Image Storage, patient, study, series, frame of reference, position, orientation,
    spacing, trigger time per frame). Returns the SeriesInstanceUID. GDCM's writer switches the process to
    the "C" locale; the locale is restored afterwards (else later ``open()`` calls default to ASCII).
    """
    import locale

    saved = locale.setlocale(locale.LC_ALL)
    try:
        return _write_slices(folder, frames, series_uid, description, modality, study_uid)
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def _write_slices(folder, frames, series_uid, description, modality, study_uid) -> str:
    import uuid

    import SimpleITK as sitk

    frames = list(frames) if isinstance(frames, (list, tuple)) else [frames]
    folder.mkdir(parents=True, exist_ok=True)
    uid = series_uid or f"2.25.{uuid.uuid4().int}"
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    number = 0
    for t, image in enumerate(frames):
        d = np.asarray(image.GetDirection()).reshape(3, 3)
        sx, sy, sz = image.GetSpacing()
        iop = "\\".join(f"{v:.8f}" for v in (*d[:, 0], *d[:, 1]))
        for k in range(image.GetDepth()):
            number += 1
            ipp = image.TransformIndexToPhysicalPoint((0, 0, k))
            tags = {
                "0008|0016": "1.2.840.10008.5.1.4.1.1.4",
                "0008|0018": f"{uid}.{number}",
                "0008|0060": modality,
                "0008|0020": "20240101",
                "0008|0030": "120000",
                "0008|103e": description,
                "0010|0010": "Test^Patient",
                "0010|0020": "P0001",
                "0018|0050": f"{sz:.6f}",
                "0018|0088": f"{sz:.6f}",
                "0018|1060": f"{40.0 * t:.1f}",
                "0020|000d": study_uid,
                "0020|000e": uid,
                "0020|0052": study_uid + ".9",
                "0020|0011": "7",
                "0020|0013": str(number),
                "0020|0032": "\\".join(f"{v:.6f}" for v in ipp),
                "0020|0037": iop,
                "0028|0030": f"{sy:.6f}\\{sx:.6f}",
            }
            s = image[:, :, k]
            for key, value in tags.items():
                s.SetMetaData(key, value)
            writer.SetFileName(str(folder / f"IM{number:05d}.dcm"))
            writer.Execute(s)
    return uid


@pytest.fixture(scope="session")
def write_dicom_series():
    """``write_dicom_series(folder, sitk_image_or_frames, series_uid=None, description=..., modality="MR")``.

    Writes a DICOM series with SimpleITK (one file per slice; a list of images makes a cine series) and
    returns its SeriesInstanceUID.
    """
    return _write_dicom_series


def _sitk_image(array_xyz: np.ndarray, spacing, origin_lps, direction_lps=None):
    """A SimpleITK image of an ``[i, j, k]`` array with LPS geometry."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(np.asarray(array_xyz).transpose(2, 1, 0)))
    image.SetSpacing([float(s) for s in spacing])
    image.SetOrigin([float(o) for o in origin_lps])
    d = np.eye(3) if direction_lps is None else np.asarray(direction_lps, dtype=float)
    image.SetDirection(d.ravel().tolist())
    return image


@pytest.fixture(scope="session")
def sitk_image():
    """``sitk_image(array_xyz, spacing, origin_lps, direction_lps=None)`` -> a SimpleITK image."""
    return _sitk_image
