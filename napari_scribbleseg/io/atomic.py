"""The one atomic file writer of the package: NIfTI files, sidecars, JSON and sample data.

(Model folders are published as one unit by :func:`napari_scribbleseg.io.checkpoint.save_model_folder`.)

A file is written under a temporary name in its destination folder, flushed to disk (``fsync``), and moved
onto its final name with :func:`os.replace`; the folder is then synced too where the platform allows, so
that after a crash or a power cut the final name holds either the old file or the complete new one, never
half of it. Temporary names start with a dot (``.case01.tmp-1a2b3c4d.nii.gz``), so folder listings such
as :func:`~napari_scribbleseg.io.files.list_nifti` skip them, and they keep the file's ending, so that
writers which choose a format from the name (nibabel compresses ``.gz``) write the right one.

The published file gets the permissions a normal new file gets from the user's umask (``0o666 & ~umask``
on POSIX), as with ``open(path, "w")``: the temporary file is created with mode ``0o666`` (the operating
system applies the umask and any default ACL), and that mode is restored if the write callback replaced
the file with a more restrictive one. (:func:`tempfile.mkstemp` would leave ``0o600``, which hides model
folders and exports from the rest of a team.)
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_text", "describe_error"]

#: Endings that belong to the format name before them (``.nii.gz``, ``.csv.bz2``): the temporary file
#: keeps both parts.
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")


def describe_error(exc: BaseException) -> str:
    """``"OSError: disk full"``: the exception type and the first line of its message, for user errors."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _default_suffix(name: str) -> str:
    suffixes = Path(name).suffixes
    if len(suffixes) >= 2 and suffixes[-1].lower() in _COMPRESSION_SUFFIXES:
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def _create_temp(path: Path, suffix: str) -> tuple[Path, int]:
    """Create a new, empty, hidden file next to ``path``; return it and its permission bits.

    ``os.open(..., 0o666)`` lets the operating system apply the umask (and a default ACL), so the mode is
    the one a normal new file gets.
    """
    stem = path.name[: -len(suffix)] if suffix and path.name.endswith(suffix) else path.name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{stem}.tmp-{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        return tmp, mode


def fsync_file(path: Path) -> None:
    """Flush a written file to disk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable; a no-op where folders cannot be opened (Windows)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not support syncing a folder
        pass
    finally:
        os.close(fd)


def atomic_write(
    path: str | Path,
    write: Callable[[Path], Any],
    *,
    suffix: str | None = None,
    error: Callable[[str], Exception] | None = None,
) -> Path:
    """Write a file atomically: ``write(tmp)`` fills a temporary file, which then replaces ``path``.

    Parent folders are created. If anything fails (including an exception inside ``write``), the
    temporary file is removed and an existing ``path`` is left untouched.

    Parameters
    ----------
    path
        Destination file.
    write
        Called once with the temporary file's path (an existing, empty file); it writes the content there
        (it may overwrite or recreate that file).
    suffix
        Ending of the temporary name; default the destination's last suffix, or its last two for
        compressed formats (``.nii.gz``).
    error
        If given, an :class:`OSError` raised while creating the folder or writing the file is re-raised
        as ``error(message)`` (e.g. :class:`~napari_scribbleseg.errors.DataError`), the message naming the
        file and the problem. Other exceptions always propagate unchanged.

    Returns
    -------
    Path
        ``path``.
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if error is None:
            raise
        raise error(f"{p}: cannot create the output folder: {describe_error(exc)}") from exc
    tmp: Path | None = None
    try:
        tmp, mode = _create_temp(p, _default_suffix(p.name) if suffix is None else suffix)
        write(tmp)
        if stat.S_IMODE(os.stat(tmp).st_mode) != mode:  # the callback replaced the file
            os.chmod(tmp, mode)
        fsync_file(tmp)
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        if error is None:
            raise
        raise error(f"{p}: cannot write the file: {describe_error(exc)}") from exc
    finally:
        if tmp is not None:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:  # e.g. the folder went away; the original error matters more
                pass
    fsync_dir(p.parent)
    return p


def atomic_write_text(
    path: str | Path,
    text: str,
    *,
    encoding: str = "utf-8",
    error: Callable[[str], Exception] | None = None,
) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding), error=error)


def atomic_write_json(
    path: str | Path, content: Any, *, error: Callable[[str], Exception] | None = None
) -> Path:
    """Write ``content`` as indented JSON (and a final newline) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(content, indent=2) + "\n", error=error)
