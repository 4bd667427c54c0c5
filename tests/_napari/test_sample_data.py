"""The sample-data contribution opens an image, its scribbles and the class names."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_scribbleseg._napari._display import ensure_display  # noqa: E402

HAS_DISPLAY = ensure_display()


@pytest.mark.qt
def test_sample_data_opens_image_scribbles_and_classes(make_napari_viewer):
    if not HAS_DISPLAY:
        pytest.skip("no display")
    viewer = make_napari_viewer()
    viewer.open_sample("napari-scribbleseg", "cardiac")
    assert [la.name for la in viewer.layers] == ["cardiac", "cardiac scribbles"]
    image, scribbles = viewer.layers
    assert image.metadata["scribbleseg"]["class_names"] == ("background", "RV", "MYO", "LV")
    assert scribbles.data.shape == image.data.shape
    assert set(np.unique(scribbles.data)) <= {0, 1, 2, 3, 4}
    # the 8 mm slice axis is on the slider
    assert image.scale[0] == pytest.approx(8.0)
