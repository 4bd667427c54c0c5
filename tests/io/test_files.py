"""Case names, listing NIfTI files and folders, pairing files by case name."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import DataError


def test_case_name():
    assert io.case_name("/a/b/case01.nii.gz") == "case01"
    assert io.case_name("case02.nii") == "case02"
    assert io.case_name(Path("x.y.NII.GZ")) == "x.y"


def test_list_nifti_files_and_folders(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for name in ("b.nii.gz", "a.nii", "notes.txt", ".hidden.nii.gz"):
        (d / name).write_bytes(b"")
    extra = tmp_path / "c.nii.gz"
    extra.write_bytes(b"")
    out = io.list_nifti([extra, d, d / "a.nii"])
    assert [p.name for p in out] == ["a.nii", "b.nii.gz", "c.nii.gz"]


def test_list_nifti_errors(tmp_path):
    with pytest.raises(DataError, match=r"images: .*nope does not exist"):
        io.list_nifti([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"folder .*empty contains no volume \(NIfTI .nii/.nii.gz, NRRD"):
        io.list_nifti([empty])
    txt = empty / "readme.txt"
    with pytest.raises(DataError, match=r"masks: .*readme.txt is not a volume file"):
        io.list_nifti([txt], what="masks")
    with pytest.raises(DataError, match="no file or folder given"):
        io.list_nifti([])
    (empty / "case1.nii").write_bytes(b"")
    (empty / "case1.nii.gz").write_bytes(b"")
    with pytest.raises(DataError, match="share a case name.*case1"):
        io.list_nifti([empty])


def test_pair_by_name(tmp_path):
    imgs = tmp_path / "images"
    scr = tmp_path / "scribbles"
    imgs.mkdir()
    scr.mkdir()
    for n in ("case01.nii.gz", "case02.nii.gz", "case03.nii"):
        (imgs / n).write_bytes(b"")
    (scr / "case01.nii.gz").write_bytes(b"")
    (scr / "case02.nii").write_bytes(b"")  # .nii partner of a .nii.gz image
    images = io.list_nifti([imgs])
    pairs = io.pair_by_name(images, scr, required=False)
    assert pairs == [scr / "case01.nii.gz", scr / "case02.nii", None]
    with pytest.raises(DataError, match=r"scribbles: no file in .*scribbles for 1 of 3 image\(s\): case03"):
        io.pair_by_name(images, scr)
    with pytest.raises(DataError, match="scribbles: .*case01.nii.gz is the image itself"):
        io.pair_by_name(images, imgs)
    with pytest.raises(DataError, match="masks: the folder .*missing does not exist"):
        io.pair_by_name(images, tmp_path / "missing", what="masks")
