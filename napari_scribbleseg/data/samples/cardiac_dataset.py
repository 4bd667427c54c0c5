"""The ``cardiac`` sample dataset: synthetic subjects split into train, unpaired-mask and test sets.

Training scribbles are made the way Valvano et al. (001) Sec. IV-A made theirs (skeletons for LV and RV,
random walks for the thin MYO, a background scribble around the heart), see
:mod:`napari_scribbleseg.scribbles`. The subjects come from :func:`.cardiac.make_cardiac_subject`;
:func:`cardiac_split` says which subject goes where, so that other code (e.g. the napari widget's
unpaired-mask source) need not copy the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ConfigError
from ...labels import DEFAULT_CARDIAC_CLASSES
from ...scribbles import scribbles_from_mask
from .base import SampleVolume, write_dataset_info, write_volume
from .cardiac import make_cardiac_subject

__all__ = [
    "CARDIAC_CLASSES",
    "CARDIAC_SPLIT",
    "CardiacSplit",
    "cardiac_split",
    "load_cardiac",
    "write_cardiac",
]

CARDIAC_CLASSES: tuple[str, ...] = tuple(DEFAULT_CARDIAC_CLASSES)

#: How the default 30 cardiac subjects are split: train (scribbled), unpaired masks, test.
_SPLIT_SIZES = (16, 6, 8)


@dataclass(frozen=True)
class CardiacSplit:
    """Which subjects of the ``cardiac`` sample form which set.

    Each attribute is a range of subject indices (the ``index`` of
    :func:`~napari_scribbleseg.data.samples.cardiac.make_cardiac_subject`; subject ``i`` is written as
    ``case{i + 1:02d}.nii.gz``).

    Attributes
    ----------
    train
        Scribbled training subjects (``train/images``, ``train/scribbles``, ``train/masks``).
    unpaired
        Subjects whose masks are the unpaired masks of the adversarial shape prior (``unpaired_masks``)
        and whose images are the unlabeled images (``unlabeled/images``).
    test
        Held-out subjects (``test/images``, ``test/masks``).
    """

    train: range
    unpaired: range
    test: range

    @property
    def n_subjects(self) -> int:
        """Number of subjects in all sets."""
        return len(self.train) + len(self.unpaired) + len(self.test)


def cardiac_split(n_subjects: int | None = None) -> CardiacSplit:
    """The split of a ``cardiac`` dataset of ``n_subjects`` subjects.

    The default 30 subjects give 16 train, 6 unpaired and 8 test subjects; other sizes keep the 16:6:8
    proportions, with at least one subject per set.

    Raises
    ------
    ConfigError
        If ``n_subjects`` is below 3.
    """
    if n_subjects is None:
        n_train, n_unpaired, n_test = _SPLIT_SIZES
    else:
        if n_subjects < 3:
            raise ConfigError(
                "the cardiac sample needs at least 3 subjects (train, unpaired masks, test), "
                f"got {n_subjects}"
            )
        total = sum(_SPLIT_SIZES)
        n_unpaired = max(1, round(n_subjects * _SPLIT_SIZES[1] / total))
        n_test = max(1, round(n_subjects * _SPLIT_SIZES[2] / total))
        n_train = n_subjects - n_unpaired - n_test
        if n_train < 1:
            n_train, n_unpaired, n_test = 1, 1, n_subjects - 2
    return CardiacSplit(
        train=range(0, n_train),
        unpaired=range(n_train, n_train + n_unpaired),
        test=range(n_train + n_unpaired, n_train + n_unpaired + n_test),
    )


#: The split of the default dataset (``scribbleseg sample-data cardiac``): unpaired subjects 16..21.
CARDIAC_SPLIT = cardiac_split()


def _cardiac_scribbles(
    mask: np.ndarray, seed: int, index: int, slices: str | int | Sequence[int]
) -> np.ndarray:
    """Paper-style scribbles of a cardiac subject: skeleton for RV and LV, random walk for MYO."""
    rng = np.random.default_rng([int(seed), int(index), 0x5C21])
    return scribbles_from_mask(
        mask,
        len(CARDIAC_CLASSES),
        slice_axis=2,
        style="paper",
        rng=rng,
        slices=slices,
        thin_classes=(CARDIAC_CLASSES.index("MYO"),),
    )


_CARDIAC_README = """\
napari-scribbleseg sample dataset "cardiac" (synthetic short-axis cine MRI), seed {seed}
{n_total} subjects: {n_train} training, {n_unpaired} unpaired-mask, {n_test} test.

