"""Inference: the one forward pass over slices, the one post-processing step, and the :class:`Predictor`.

Layer 4a: imports config, data, models and io, never :mod:`napari_scribbleseg.engine` (the engine imports
this package for its previews and validation).
"""

from .postprocess import entropy, keep_largest_component, probabilities_to_mask
from .predictor import Predictor
from .slicewise import predict_stack, to_in_plane

__all__ = [
    "Predictor",
    "entropy",
    "keep_largest_component",
    "predict_stack",
    "probabilities_to_mask",
    "to_in_plane",
]
