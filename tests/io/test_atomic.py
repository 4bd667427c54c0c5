"""The one atomic writer: permissions from the umask, nothing left behind on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from napari_scribbleseg.errors import DataError
from napari_scribbleseg.io import atomic_write, atomic_write_json, atomic_write_text

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_umask(value: int) -> int:
        os.umask(value)
        return value

    yield set_umask
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
@pytest.mark.parametrize("value", [0o022, 0o027, 0o002])
def test_published_file_gets_the_umask_mode(tmp_path, umask, value):
    umask(value)
    out = atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
    assert out.read_text() == "hello"
    assert mode(out) == 0o666 & ~value


@posix_only
def test_mode_restored_when_the_callback_replaces_the_file(tmp_path, umask):
    umask(0o022)

    def write(tmp: Path) -> None:  # e.g. a library that writes its own 0600 file and renames it
        private = tmp.with_name("private")
        fd = os.open(private, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"data")
        os.close(fd)
        os.replace(private, tmp)

    out = atomic_write(tmp_path / "model.safetensors", write)
    assert out.read_bytes() == b"data"
    assert mode(out) == 0o644


@posix_only
def test_overwrite_gets_a_fresh_mode(tmp_path, umask):
    umask(0o022)
    dest = tmp_path / "meta.json"
    dest.write_text("{}")
    dest.chmod(0o600)
    atomic_write_json(dest, {"a": 1})
    assert dest.read_text() == '{\n  "a": 1\n}\n'
    assert mode(dest) == 0o644


def test_temp_file_is_hidden_next_to_the_destination_and_keeps_the_ending(tmp_path):
    seen = []

    def write(tmp: Path) -> None:
        seen.append(tmp)
        assert tmp.exists() and tmp.stat().st_size == 0
        tmp.write_bytes(b"x")

    atomic_write(tmp_path / "case01.nii.gz", write)
    (tmp,) = seen
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(".case01.") and tmp.name.endswith(".nii.gz")
    assert [p.name for p in tmp_path.iterdir()] == ["case01.nii.gz"]


def test_failed_write_leaves_nothing(tmp_path):
    def write(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_write(tmp_path / "out.bin", write)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_existing_destination(tmp_path):
    dest = tmp_path / "out.nii.gz"
    dest.write_bytes(b"previous")

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt  # not even an Exception: still cleaned up

    with pytest.raises(KeyboardInterrupt):
        atomic_write(dest, write)
    assert [p.name for p in tmp_path.iterdir()] == ["out.nii.gz"]
    assert dest.read_bytes() == b"previous"


def test_os_errors_become_the_given_error(tmp_path):
    def write(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(DataError, match=r"out.json: cannot write the file: OSError: disk full"):
        atomic_write(tmp_path / "out.json", write, error=DataError)
    with pytest.raises(OSError, match="disk full"):  # without ``error``: unchanged
        atomic_write(tmp_path / "out.json", write)
    assert list(tmp_path.iterdir()) == []


def test_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot create the output folder"):
        atomic_write_text(blocker / "sub" / "a.txt", "x", error=DataError)
    assert blocker.read_text() == "not a folder"
