"""The ``brain`` sample dataset: one real MRI, the MNI ICBM152 2009 T1 template, with GM and WM masks.

The template (symmetric, release a, 1 mm isotropic) and its probability maps ship in
``sample_data/brain`` (as found inside the nilearn wheel; notice there). A class is where its
probability exceeds 0.5. Scribbles are made as in Valvano et al. (001) Sec. IV-A on a few axial slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import ConfigError, DataError
from ...io import read_image
from ...scribbles import scribbles_from_mask
from .base import SampleVolume, sample_data_dir, write_dataset_info, write_volume

__all__ = ["BRAIN_CLASSES", "load_brain", "write_brain"]

BRAIN_CLASSES: tuple[str, ...] = ("background", "GM", "WM")

_BRAIN_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}

#: Number of axial slices the brain sample's scribbles are drawn on.
_BRAIN_SLICES = 5


def _brain_files() -> dict[str, Path]:
    folder = sample_data_dir() / "brain"
    files = {key: folder / name for key, name in _BRAIN_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataError(
            f"the brain sample files are missing: {', '.join(missing)} (they ship in sample_data/brain; "
            "reinstall napari-scribbleseg)"
        )
    return files


def _load_brain_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T1 image (float32), GM/WM mask (uint8) and affine of the MNI152 2009 template."""
    files = _brain_files()
    t1 = read_image(files["t1"])
    # probabilities are stored as 0..255; a class wins where its probability exceeds 0.5
    gm = read_image(files["gm"]).data / 255.0
    wm = read_image(files["wm"]).data / 255.0
    mask = np.zeros(t1.shape, np.uint8)
    mask[(gm > 0.5) & (gm >= wm)] = 1
    mask[(wm > 0.5) & (wm > gm)] = 2
    return t1.data, mask, np.asarray(t1.affine, float)


def _brain_scribbles(mask: np.ndarray, seed: int, slices: str | int | Sequence[int]) -> np.ndarray:
    """Paper-style scribbles on a few axial slices: random walks in the GM ribbon, skeleton of the WM."""
    return scribbles_from_mask(
        mask,
        len(BRAIN_CLASSES),
        slice_axis=2,
        style="paper",
        rng=np.random.default_rng([int(seed), 0xB8A1]),
        slices=slices,
        thin_classes=(BRAIN_CLASSES.index("GM"),),
    )


_BRAIN_README = """\
napari-scribbleseg sample dataset "brain": one real MRI, the MNI ICBM152 2009 T1 template
(symmetric, release a, 1 mm isotropic), seed {seed}.

train/images/mni152.nii.gz     T1 image (float32, values 0..255 as shipped)
train/scribbles/mni152.nii.gz  scribbles on {n_slices} axial slices (z axis), made as in Valvano et al.
                               (001) Sec. IV-A: random walks in the thin grey matter, skeleton of the
                               white matter, a background scribble around the brain
train/masks/mni152.nii.gz      dense mask
test/images/mni152.nii.gz      the SAME volume (there is a single subject: "test" measures how well the
test/masks/mni152.nii.gz       scribbled slices spread to the rest of the volume, not generalisation)
classes.json                   class names and label encoding

Classes: background, GM, WM. Masks: 0 = background and everything else (CSF, skull...), 1 = grey
matter, 2 = white matter, from the template's probability maps (a class where its probability is
> 0.5). Scribbles: 0 = not annotated, 1 = background, 2 = GM, 3 = WM.

Source: the files shipped inside the nilearn wheel (nilearn/datasets/data), originally from
http://www.bic.mni.mcgill.ca/ServicesAtlases/ICBM152NLin2009 -- see sample_data/brain/README.md.
Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological Institute,
McGill University (permission notice in sample_data/brain/COPYING).
"""


def write_brain(out: Path, seed: int, n_subjects: int | None) -> Path:
    """Write the ``brain`` dataset into ``out`` (layout in its README); return ``out``."""
    if n_subjects not in (None, 1):
        raise ConfigError(f"the brain sample has a single subject, got n_subjects={n_subjects}")
    out = Path(out)
    image, mask, affine = _load_brain_arrays()
    scribbles = _brain_scribbles(mask, seed, _BRAIN_SLICES)
    name = "mni152.nii.gz"
    write_volume(out / "train" / "images" / name, image, affine)
    write_volume(out / "train" / "scribbles" / name, scribbles, affine)
    write_volume(out / "train" / "masks" / name, mask, affine)
    write_volume(out / "test" / "images" / name, image, affine)
    write_volume(out / "test" / "masks" / name, mask, affine)
    write_dataset_info(out, BRAIN_CLASSES, _BRAIN_README.format(seed=seed, n_slices=_BRAIN_SLICES))
    return out


def load_brain(seed: int, slices: str | int | Sequence[int] | None) -> SampleVolume:
    """The template with its scribbles (default: on 5 axial slices)."""
    image, mask, affine = _load_brain_arrays()
    scribbles = _brain_scribbles(mask, seed, _BRAIN_SLICES if slices is None else slices)
    spacing = tuple(float(v) for v in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))
    return SampleVolume(image, mask, scribbles, spacing, affine, BRAIN_CLASSES)  # type: ignore[arg-type]
