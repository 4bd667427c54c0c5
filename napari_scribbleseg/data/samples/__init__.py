"""Sample datasets: a synthetic cardiac cine-MRI benchmark and a real brain MRI.

``cardiac``
    Synthetic short-axis cine-MRI-like volumes with RV, MYO and LV masks, generated from a seed
    (:mod:`.cardiac`), split into scribbled training subjects, unpaired masks and test subjects
    (:func:`cardiac_split`, :mod:`.cardiac_dataset`). Training scribbles are made the way Valvano et al.
    (001) Sec. IV-A made theirs, see :mod:`napari_scribbleseg.scribbles`.
``brain``
    The MNI ICBM152 2009 (sym., release a) T1 template, with grey- and white-matter masks from its
    probability maps, as shipped inside the nilearn wheel (files and notice in ``sample_data/brain``;
    :mod:`.brain`).

:func:`write_sample` writes a dataset as NIfTI files in the layout the CLI expects;
:func:`load_sample_volume` returns one subject as arrays for napari's sample-data menu.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ...registry import Registry
from .base import SampleDataset, SampleVolume, sample_data_dir
from .brain import BRAIN_CLASSES, load_brain, write_brain
from .cardiac import CardiacSubject, make_cardiac_subject
from .cardiac_dataset import (
    CARDIAC_CLASSES,
    CARDIAC_SPLIT,
    CardiacSplit,
    cardiac_split,
    load_cardiac,
    write_cardiac,
)

__all__ = [
    "BRAIN_CLASSES",
    "CARDIAC_CLASSES",
    "CARDIAC_SPLIT",
    "CardiacSplit",
    "CardiacSubject",
    "SAMPLES",
    "SampleDataset",
    "SampleVolume",
    "cardiac_split",
    "load_sample_volume",
    "make_cardiac_subject",
    "sample_data_dir",
    "write_sample",
]

SAMPLES: Registry[SampleDataset] = Registry("sample dataset")

SAMPLES.register("cardiac")(
    SampleDataset(
        name="cardiac",
        description="synthetic short-axis cine MRI, RV/MYO/LV, 30 subjects (train/unpaired/test)",
        class_names=CARDIAC_CLASSES,
        write=write_cardiac,
        load=load_cardiac,
    )
)
SAMPLES.register("brain")(
    SampleDataset(
        name="brain",
        description="MNI ICBM152 2009 T1 template with grey/white matter masks (one subject)",
        class_names=BRAIN_CLASSES,
        write=write_brain,
        load=load_brain,
    )
)


def write_sample(name: str, out_dir: str | Path, *, seed: int = 0, n_subjects: int | None = None) -> Path:
    """Write sample dataset ``name`` as NIfTI files under ``out_dir`` (see its ``README.txt``).

    ``cardiac`` layout::

        train/images, train/scribbles, train/masks   scribbled subjects (16 of 30 by default)
        unpaired_masks, unlabeled/images             other subjects (6), masks for the shape prior
        test/images, test/masks                      held-out subjects (8)
        classes.json, README.txt

    ``brain`` writes ``mni152.nii.gz`` into ``train/{images,scribbles,masks}`` and ``test/{images,masks}``
    (the same single volume).

    Parameters
    ----------
    name
        A name in :data:`SAMPLES` (``"cardiac"``, ``"brain"``).
    out_dir
        Output folder (created; existing files of the same names are replaced).
    seed
        Seed of the synthetic data and of the scribbles; the same seed gives the same files.
    n_subjects
        Number of subjects (cardiac: default 30, at least 3, split 16:6:8 proportionally; brain: 1).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the valid ones) or bad ``n_subjects``.
    """
    dataset = SAMPLES.get(name)
    return dataset.write(Path(out_dir), int(seed), n_subjects)


def load_sample_volume(
    name: str, *, seed: int = 0, slices: str | int | Sequence[int] | None = None
) -> SampleVolume:
    """One subject of sample dataset ``name`` as arrays, for napari's sample-data menu.

    Parameters
    ----------
    name
        A name in :data:`SAMPLES`.
    seed
        Seed of the synthetic data and of the scribbles.
    slices
        Slices to scribble (see :func:`~napari_scribbleseg.scribbles.scribbles_from_mask`); default:
        every slice for ``cardiac`` (as in its training set), 5 axial slices for ``brain``.

    Returns
    -------
    SampleVolume
        ``(image, mask, scribbles, spacing, affine, class_names)``, arrays in NIfTI ``(x, y, z)`` order
        with the slice axis last.
    """
    dataset = SAMPLES.get(name)
    return dataset.load(int(seed), slices)
