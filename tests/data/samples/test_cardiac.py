"""The synthetic cardiac subjects: geometry, anatomy, honest intensities, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.data.samples import make_cardiac_subject
from napari_scribbleseg.labels import check_label_values

RV, MYO, LV = 1, 2, 3


@pytest.fixture(scope="module")
def subjects():
    return [make_cardiac_subject(i, seed=0) for i in range(3)]


def test_cardiac_subject_geometry(subjects):
    for s in subjects:
        x, y, z = s.image.shape
        assert 160 <= x <= 192 and x == y and 8 <= z <= 12
        assert s.mask.shape == s.image.shape
        assert s.image.dtype == np.float32 and s.mask.dtype == np.uint8
        assert np.isfinite(s.image).all() and s.image.min() >= 0
        sx, sy, sz = s.spacing
        assert 1.3 <= sx <= 1.7 and sx == sy and sz == 8.0
        # affine = rotation @ diag(spacing): its columns have the voxel sizes as norms
        np.testing.assert_allclose(np.linalg.norm(s.affine[:3, :3], axis=0), s.spacing, rtol=1e-6)
        check_label_values(s.mask, 4, kind="mask", source="test")
    assert len({s.spacing[0] for s in subjects}) == 3  # spacing varies per subject


def test_cardiac_structures(subjects):
    for s in subjects:
        nz = s.mask.shape[2]
        mid = s.mask[:, :, nz // 2]
        for k in (RV, MYO, LV):
            assert (mid == k).sum() > 20, f"structure {k} missing in the mid slice"
        area = [(s.mask[:, :, k] > 0).sum() for k in range(nz)]
        assert area[-1] < area[nz // 2] and area[-1] < area[0]  # the apex is smaller
        # MYO is thin: area / outline length of a ring ~ its thickness (2-5 px wanted)
        myo = mid == MYO
        outer = (mid > 0) & (mid != RV)
        lv = mid == LV
        ring_len = 0.5 * (perimeter(outer) + perimeter(lv))
        assert 1.5 < myo.sum() / ring_len < 6.5


def perimeter(b: np.ndarray) -> int:
    from scipy import ndimage as ndi

    return int((b & ~ndi.binary_erosion(b)).sum())


def test_cardiac_intensities_overlap(subjects):
    # honest difficulty: structures are not separable by intensity alone
    for s in subjects:
        img, m = s.image, s.mask
        lv = img[m == LV]
        bg = img[m == 0]
        assert (bg > np.percentile(lv, 25)).sum() > 200  # bright background (vessels, fat...)
        assert np.percentile(img[m == MYO], 50) < np.percentile(lv, 50)


def test_cardiac_deterministic():
    a = make_cardiac_subject(1, seed=5)
    b = make_cardiac_subject(1, seed=5)
    c = make_cardiac_subject(1, seed=6)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.image.shape != c.image.shape or not np.array_equal(a.image, c.image)
