"""The bound rules of the size method (004 Eq. 5-7) as pure numpy, without a network."""

from __future__ import annotations

import numpy as np
import pytest

from napari_scribbleseg.data.dataset import PreparedCase
from napari_scribbleseg.engine.methods.size_bounds import (
    class_counts,
    compute_bounds,
    parse_bounds,
    resolve_bound_names,
)
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.labels import IGNORE


def _case(targets: np.ndarray, dense: list[bool]) -> PreparedCase:
    return PreparedCase(
        "c", None, np.zeros(targets.shape[1:], np.float32), targets.astype(np.int8), np.array(dense)
    )


def _bounds(cases, refs, **kw):
    opts = dict(n_classes=3, user_bounds={}, margin=0.1, common_bounds=True, absent_if_unscribbled=True)
    return compute_bounds(cases, refs, **{**opts, **kw})


def test_class_counts_per_slice():
    stack = np.array([[[0, 1], [2, 2]], [[1, 1], [1, 0]]])
    np.testing.assert_array_equal(class_counts(stack, 3), [[1, 1, 2], [1, 3, 0]])


def test_resolve_bound_names_by_name_or_label_value():
    parsed = parse_bounds("DISK=3-40,1=2-5")
    assert resolve_bound_names(parsed, ("background", "ring", "disk"), 3) == {2: (3.0, 40.0), 1: (2.0, 5.0)}
    with pytest.raises(ConfigError, match="unknown structure 'LV'"):
        resolve_bound_names(parse_bounds("LV=1-2"), ("background", "ring", "disk"), 3)


def test_rules_common_absent_and_margin():
    scrib = np.full((2, 4, 4), IGNORE)
    scrib[0, 0, 0], scrib[0, 1, 1] = 0, 1  # slice 0: ring scribbled, disk not; slice 1 not annotated
    ref = np.zeros((1, 4, 4))
    ref[0, 0, :2], ref[0, 3, :] = 1, 2  # ring 2 px, disk 4 px
    b = _bounds([_case(scrib[None], [False])], [ref], margin=0.5)
    assert b.items == [(0, 0)]
    np.testing.assert_allclose(b.lower[0], [0, 1, 0])  # common: 0.5 * 2; disk absent
    np.testing.assert_allclose(b.upper[0], [np.inf, 3, 0])  # 1.5 * 2; absent: [0, 0]
    assert b.class_bounds == {1: (1.0, 3.0, "common"), 2: (2.0, 6.0, "common")}
    assert b.volumes == {}
    # tags when there are no references; an unscribbled structure keeps only the upper bound
    t = _bounds([_case(scrib[None], [False])], [], absent_if_unscribbled=False)
    np.testing.assert_allclose(t.lower[0], [0, 1, 0])
    np.testing.assert_allclose(t.upper[0], [np.inf, 16, np.inf])  # tag upper bound clipped to |Ω|
