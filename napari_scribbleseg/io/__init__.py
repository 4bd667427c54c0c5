"""Files in and out: NIfTI volumes, class-name sidecars, model folders, and the one atomic writer.

Import the public names from here (``from napari_scribbleseg.io import read_image``). The modules:

- :mod:`.atomic` -- the atomic file writer every file of the package goes through;
- :mod:`.files` -- case names, folder listings and pairing files by name;
- :mod:`.volume` -- :class:`NiftiVolume` and affine helpers;
- :mod:`.nifti_read` / :mod:`.nifti_write` -- reading and writing NIfTI images and labels;
- :mod:`.limits` -- the declared size and spacing a file may have (raised with ``SCRIBBLESEG_*``
  environment variables), checked before any voxel is read;
- :mod:`.outputs` -- which existing files a command may replace (``--overwrite``);
- :mod:`.sidecar` -- class names next to label files (``case01.json``, a dataset's ``classes.json``);
- :mod:`.checkpoint` -- the model-folder format (weights, metadata, training state; imported on its own,
  ``from napari_scribbleseg.io import checkpoint``).
"""

from .atomic import atomic_write, atomic_write_json, atomic_write_text
from .files import NIFTI_SUFFIXES, case_name, is_nifti, list_nifti, nifti_suffix, pair_by_name
from .nifti_read import LABEL_WORDS, label_kind, read_image, read_labels
from .nifti_write import save_nifti, write_image, write_labels
from .outputs import check_outputs, is_own_output
from .sidecar import (
    DATASET_CLASSES_FILE,
    dataset_class_names,
    read_sidecar,
    read_sidecar_content,
    sidecar_path,
    write_dataset_classes,
    write_sidecar,
)
from .volume import NiftiVolume, affines_match, make_affine

__all__ = [
    "DATASET_CLASSES_FILE",
    "LABEL_WORDS",
    "NIFTI_SUFFIXES",
    "NiftiVolume",
    "affines_match",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "case_name",
    "check_outputs",
    "dataset_class_names",
    "is_nifti",
    "is_own_output",
    "label_kind",
    "list_nifti",
    "make_affine",
    "nifti_suffix",
    "pair_by_name",
    "read_image",
    "read_labels",
    "read_sidecar",
    "read_sidecar_content",
    "save_nifti",
    "sidecar_path",
    "write_dataset_classes",
    "write_image",
    "write_labels",
    "write_sidecar",
]
