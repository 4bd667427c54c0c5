"""The npe2 manifest, and the import cost of the plugin's entry points (no torch)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.qt
def test_manifest_is_one_file_and_valid():
    top = ROOT / "napari.yaml"
    assert top.is_symlink() and top.resolve() == (ROOT / "napari_scribbleseg" / "napari.yaml").resolve()
    from npe2 import PluginManifest

    pm = PluginManifest.from_distribution("napari-scribbleseg")
    assert pm.name == "napari-scribbleseg"
    assert {s.key for s in pm.contributions.sample_data} == {"cardiac", "brain"}
    assert pm.contributions.readers and pm.contributions.writers and pm.contributions.widgets
    for cmd in pm.contributions.commands:
        module, _, attr = cmd.python_name.partition(":")
        mod = __import__(module, fromlist=[attr])
        assert hasattr(mod, attr), cmd.python_name


@pytest.mark.qt
def test_widget_import_does_not_import_torch():
    code = (
        "import sys; import napari_scribbleseg._napari.widget, napari_scribbleseg._napari.reader, "
        "napari_scribbleseg._napari.writer, napari_scribbleseg._napari.sample_data; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.stdout.strip() == "False"
