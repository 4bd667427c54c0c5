"""Headers that lie: declared sizes and spacings are checked before any voxel is read (issue #10)."""

from __future__ import annotations

import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from napari_scribbleseg import io
from napari_scribbleseg.errors import ConfigError, DataError
from napari_scribbleseg.io import limits

ENV_VARS = (limits.ENV_MAX_VOXELS, limits.ENV_MIN_SPACING, limits.ENV_MAX_SPACING)


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch):
    """The tests assume the built-in limits, whatever the environment running them sets."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def _read(kind: str, path):
    return io.read_image(path) if kind == "image" else io.read_labels(path, kind="mask")


def _refused_with_peak_memory(kind, p):
    """Read ``p`` expecting a DataError; the error and the peak memory Python allocated meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as err:
            _read(kind, p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return err, peak


@pytest.mark.parametrize("kind", ["image", "labels"])
@pytest.mark.parametrize("name", ["bomb.nii.gz", "bomb.nii"])
def test_huge_declared_shape_is_refused_before_reading(tmp_path, lying_file, kind, name):
    p = lying_file(tmp_path / name, (2000, 2000, 2000))
    assert p.stat().st_size < 400
    err, peak = _refused_with_peak_memory(kind, p)
    assert peak < 20 * 2**20  # reading 2000^3 int16 would need 16 GB
    msg = str(err.value)
    assert str(p) in msg and "2000 x 2000 x 2000 = 8,000,000,000 voxels" in msg
    assert f"limit of {limits.DEFAULT_MAX_VOXELS:,}" in msg and limits.ENV_MAX_VOXELS in msg
    assert "\n" not in msg


def test_voxel_limit_is_raised_and_lowered_by_the_environment(tmp_path, save_raw, monkeypatch):
    p = save_raw(tmp_path / "small.nii.gz", np.ones((4, 5, 6), np.float32))
    monkeypatch.setenv(limits.ENV_MAX_VOXELS, "100")
    with pytest.raises(
        DataError, match=r"small.nii.gz: the header declares 4 x 5 x 6 = 120 voxels.*limit of 100"
    ):
        io.read_image(p)
    monkeypatch.setenv(limits.ENV_MAX_VOXELS, "1.2e2")
    assert io.read_image(p).shape == (4, 5, 6)
    monkeypatch.setenv(limits.ENV_MAX_VOXELS, "lots")
    with pytest.raises(ConfigError, match=r"SCRIBBLESEG_MAX_VOXELS='lots': expected a positive number"):
        io.read_image(p)


@pytest.mark.parametrize("zooms", [(1000.0, 1000.0, 10000.0), (1e-6, 1e-6, 1.0), (1.0, 1e-4, 1.0)])
def test_spacing_out_of_range_is_refused(tmp_path, zooms):
    img = nib.Nifti1Image(np.ones((4, 5, 6), np.int16), np.eye(4))
    img.header.set_zooms(zooms)
    nib.save(img, str(tmp_path / "odd.nii.gz"))
    for read in (io.read_image, lambda f: io.read_labels(f, kind="mask")):
        with pytest.raises(DataError) as err:
            read(tmp_path / "odd.nii.gz")
        msg = str(err.value)
        assert msg.startswith(f"{tmp_path / 'odd.nii.gz'}: voxel spacing (")
        assert "outside the accepted range [0.001, 100] mm" in msg
        assert limits.ENV_MIN_SPACING in msg and limits.ENV_MAX_SPACING in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_spacing_is_refused(tmp_path, lying_file, bad):
    # nibabel itself turns a zero pixdim into 1 and a negative one into its absolute value
    p = lying_file(tmp_path / "nan.nii", (2, 2, 2), zooms=(1.0, bad, 1.0))
    with pytest.raises(
        DataError, match=rf"nan.nii: voxel spacing \(1, {bad}, 1\) in the header is not a finite"
    ):
        io.read_image(p)


def test_spacing_limits_follow_the_environment(tmp_path, monkeypatch):
    img = nib.Nifti1Image(np.ones((4, 5, 6), np.float32), np.diag([200.0, 200.0, 500.0, 1.0]))
    nib.save(img, str(tmp_path / "coarse.nii.gz"))
    with pytest.raises(DataError, match=r"coarse.nii.gz: voxel spacing \(200, 200, 500\) mm is outside"):
        io.read_image(tmp_path / "coarse.nii.gz")
    monkeypatch.setenv(limits.ENV_MAX_SPACING, "500")
    assert io.read_image(tmp_path / "coarse.nii.gz").spacing == (200.0, 200.0, 500.0)
    monkeypatch.setenv(limits.ENV_MIN_SPACING, "600")
    with pytest.raises(ConfigError, match="SCRIBBLESEG_MIN_SPACING_MM=600 is larger than"):
        io.read_image(tmp_path / "coarse.nii.gz")


def test_spacing_message_names_other_units(tmp_path, lying_file):
    p = lying_file(
        tmp_path / "um.nii", (2, 2, 2), zooms=(500.0, 500.0, 2000.0), data_bytes=16, units="micron"
    )
    with pytest.raises(DataError, match=r"um.nii: voxel spacing .*the header's units are micron"):
        io.read_image(p)


@pytest.mark.parametrize("kind", ["image", "labels"])
def test_gzip_too_small_for_its_declared_data(tmp_path, lying_file, kind):
    # under the voxel limit (100 MB of int16) but a few dozen bytes of gzip cannot hold it
    p = lying_file(tmp_path / "short.nii.gz", (512, 512, 200))
    err, peak = _refused_with_peak_memory(kind, p)
    assert peak < 20 * 2**20
    what = "image" if kind == "image" else "label"
    assert f"short.nii.gz: the {what} data cannot be read (truncated file or wrong header)" in str(err.value)
    assert "512 x 512 x 200 voxels of int16" in str(err.value) and "gzip file cannot hold that" in str(
        err.value
    )


def test_uncompressed_file_too_small_for_its_declared_data(tmp_path, lying_file):
    p = lying_file(tmp_path / "short.nii", (30, 30, 30), dtype=np.float32, data_bytes=1000)
    with pytest.raises(
        DataError,
        match=r"short.nii: the image data cannot be read .*108,352 bytes.*has 1,356 bytes, short of",
    ):
        io.read_image(p)


def test_exact_size_and_compressible_files_still_load(tmp_path, lying_file, save_raw):
    p = lying_file(tmp_path / "exact.nii", (3, 4, 5), data_bytes=3 * 4 * 5 * 2)
    assert io.read_image(p).shape == (3, 4, 5)
    # all zeros compress close to deflate's limit: still within the bound
    q = save_raw(tmp_path / "zeros.nii.gz", np.zeros((64, 64, 64), np.float32))
    assert q.stat().st_size * 1032 > 64**3 * 4
    assert io.read_labels(q, kind="mask").shape == (64, 64, 64)
