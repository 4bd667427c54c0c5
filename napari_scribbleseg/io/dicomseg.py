"""DICOM Segmentation objects (DICOM-SEG), written and read with highdicom and pydicom (the ``dicom`` extra).

A mask computed on a DICOM series goes back to PACS as one DICOM-SEG file (``.dcm``) that

- references the source series and, frame by frame, the source slice it lies on (same position and
  orientation: a viewer overlays it on the series);
- has one segment per structure (the mask background is no segment), labelled with the class name and
  coloured as in napari (the recommended display colour is CIELab, converted from the RGB colour);
- is a ``BINARY`` segmentation (the kind every DICOM viewer reads), empty frames omitted, made by the
  algorithm "napari-scribbleseg" (segment algorithm type ``AUTOMATIC``);
- carries the mark of a machine output (:mod:`.outputs`) in its Content Description.

The property category and type of every segment are the generic SNOMED CT "Tissue" (the class names say
what the structure is; the tool does not know the anatomy).

highdicom and pydicom are an optional extra (``pip install 'napari-scribbleseg[dicom]'``); without them
asking for DICOM-SEG fails at once with that instruction (:func:`require_dicom_packages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..labels import label_table
from .atomic import atomic_write, describe_error
from .volume import NiftiVolume, VolumeSource, lps_to_ras

__all__ = ["INSTALL_HINT", "dicom_seg_table", "read_dicom_seg", "require_dicom_packages", "write_dicom_seg"]

INSTALL_HINT = "pip install 'napari-scribbleseg[dicom]'"
_CONTENT_LABEL = "SCRIBBLESEG"


def require_dicom_packages(what: str | Path) -> tuple[Any, Any]:
    """The modules ``highdicom`` and ``pydicom``, or a DataError naming ``what`` and how to install them."""
    try:
        import highdicom
        import pydicom
    except ImportError:
        raise DataError(
            f"{what}: DICOM-SEG needs the optional packages highdicom and pydicom; install them with "
            f"{INSTALL_HINT}"
        ) from None
    return highdicom, pydicom


def _dicom_source(p: Path, reference: NiftiVolume) -> VolumeSource:
    src = reference.source
    if src is None or src.format != "dicom" or not src.files:
        family = src.format if src is not None else "made in memory"
        name = reference.path if reference.path is not None else "the image"
        raise DataError(
            f"{p}: DICOM-SEG needs an image read from a DICOM series (it references the source slices); "
            f"{name} is {family}: choose another format (nifti or seg.nrrd)"
        )
    if len(src.files) != reference.shape[2]:
        raise DataError(f"{p}: the image has {reference.shape[2]} slices but {len(src.files)} source files")
    return src


def write_dicom_seg(
    path: str | Path,
    labels: np.ndarray,
    reference: NiftiVolume,
    class_names: Sequence[str],
    *,
    made_by: str | None = None,
) -> Path:
    """Write a mask (``0`` = background, ``k`` = structure ``k``) as DICOM-SEG on its DICOM series.

    Parameters
    ----------
    path
        Output ``.dcm`` file.
    labels
        Mask with the reference's shape (array order ``[i, j, k]``: columns, rows, slices).
    reference
        The image read from the DICOM series (:func:`~napari_scribbleseg.io.dicom_read.read_dicom`).
    class_names
        Background first; structure ``k`` becomes segment number ``k``.
    made_by
        The command that made the file (marks it as a machine output).

    Raises
    ------
    DataError
        highdicom/pydicom missing (with the install command), an image that is not a DICOM series, a
        source file that cannot be read, or a write failure.
    """
    from .. import __version__
    from .outputs import OUTPUT_MARK

    p = Path(path)
    hd, pydicom = require_dicom_packages(p)
    from pydicom.sr.codedict import codes

    src = _dicom_source(p, reference)
    sources = []
    for f in src.files:
        try:
            sources.append(pydicom.dcmread(str(f), stop_before_pixels=True))
        except Exception as exc:
            raise DataError(
                f"{f}: the source slice cannot be read for DICOM-SEG: {describe_error(exc)}"
            ) from exc
    algorithm = hd.AlgorithmIdentificationSequence(
        name="napari-scribbleseg", version=__version__, family=codes.cid7162.ArtificialIntelligence
    )
    segments = [
        hd.seg.SegmentDescription(
            segment_number=value,
            segment_label=name[:64],
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_id=name[:64],
            tracking_uid=hd.UID(),
            display_color=hd.color.CIELabColor.from_rgb(*rgb),
        )
        for value, name, rgb in label_table(class_names, "mask")
        if value > 0
    ]
    pixels = np.ascontiguousarray(np.asarray(labels).transpose(2, 1, 0))  # [i, j, k] -> (frame, row, col)
    pixels = pixels.astype(np.uint8 if len(segments) < 256 else np.uint16)
    description = (OUTPUT_MARK + made_by) if made_by else "napari-scribbleseg mask"
    series_number = int(getattr(sources[0], "SeriesNumber", 0) or 0) + 1000
    try:
        seg = hd.seg.Segmentation(
            source_images=sources,
            pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=segments,
            series_instance_uid=hd.UID(),
            series_number=series_number,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="napari-scribbleseg",
            manufacturer_model_name="napari-scribbleseg",
            software_versions=__version__,
            device_serial_number="0",
            content_description=description[:64],
            content_label=_CONTENT_LABEL,
            series_description=f"Segmentation ({', '.join(class_names[1:])})"[:64],
            omit_empty_frames=bool(np.any(pixels)),  # an all-background mask keeps its frames
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # e.g. a source missing a tag
        raise DataError(
            f"{p}: cannot make the DICOM-SEG from {reference.path}: {describe_error(exc)}"
        ) from exc
    return atomic_write(p, lambda tmp: seg.save_as(str(tmp)), suffix=".dcm", error=DataError)


def _table(hd: Any, ds: Any) -> list[tuple[int, str, tuple[int, int, int]]]:
    """``(segment number, label, (r, g, b))`` of each segment of a SEG dataset (grey without a colour)."""
    entries = []
    for item in ds.get("SegmentSequence", []):
        lab = item.get("RecommendedDisplayCIELabValue")
        rgb = (
            tuple(int(c) for c in hd.color.CIELabColor.from_dicom_value(lab).to_rgb())
            if lab
            else (128, 128, 128)
        )
        entries.append((int(item.SegmentNumber), str(item.get("SegmentLabel", "")), rgb))
    return sorted(entries)


def dicom_seg_table(path: str | Path) -> list[tuple[int, str, tuple[int, int, int]]]:
    """The segments of a DICOM-SEG file as ``(segment number, label, (r, g, b))``; headers only.

    Raises
    ------
    DataError
        Missing packages or an unreadable file.
    """
    p = Path(path)
    hd, pydicom = require_dicom_packages(p)
    try:
        ds = pydicom.dcmread(str(p), stop_before_pixels=True)
    except Exception as exc:
        raise DataError(f"{p}: cannot be read as DICOM-SEG: {describe_error(exc)}") from exc
    return _table(hd, ds)


def read_dicom_seg(
    path: str | Path, reference: NiftiVolume | None = None
) -> tuple[NiftiVolume, list[tuple[int, str, tuple[int, int, int]]]]:
    """Read a DICOM-SEG as a mask (segment number = value) and ``(value, name, (r, g, b))`` per segment.

    With a ``reference`` read from the segmented DICOM series, the mask is on its grid, slice by source
    instance. Without one, the segmentation's own frames must form a regular volume (frames omitted
    because empty make this fail: then give the image).

    Raises
    ------
    DataError
        Missing packages, not a readable DICOM-SEG, overlapping segments, or no regular geometry.
    """
    p = Path(path).expanduser()
    hd, pydicom = require_dicom_packages(p)
    try:
        seg = hd.seg.segread(str(p))
    except Exception as exc:
        raise DataError(f"{p}: cannot be read as DICOM-SEG: {describe_error(exc)}") from exc
    entries = _table(hd, seg)
    src = reference.source if reference is not None else None
    try:
        if reference is not None and src is not None and src.format == "dicom" and src.files:
            uids = [
                str(
                    pydicom.dcmread(
                        str(f), stop_before_pixels=True, specific_tags=["SOPInstanceUID"]
                    ).SOPInstanceUID
                )
                for f in src.files
            ]
            pixels = seg.get_pixels_by_source_instance(uids, combine_segments=True)
            data = np.ascontiguousarray(pixels.transpose(2, 1, 0))  # (frame, row, col) -> [i, j, k]
            vol = NiftiVolume(
                data, reference.affine.copy(), reference.header.copy(), p, VolumeSource("dicom")
            )
            return vol, entries
        volume = seg.get_volume(combine_segments=True)
    except (RuntimeError, ValueError, KeyError, AttributeError) as exc:
        raise DataError(
            f"{p}: the segmentation cannot be placed on a voxel grid ({describe_error(exc)}); open it with "
            f"the DICOM series it segments"
        ) from exc
    lps = np.asarray(volume.affine, dtype=np.float64)[
        :, [2, 1, 0, 3]
    ]  # (slice, row, col) -> (col, row, slice)
    data = np.ascontiguousarray(np.asarray(volume.array).transpose(2, 1, 0))
    return NiftiVolume.from_array(data, lps_to_ras(lps), path=p, source=VolumeSource("dicom")), entries
