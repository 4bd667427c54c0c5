"""Files in and out: volumes, masks, class-name sidecars, model folders, and the one atomic writer.

Import the public names from here (``from napari_scribbleseg.io import read_image``). The modules:

- :mod:`.atomic` -- the atomic file writer every file of the package goes through;
- :mod:`.formats` -- the formats read and written, recognised from a path;
- :mod:`.files` -- case names, folder listings and pairing files by name;
- :mod:`.volume` -- :class:`NiftiVolume` (the engine's volume, whatever the file), :class:`VolumeSource`
  and affine helpers (RAS/LPS);
- :mod:`.read` -- :func:`read_image` / :func:`read_labels` for every format, frames, class names stored
  with labels; their parts: :mod:`.nifti_read` (nibabel), :mod:`.sitk_read` (NRRD, MetaImage with
  SimpleITK), :mod:`.dicom_read` (DICOM series), :mod:`.segnrrd` (3D Slicer ``.seg.nrrd``, pynrrd),
  :mod:`.dicomseg` (DICOM-SEG, highdicom: the ``dicom`` extra);
- :mod:`.nifti_write` -- writing NIfTI images and labels; :mod:`.masks` -- a mask in NIfTI, ``.seg.nrrd``
  or DICOM-SEG; :mod:`.itksnap` -- ITK-SNAP label descriptions next to NIfTI labels;
- :mod:`.limits` -- the declared size and spacing a file may have (raised with ``SCRIBBLESEG_*``
  environment variables), checked before any voxel is read;
- :mod:`.outputs` -- which existing files a command may replace (``--overwrite``);
- :mod:`.sidecar` -- class names next to label files (``case01.json``, a dataset's ``classes.json``);
- :mod:`.checkpoint` -- the model-folder format (weights, metadata, training state; imported on its own,
  ``from napari_scribbleseg.io import checkpoint``);
- :mod:`.session_folder` -- the session folder shared by the widget and ``train --session`` (images by
  reference, annotation layers, settings, the model), its schema in :mod:`.session_meta` (imported on its
  own).
"""

from .atomic import atomic_write, atomic_write_json, atomic_write_text
from .dicom_read import dicom_source_files
from .files import NIFTI_SUFFIXES, case_name, is_nifti, list_nifti, list_volumes, nifti_suffix, pair_by_name
from .formats import (
    OUTPUT_FORMATS,
    VOLUME_SUFFIXES,
    default_output_format,
    file_format,
    input_files,
    is_volume_path,
    volume_suffix,
)
from .itksnap import itksnap_path, read_itksnap_labels, write_itksnap_labels
from .masks import check_output_format, format_of_output, output_files, output_format, output_name, write_mask
from .nifti_read import LABEL_WORDS
from .nifti_write import save_nifti, write_image, write_labels
from .outputs import check_outputs, is_own_output
from .read import (
    count_frames,
    label_kind,
    read_class_names,
    read_image,
    read_image_frames,
    read_label_table,
    read_labels,
)
from .sidecar import (
    DATASET_CLASSES_FILE,
    dataset_class_names,
    read_sidecar,
    read_sidecar_content,
    sidecar_path,
    write_dataset_classes,
    write_sidecar,
)
from .volume import NiftiVolume, VolumeSource, affines_match, lps_to_ras, make_affine

__all__ = [
    "DATASET_CLASSES_FILE",
    "LABEL_WORDS",
    "NIFTI_SUFFIXES",
    "OUTPUT_FORMATS",
    "VOLUME_SUFFIXES",
    "NiftiVolume",
    "VolumeSource",
    "affines_match",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "case_name",
    "check_output_format",
    "check_outputs",
    "count_frames",
    "dataset_class_names",
    "default_output_format",
    "dicom_source_files",
    "file_format",
    "format_of_output",
    "input_files",
    "is_nifti",
    "is_own_output",
    "is_volume_path",
    "itksnap_path",
    "label_kind",
    "list_nifti",
    "list_volumes",
    "lps_to_ras",
    "make_affine",
    "nifti_suffix",
    "output_files",
    "output_format",
    "output_name",
    "pair_by_name",
    "read_class_names",
    "read_image",
    "read_image_frames",
    "read_itksnap_labels",
    "read_label_table",
    "read_labels",
    "read_sidecar",
    "read_sidecar_content",
    "save_nifti",
    "sidecar_path",
    "volume_suffix",
    "write_dataset_classes",
    "write_image",
    "write_itksnap_labels",
    "write_labels",
    "write_mask",
    "write_sidecar",
]
