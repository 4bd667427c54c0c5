"""napari-scribbleseg: scribble-supervised segmentation of medical volumes.

The core (everything but :mod:`napari_scribbleseg._napari`) is free of Qt and napari; torch is imported
only by the modules that train or predict, so importing the package stays cheap.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
