"""Fixtures of the napari tests: oblique volumes written with chosen qform/sform codes.

Every test autosaves into its own recovery folder (``SCRIBBLESEG_RECOVERY_DIR``) and remembers its settings
in its own config folder (``SCRIBBLESEG_CONFIG_DIR``), never the user's. ``session`` is a viewer with a
tiny oblique volume and the widget docked, ``paint_scribbles`` paints its scribble layer.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _rotation(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _oblique_affine(
    spacing=(0.8, 1.2, 5.0), angles=(0.35, -0.2, 0.5), origin=(-40.0, 25.0, 12.5)
) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = _rotation(*angles) @ np.diag(spacing)
    aff[:3, 3] = origin
    return aff


def _save_volume(path: Path, data: np.ndarray, affine: np.ndarray, qcode: int = 1, scode: int = 2) -> Path:
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(affine, code=qcode)
    img.header.set_sform(affine, code=scode)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(path))
    return path


@pytest.fixture(scope="session")
def oblique_affine():
    """``oblique_affine(spacing, angles, origin)`` -> a 4x4 affine rotated about all three axes."""
    return _oblique_affine


@pytest.fixture(scope="session")
def save_volume():
    """``save_volume(path, data, affine, qcode=1, scode=2)`` -> ``path``: a NIfTI file, mm units."""
    return _save_volume


@pytest.fixture(autouse=True)
def recovery_dir(tmp_path_factory, monkeypatch) -> Path:
    """The test's own autosave folder (also set as ``SCRIBBLESEG_RECOVERY_DIR``)."""
    folder = tmp_path_factory.mktemp("recovery")
    monkeypatch.setenv("SCRIBBLESEG_RECOVERY_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def config_dir(tmp_path_factory, monkeypatch) -> Path:
    """The test's own folder of remembered settings (also set as ``SCRIBBLESEG_CONFIG_DIR``)."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(folder))
    return folder


CLASSES = "background,ring,disk"
TIMEOUT_MS = 60_000


@pytest.fixture
def session(tmp_path, make_napari_viewer, qtbot, tiny_volume, oblique_affine, save_volume):
    """A viewer with a tiny oblique volume opened through the plugin's reader, the widget docked."""
    from napari_scribbleseg._napari.geometry import LayerGeometry
    from napari_scribbleseg._napari.widget import ScribbleSegWidget

    image, mask = tiny_volume(0)
    aff = oblique_affine(spacing=(1.5, 1.5, 6.0), angles=(0.05, -0.04, 0.3))
    path = save_volume(tmp_path / "case01.nii.gz", image, aff)
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-scribbleseg")
    # an unpaired mask (another subject) as a Labels layer, mask encoding
    _, other = tiny_volume(11)
    geom = LayerGeometry.from_affine(np.diag([1.5, 1.5, 6.0, 1.0]), other.shape)
    viewer.add_labels(geom.to_napari(other).copy(), name="atlas mask", **geom.layer_kwargs())
    widget = ScribbleSegWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget.ready, timeout=TIMEOUT_MS)  # torch and the engine load in a worker
    widget.data.image_combo.setCurrentText("case01")
    widget.data.classes_edit.setText(CLASSES)
    widget.data.classes_edit.editingFinished.emit()
    widget.settings.method_combo.setCurrentText("aag")
    widget.settings.unpaired.set_source("atlas mask")
    widget.settings.train_form.set_values(
        {"width": 4, "depth": 3, "batch_size": 2, "preview_every": 0.05, "val_fraction": 0.0, "threads": 1}
    )
    widget.settings.pre_form.set_values({"patch_size": 32})
    widget.settings.stop_kind.setCurrentText("steps")
    widget.settings.stop_value.setValue(30)
    return viewer, widget, image, mask, path, aff


@pytest.fixture
def paint_scribbles(scribbles_from):
    """``paint_scribbles(viewer, widget, mask)`` -> (layer, geometry): a new scribble layer for case01."""
    from napari_scribbleseg._napari.layers import geometry_of

    def paint(viewer, widget, mask):
        layer = widget.data.new_scribble_layer()
        assert layer is not None and layer.name == "case01 scribbles"
        geom = geometry_of(viewer.layers["case01"])
        layer.data[...] = geom.to_napari(scribbles_from(mask))
        layer.refresh()
        # napari's brush, too: one background pixel in the corner of the first slice
        layer.selected_label = 1
        layer.paint((0, 0, 0), 1)
        return layer, geom

    return paint
