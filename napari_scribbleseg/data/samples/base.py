"""What every sample dataset shares: its types, the shipped files' folder, and writing it to disk.

The files are written through :mod:`napari_scribbleseg.io` (the package's one NIfTI writer and atomic
writer): images as ``float32``, masks and scribbles as ``uint8`` with the NIfTI "label" intent, qform =
sform = the subject's affine (code 1), plus a dataset-wide ``classes.json`` and a ``README.txt``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...errors import DataError
from ...io import atomic_write_text, save_nifti, write_dataset_classes

__all__ = [
    "LABEL_ENCODING",
    "SampleDataset",
    "SampleVolume",
    "sample_data_dir",
    "write_dataset_info",
    "write_volume",
]

#: How the files of a sample dataset encode labels, as written to its ``classes.json``.
LABEL_ENCODING = {
    "masks": "0 = background, k = structure k (k-th class name)",
    "scribbles": "0 = not annotated, 1 = background, k + 1 = structure k",
}


class SampleVolume(NamedTuple):
    """One subject of a sample dataset, arrays in NIfTI ``(x, y, z)`` order.

    Attributes
    ----------
    image
        float32 intensities.
    mask
        uint8 dense mask (``0`` background, ``k`` structure ``k``).
    scribbles
        uint8 scribbles (``0`` not annotated, ``1`` background, ``k + 1`` structure ``k``).
    spacing
        Voxel size (mm) per axis.
    affine
        4x4 voxel-to-world matrix (mm).
    class_names
        Background first.
    """

    image: np.ndarray
    mask: np.ndarray
    scribbles: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class SampleDataset:
    """A registered sample dataset.

    Attributes
    ----------
    name
        Registry name.
    description
        One line for menus and ``--help``.
    class_names
        Background first.
    write
        ``write(out_dir, seed, n_subjects) -> out_dir``, see
        :func:`~napari_scribbleseg.data.samples.write_sample`.
    load
        ``load(seed, slices) -> SampleVolume``, see
        :func:`~napari_scribbleseg.data.samples.load_sample_volume`.
    """

    name: str
    description: str
    class_names: tuple[str, ...]
    write: Callable[[Path, int, int | None], Path]
    load: Callable[[int, str | int | Sequence[int] | None], SampleVolume]


def sample_data_dir() -> Path:
    """The folder of the files shipped with the package (``brain/`` ...).

    ``<repository>/sample_data`` (next to the package folder, in a source checkout) when it exists,
    else ``napari_scribbleseg/sample_data`` (installed wheel).
    """
    package = Path(__file__).resolve().parents[2]
    checkout = package.parent / "sample_data"
    return checkout if checkout.is_dir() else package / "sample_data"


def write_volume(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    """Write one volume of a sample dataset: integer data as labels (``uint8``), else a ``float32`` image.

    Qform and sform both hold ``affine`` (code 1, scanner), units are mm; see
    :func:`~napari_scribbleseg.io.save_nifti`.
    """
    return save_nifti(path, data, affine, kind="auto")


def write_dataset_info(out: Path, class_names: Sequence[str], readme: str) -> None:
    """Write ``classes.json`` (class names and :data:`LABEL_ENCODING`) and ``README.txt`` into ``out``."""
    write_dataset_classes(out, class_names, LABEL_ENCODING)
    atomic_write_text(Path(out) / "README.txt", readme, error=DataError)
