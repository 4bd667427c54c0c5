from __future__ import annotations

import json
import math

import numpy as np
import pytest

from napari_scribbleseg import io, metrics
from napari_scribbleseg.errors import DataError, LabelError


def test_dice_hand_made():
    truth = np.zeros((1, 4, 4), np.uint8)
    pred = np.zeros((1, 4, 4), np.uint8)
    truth[0, :2, :2] = 1  # 4 voxels
    pred[0, :2, :1] = 1  # 2 voxels, both inside
    truth[0, 3, 3] = 2
    pred[0, 0, 3] = 2  # no overlap
    d = metrics.dice_per_class(pred, truth, 4)
    assert d.shape == (3,)
    np.testing.assert_allclose(d, [2 * 2 / (4 + 2), 0.0, 1.0])  # class 3 absent from both


def test_dice_absent_in_one_only():
    truth = np.zeros((2, 3, 3), np.uint8)
    pred = truth.copy()
    pred[0, 0, 0] = 1
    np.testing.assert_array_equal(metrics.dice_per_class(pred, truth, 2), [0.0])
    np.testing.assert_array_equal(metrics.dice_per_class(truth, pred, 2), [0.0])
    np.testing.assert_array_equal(metrics.dice_per_class(pred, pred, 2), [1.0])


def test_dice_errors():
    with pytest.raises(DataError, match="shape"):
        metrics.dice_per_class(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)), 2)
    with pytest.raises(LabelError, match="outside the mask encoding 0..1"):
        metrics.dice_per_class(np.full((2, 2, 2), 2), np.zeros((2, 2, 2)), 2)


def test_hd95_shifted_cubes_anisotropic():
    # Two 4x4x4 cubes shifted by 2 voxels along axis 0 (spacing 3 mm there). Every surface voxel of the
    # cube faces that do not move is at distance 0 from the other surface, except the slabs that stick out.
    spacing = (3.0, 0.5, 0.7)
    shape = (16, 12, 12)
    a = np.zeros(shape, np.uint8)
    b = np.zeros(shape, np.uint8)
    a[4:8, 4:8, 4:8] = 1
    b[6:10, 4:8, 4:8] = 1
    # Surface of a: 56 voxels (4^3 - 2^3), by layer along axis 0: 16 (face), 12, 12 (rings), 16 (face).
    # Layer 4 (face, 16) is 2 steps of 3 mm from b's face at layer 6 -> 6 mm; layer 5 (ring, 12) -> 3 mm;
    # layer 6 (ring, 12) lies on b's face -> 0; layer 7 (face): its 12 ring voxels lie on b's ring -> 0,
    # its 4 central voxels are one voxel from b's ring along axis 1 -> 0.5 mm. Same for b by symmetry.
    d_ab_expected = [6.0] * 16 + [3.0] * 12 + [0.0] * 24 + [0.5] * 4
    expected = np.percentile(np.array(d_ab_expected * 2), 95)
    assert expected == 6.0
    hd = metrics.hd95_per_class(a, b, 2, spacing)
    np.testing.assert_allclose(hd, [expected])
    d_ab, d_ba = metrics.surface_distances(a == 1, b == 1, spacing)
    np.testing.assert_allclose(np.sort(d_ab), np.sort(d_ab_expected))
    np.testing.assert_allclose(np.sort(d_ab), np.sort(d_ba))


def test_hd95_one_layer_growth():
    # b is a 2-voxel-thick slab a grown by one layer along axis 0 (1 mm).
    spacing = (1.0, 2.0, 1.0)
    a = np.zeros((6, 10, 10), np.uint8)
    a[1:3, 2:8, 2:8] = 1
    b = a.copy()
    b[3, 2:8, 2:8] = 1  # b is a + one layer along axis 0
    d_ab, d_ba = metrics.surface_distances(a == 1, b == 1, spacing)
    expected = np.percentile(np.concatenate([d_ab, d_ba]), 95)
    # Every voxel of a (72) is surface. Its layer 1 lies on b's face and the ring of its layer 2 on b's
    # ring: 0 mm; the 16 central voxels of layer 2 are inside b, 1 mm from b's faces (axis 0) -> 1 mm.
    # b's surface (92 = 108 - 16 interior): its face at layer 3 (36) is 1 mm from a; the rest lies on a.
    assert d_ab.size == 72 and np.count_nonzero(d_ab) == 16 and np.all(d_ab[d_ab > 0] == 1.0)
    assert d_ba.size == 92 and np.count_nonzero(d_ba) == 36 and np.all(d_ba[d_ba > 0] == 1.0)
    assert expected == 1.0  # 52 of 164 pooled distances are 1 mm
    np.testing.assert_allclose(metrics.hd95_per_class(a, b, 2, spacing), [1.0])


def test_hd95_crop_equals_full_volume():
    rng = np.random.default_rng(0)
    a = np.zeros((6, 40, 40), np.uint8)
    b = np.zeros_like(a)
    a[1:5, 5:20, 8:30] = 1
    b[2:6, 7:25, 10:33] = 1  # touches the array border on axis 0
    a &= rng.random(a.shape) > 0.1
    spacing = (5.0, 1.1, 0.8)
    d_ab, d_ba = metrics.surface_distances(a == 1, b == 1, spacing)
    # reference: same definition on the full arrays, without cropping
    from scipy import ndimage

    def surf(m):
        return m & ~ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(3, 1))

    sa, sb = surf(a == 1), surf(b == 1)
    full_ab = ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]
    full_ba = ndimage.distance_transform_edt(~sa, sampling=spacing)[sb]
    np.testing.assert_allclose(np.sort(d_ab), np.sort(full_ab))
    np.testing.assert_allclose(np.sort(d_ba), np.sort(full_ba))