train/images/caseNN.nii.gz     training images (float32)
train/scribbles/caseNN.nii.gz  scribbles on every slice, made as in Valvano et al. (001) Sec. IV-A:
                               skeletons of LV and RV, a 2500-step random walk in the thin MYO, and a
                               background scribble around the heart (a broken band a few pixels out
                               plus random-walk strokes further out)
train/masks/caseNN.nii.gz      dense masks of the training subjects: NOT used by default (for mixed
                               supervision and for making other scribble styles)
unpaired_masks/caseNN.nii.gz   masks of other subjects, for the adversarial shape prior
unlabeled/images/caseNN.nii.gz the images of those subjects (semi-supervised experiments)
test/images, test/masks        held-out subjects
classes.json                   class names and label encoding

Classes: {classes}
Masks: 0 = background, 1 = RV, 2 = MYO, 3 = LV. Scribbles: 0 = not annotated, 1 = background,
2 = RV, 3 = MYO, 4 = LV.

Axes (x, y, z): z is the slice axis (8 mm; slice 0 = base, the last slices toward or past the apex),
in-plane spacing 1.3-1.7 mm and 160-192 pixels per side, varying per subject. The affine is
diag(spacing) with a small rotation and an offset (qform = sform, code 1). Images are synthetic:
blurred, with bias field, gamma changes, Rician noise (SNR 6-20) and sometimes ghosting; structures of
overlapping intensity (aorta, vessels, atrium and outflow tract as bright as the LV blood pool, liver as
bright as the RV, pericardial fat next to the myocardium, papillary muscles inside the LV).
Regenerate with: scribbleseg sample-data cardiac --out DIR
"""


def write_cardiac(out: Path, seed: int, n_subjects: int | None) -> Path:
    """Write the ``cardiac`` dataset into ``out`` (layout in its README); return ``out``."""
    split = cardiac_split(n_subjects)
    out = Path(out)
    for index in range(split.n_subjects):
        name = f"case{index + 1:02d}.nii.gz"
        subj = make_cardiac_subject(index, seed)
        if index in split.train:
            write_volume(out / "train" / "images" / name, subj.image, subj.affine)
            scribbles = _cardiac_scribbles(subj.mask, seed, index, "all")
            write_volume(out / "train" / "scribbles" / name, scribbles, subj.affine)
            write_volume(out / "train" / "masks" / name, subj.mask, subj.affine)
        elif index in split.unpaired:
            write_volume(out / "unpaired_masks" / name, subj.mask, subj.affine)
            write_volume(out / "unlabeled" / "images" / name, subj.image, subj.affine)
        else:
            write_volume(out / "test" / "images" / name, subj.image, subj.affine)
            write_volume(out / "test" / "masks" / name, subj.mask, subj.affine)
    readme = _CARDIAC_README.format(
        seed=seed,
        n_total=split.n_subjects,
        n_train=len(split.train),
        n_unpaired=len(split.unpaired),
        n_test=len(split.test),
        classes=", ".join(CARDIAC_CLASSES),
    )
    write_dataset_info(out, CARDIAC_CLASSES, readme)
    return out


def load_cardiac(seed: int, slices: str | int | Sequence[int] | None) -> SampleVolume:
    """Subject 0 of the ``cardiac`` dataset with its scribbles (default: on every slice)."""
    subj = make_cardiac_subject(0, seed)
    scribbles = _cardiac_scribbles(subj.mask, seed, 0, "all" if slices is None else slices)
    return SampleVolume(subj.image, subj.mask, scribbles, subj.spacing, subj.affine, CARDIAC_CLASSES)
