"""napari sample data: File > Open Sample > scribbleseg > cardiac / brain.

Each opens the image and its scribbles (``"<name> scribbles"``, scribble encoding); the class names
travel in the layers' metadata so the widget picks them up.
"""

from __future__ import annotations

from .geometry import LayerGeometry
from .layers import LayerData, image_layer_data, labels_layer_data


def _sample(name: str) -> list[LayerData]:
    from ..data.samples import load_sample_volume

    s = load_sample_volume(name)
    geom = LayerGeometry.from_affine(s.affine, s.image.shape)
    image = image_layer_data(s.image, geom, name, class_names=s.class_names, sample=name)
    scribbles = labels_layer_data(
        s.scribbles, geom, f"{name} scribbles", kind="scribbles", class_names=s.class_names, image=name
    )
    return [image, scribbles]


def cardiac() -> list[LayerData]:
    """Synthetic short-axis cine MRI (RV, MYO, LV) with paper-style scribbles on every slice."""
    return _sample("cardiac")


def brain() -> list[LayerData]:
    """MNI ICBM152 2009 T1 template (grey and white matter) with scribbles on a few axial slices."""
    return _sample("brain")