def test_hd95_absent_conventions():
    a = np.zeros((3, 5, 5), np.uint8)
    b = a.copy()
    a[1, 1:3, 1:3] = 1
    b[1, 1:3, 1:3] = 1
    a[0, 0, 0] = 2  # class 2 only in pred; class 3 absent from both
    hd = metrics.hd95_per_class(a, b, 4, (1.0, 1.0, 1.0))
    assert hd[0] == 0.0
    assert math.isnan(hd[1])
    assert hd[2] == 0.0


def _write_case(tmp_path, name, pred, truth, spacing):
    aff = np.diag([*spacing, 1.0])
    io.save_nifti(tmp_path / "truth" / f"{name}.nii.gz", truth, aff)
    io.save_nifti(tmp_path / "pred" / f"{name}.nii.gz", pred, aff)
    return tmp_path / "pred" / f"{name}.nii.gz", tmp_path / "truth" / f"{name}.nii.gz"


def test_evaluate_pairs_and_table(tmp_path):
    spacing = (2.0, 1.0, 1.0)
    truth = np.zeros((6, 12, 12), np.uint8)
    truth[1:5, 2:6, 2:6] = 1
    truth[1:5, 7:10, 7:10] = 2
    pred = truth.copy()
    pred[1:5, 7:10, 7:10] = 0  # structure 2 missed entirely in case b
    pairs = [
        _write_case(tmp_path, "a", truth, truth, spacing),
        _write_case(tmp_path, "b", pred, truth, spacing),
    ]
    res = metrics.evaluate_pairs(pairs, ["background", "RV", "LV"])
    assert res["classes"] == ["RV", "LV"]
    assert res["n_cases"] == 2
    assert res["cases"]["a"]["dice"] == {"RV": 1.0, "LV": 1.0}
    assert res["cases"]["b"]["dice"] == {"RV": 1.0, "LV": 0.0}
    assert res["cases"]["a"]["hd95"] == {"RV": 0.0, "LV": 0.0}
    assert math.isnan(res["cases"]["b"]["hd95"]["LV"])
    assert res["mean"]["dice"] == {"RV": 1.0, "LV": 0.5}
    assert res["mean"]["hd95"] == {"RV": 0.0, "LV": 0.0}
    assert res["mean"]["dice_mean"] == 0.75
    assert res["mean"]["hd95_mean"] == 0.0

    table = metrics.format_table(res)
    lines = table.splitlines()
    assert "Dice RV" in lines[0] and "HD95 LV" in lines[0]
    assert lines[-1].startswith("mean")
    assert any(line.startswith("b") and "n/a" in line for line in lines)
    assert len({len(line) for line in lines}) == 1  # fixed width

    blob = json.loads(metrics.result_to_json(res))
    assert blob["cases"]["b"]["hd95"]["LV"] is None


def test_evaluate_pairs_errors(tmp_path):
    with pytest.raises(DataError, match="no .* pairs"):
        metrics.evaluate_pairs([], ["bg", "x"])
    truth = np.zeros((4, 5, 6), np.uint8)
    p, t = _write_case(tmp_path, "c", truth, truth, (1.0, 1.0, 1.0))
    io.save_nifti(p, np.zeros((4, 5, 7), np.uint8), None)
    with pytest.raises(DataError, match=r"mask .*c.nii.gz has shape \(4, 5, 7\)"):
        metrics.evaluate_pairs([(p, t)], ["bg", "x"])
    bad = truth.copy()
    bad[0, 0, 0] = 3
    io.save_nifti(p, bad, None)
    with pytest.raises(LabelError, match=r"c.nii.gz: mask value\(s\) \[3\]"):
        metrics.evaluate_pairs([(p, t)], ["bg", "x"])


def test_hd95_speed_realistic_volume():
    # ~10x256x256 with a few structures must stay quick (cropping + one EDT per surface).
    truth = np.zeros((10, 256, 256), np.uint8)
    zz, yy, xx = np.mgrid[:10, :256, :256]
    r = np.sqrt((yy - 128.0) ** 2 + (xx - 120.0) ** 2)
    truth[(r < 30) & (zz > 1) & (zz < 9)] = 3
    truth[(r >= 30) & (r < 40) & (zz > 1) & (zz < 9)] = 2
    truth[(np.abs(yy - 128) < 25) & (np.abs(xx - 180) < 15) & (zz > 2)] = 1
    pred = np.roll(truth, 3, axis=2)
    hd = metrics.hd95_per_class(pred, truth, 4, (10.0, 1.25, 1.25))
    # a translation by 3 voxels moves every surface voxel onto the other surface: distances <= 3.75 mm
    assert np.all(hd > 0) and np.all(hd <= 3.75 + 1e-9)


def test_confusion_matrix_rows_are_the_truth_and_columns_the_prediction():
    from napari_scribbleseg.metrics import confusion_matrix

    truth = np.array([0, 1, 1, 2, 2, 2])
    pred = np.array([0, 1, 2, 2, 2, 0])
    m = confusion_matrix(pred, truth, 3)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 2]]
    with pytest.raises(LabelError):
        confusion_matrix(np.array([3]), np.array([0]), 3)
