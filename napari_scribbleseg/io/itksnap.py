"""ITK-SNAP label descriptions next to a NIfTI label file: class names and colours ITK-SNAP can load.

A label file ``<dir>/case01.nii.gz`` written with class names gets ``<dir>/case01.labels.txt`` in
ITK-SNAP's plain-text label description format (in ITK-SNAP: *Segmentation > Import Label
Descriptions...*; 3D Slicer and ITK-SNAP's command line ``-l`` read it too). One line per label value::

    IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
      1   230   25   75  1.00   1   1   "RV"

``IDX`` is the value in the file, ``R G B`` the colour (0-255, the colour napari shows:
:func:`napari_scribbleseg.labels.class_color`), ``A`` the opacity (0-1), ``VIS``/``MSH`` whether the label
is shown in the slices and in 3D, ``LABEL`` the class name in double quotes. Lines starting with ``#`` are
comments; a machine output's first line is ``# <OUTPUT_MARK><command>`` (see :mod:`.outputs`).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..labels import label_table
from .atomic import atomic_write_text, describe_error
from .files import case_name
from .outputs import OUTPUT_MARK

__all__ = ["itksnap_path", "read_itksnap_labels", "write_itksnap_labels"]

#: The name ITK-SNAP gives value 0 ("no label").
CLEAR_LABEL = "Clear Label"

_HEADER = """\
# ITK-SNAP label description file, written by napari-scribbleseg ({what}).
# Load it in ITK-SNAP with Segmentation > Import Label Descriptions.
# Columns:
#    IDX   label value in the segmentation file
#    -R- -G- -B-   colour, 0..255
#    -A--  opacity, 0.00..1.00
#    VIS   shown in the slice views (0 or 1)
#    MSH   shown in the 3D view (0 or 1)
#    LABEL class name
# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
"""


def itksnap_path(path: str | Path) -> Path:
    """The label description file of a NIfTI label file: ``<dir>/<case_name>.labels.txt``."""
    p = Path(path)
    return p.parent / f"{case_name(p)}.labels.txt"


def _line(value: int, rgb: tuple[int, int, int], alpha: float, visible: int, name: str) -> str:
    label = name.replace('"', "'").replace("\n", " ")
    r, g, b = rgb
    return f'{value:5d} {r:5d} {g:4d} {b:4d} {alpha:8.2f} {visible:2d} {visible:2d}    "{label}"'


def write_itksnap_labels(
    path: str | Path, class_names: Sequence[str], *, kind: str = "mask", made_by: str | None = None
) -> Path:
    """Write the ITK-SNAP label descriptions of the label file ``path``; return the description file.

    Parameters
    ----------
    path
        The NIfTI label file described (the description goes to :func:`itksnap_path`).
    class_names
        Background first.
    kind
        ``"mask"`` (value ``k`` is class ``k``; background, value 0, is listed but transparent) or
        ``"scribbles"`` (value 0 is ITK-SNAP's "Clear Label", value ``k + 1`` is class ``k``, background
        included).
    made_by
        The command that made the file, for a machine output's mark (see :mod:`.outputs`).

    Raises
    ------
    DataError
        If the file cannot be written.
    """
    lines = [f"# {OUTPUT_MARK}{made_by}"] if made_by else []
    lines.append(_HEADER.format(what=kind).rstrip("\n"))
    if kind == "scribbles":
        lines.append(_line(0, (0, 0, 0), 0.0, 0, CLEAR_LABEL))
    for value, name, rgb in label_table(class_names, kind):
        hidden = kind == "mask" and value == 0  # predicted background: transparent, as in napari
        lines.append(_line(value, rgb, 0.0 if hidden else 1.0, 0 if hidden else 1, name))
    return atomic_write_text(itksnap_path(path), "\n".join(lines) + "\n", error=DataError)


def read_itksnap_labels(path: str | Path) -> list[tuple[int, str, tuple[int, int, int]]]:
    """The ``(value, name, (r, g, b))`` entries of an ITK-SNAP label description file, by value.

    Raises
    ------
    DataError
        If the file cannot be read or a line is not in the format (the message gives the line number).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{p}: the label descriptions cannot be read: {describe_error(exc)}") from exc
    entries = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            fields = shlex.split(line)
            if len(fields) < 8:
                raise ValueError('expected IDX R G B A VIS MSH "LABEL"')
            value = int(fields[0])
            rgb = (int(fields[1]), int(fields[2]), int(fields[3]))
            float(fields[4])
            if value < 0 or not all(0 <= c <= 255 for c in rgb):
                raise ValueError("negative label value or colour outside 0..255")
        except ValueError as exc:
            raise DataError(f"{p}: line {n} is not an ITK-SNAP label description ({exc}): {raw!r}") from exc
        entries[value] = (value, " ".join(fields[7:]), rgb)
    return [entries[v] for v in sorted(entries)]
