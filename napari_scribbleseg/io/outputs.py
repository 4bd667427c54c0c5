"""What a command may replace: the tool's own earlier outputs, never the user's files without being told.

The rule every command follows (checked before it reads or computes anything, so a refusal costs nothing):

- an **input** of the command (images, scribbles, masks, their sidecars, the model) is never replaced, even
  with ``--overwrite``;
- an existing file that is one of the tool's **own outputs** (a mask ``predict`` or ``propagate`` wrote, an
  ``evaluate`` JSON...) is replaced: running a command again is the normal way to refresh its results;
- any **other existing file** (hand-drawn scribbles, a ground-truth mask, a colleague's notes) is replaced
  only with ``--overwrite``; without it the command fails and names the file.

Own outputs are recognised by a mark written into them: the NIfTI header's ``descrip`` field starts with
:data:`OUTPUT_MARK` (ITK-SNAP and Slicer show it as the file's description), JSON files and sidecars
carry a ``"made_by"`` entry, ITK-SNAP label descriptions (``.txt``) start with the line
``# <OUTPUT_MARK><command>``, a ``.seg.nrrd`` / ``.nrrd`` has the header field ``ScribbleSeg_MadeBy``, and a
DICOM-SEG's Content Description starts with :data:`OUTPUT_MARK` (read with pydicom; without it, no ``.dcm``
counts as an own output). Files the user makes in napari (scribbles, corrected masks) do not get the mark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError
from .files import nifti_suffix

__all__ = ["OUTPUT_MARK", "check_outputs", "is_own_output", "output_descrip"]

#: Prefix of the NIfTI ``descrip`` of machine-made outputs (the field holds 80 bytes).
OUTPUT_MARK = "napari-scribbleseg output: "

#: Key of the mark in JSON outputs and sidecars.
MADE_BY = "made_by"

#: Header field of the mark in NRRD outputs (:mod:`.segnrrd`).
NRRD_FIELD = "ScribbleSeg_MadeBy"


def output_descrip(made_by: str) -> bytes:
    """The NIfTI ``descrip`` of an output of ``made_by`` (``"scribbleseg predict"``), 79 bytes at most."""
    return (OUTPUT_MARK + made_by).encode("ascii", "replace")[:79]


def is_own_output(path: str | Path) -> bool:
    """Whether ``path`` is a file this tool wrote as an output (see the module docs); never raises."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        if nifti_suffix(p) is not None:
            import nibabel as nib

            descrip = bytes(nib.load(str(p)).header["descrip"]).split(b"\0")[0].decode("ascii", "replace")
            return descrip.startswith(OUTPUT_MARK)
        suffix = p.suffix.lower()
        if suffix == ".json":
            content = json.loads(p.read_text(encoding="utf-8"))
            return isinstance(content, dict) and isinstance(content.get(MADE_BY), str)
        if suffix == ".txt":
            with open(p, encoding="utf-8", errors="replace") as fh:
                return fh.readline().startswith("# " + OUTPUT_MARK)
        if suffix in (".nrrd", ".nhdr"):
            import nrrd

            return isinstance(nrrd.read_header(str(p)).get(NRRD_FIELD), str)
        if suffix == ".dcm":
            import pydicom

            ds = pydicom.dcmread(str(p), stop_before_pixels=True, specific_tags=["ContentDescription"])
            return str(ds.get("ContentDescription", "")).startswith(OUTPUT_MARK)
    except Exception:  # unreadable or not what its name says: not ours
        return False
    return False


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    outputs: Iterable[str | Path], *, inputs: Iterable[str | Path] = (), overwrite: bool = False
) -> None:
    """Refuse, before any work, outputs that would replace an input or a file that is not the tool's own.

    Parameters
    ----------
    outputs
        Every file the command is about to write (masks and their sidecars, JSON...).
    inputs
        Every file the command reads; never replaced, even with ``overwrite``.
    overwrite
        The user's ``--overwrite``: existing files that are not inputs may be replaced.

    Raises
    ------
    DataError
        Naming the first file that must not be replaced, and what to do.
    """
    guarded = [Path(q).expanduser() for q in inputs]
    for out in outputs:
        p = Path(out).expanduser()
        if any(_same_file(p, q) for q in guarded):
            raise DataError(
                f"{p}: is an input of this command; refusing to overwrite it (also with --overwrite): "
                "choose another output location"
            )
        if p.is_dir():
            raise DataError(f"{p}: is a folder, not a file; choose another output location")
        if p.exists() and not overwrite and not is_own_output(p):
            raise DataError(
                f"{p}: already exists and was not written by scribbleseg (it may be your own work); "
                "choose another output location, or pass --overwrite to replace it"
            )
