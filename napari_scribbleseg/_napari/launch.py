"""Open napari with the plugin docked and a sample loaded: ``python -m napari_scribbleseg._napari.launch``.

Options: ``--sample cardiac|brain|none`` (default cardiac) and NIfTI files to open instead.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Start napari with the Scribble segmentation dock widget."""
    ap = argparse.ArgumentParser(prog="python -m napari_scribbleseg._napari.launch", description=__doc__)
    ap.add_argument("files", nargs="*", help="NIfTI images (and scribbles) to open")
    ap.add_argument("--sample", default="cardiac", help="sample to open when no file is given (or 'none')")
    args = ap.parse_args(argv)

    import napari

    viewer = napari.Viewer(title="napari-scribbleseg")
    if args.files:
        viewer.open(args.files, plugin="napari-scribbleseg")
    elif args.sample != "none":
        viewer.open_sample("napari-scribbleseg", args.sample)
    viewer.window.add_plugin_dock_widget("napari-scribbleseg", "Scribble segmentation")
    napari.run()


if __name__ == "__main__":
    main()
