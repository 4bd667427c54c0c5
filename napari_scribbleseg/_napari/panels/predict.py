"""The "Prediction and files" panel: Predict whole volumes, export the mask, save and load models."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import QCheckBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QWidget

from ...engine.prediction import PredictItem
from ...errors import ScribbleSegError
from ...scribbles.propagate import merge_annotators
from .. import layers as L
from ..preferences import last_folder, remember_folder
from ..workers import ProgressRelay
from .base import PanelContext, notify_error
from .data import DataPanel
from .training import TrainingPanel


class PredictPanel(QGroupBox):
    """Predict the chosen image (and the others), export its prediction, save or load a model folder.

    Parameters
    ----------
    ctx
        Viewer, session, task runner and preview layers.
    data
        The panel with the chosen image and class names.
    training
        The training panel: its status view shows progress, its settings the device a loaded model runs
        on, and its method switches to a loaded model's method.
    """

    def __init__(
        self, ctx: PanelContext, data: DataPanel, training: TrainingPanel, parent: QWidget | None = None
    ) -> None:
        super().__init__("Prediction and files", parent)
        self.ctx, self.data = ctx, data
        self.settings, self.status = training.settings, training.status
        self.last_export: Path | None = None
        #: called with ``[(image name, slider index, text)]`` after Predict (the view panel lists them)
        self.on_suggestions: Any = None
        self._relay = ProgressRelay()
        self._relay.progress.connect(self._on_progress)
        form = QFormLayout(self)
        self.all_images_check = QCheckBox("also every other open image")
        self.uncertainty_check = QCheckBox("uncertainty (entropy) layer")
        self.scribbles_check = QCheckBox("combine with the image's scribbles")
        self.scribbles_check.setChecked(True)
        self.scribbles_check.setToolTip(
            "On an image you scribbled, average the network with the scribbles propagated over it (as "
            "'Propagate scribbles') and keep every scribbled voxel as painted"
        )
        form.addRow(self.all_images_check)
        form.addRow(self.scribbles_check)
        form.addRow(self.uncertainty_check)
        self.predict_btn = QPushButton("Predict")
        self.predict_btn.setToolTip("Segment the whole volume into '<image> prediction'")
        self.propagate_btn = QPushButton("Propagate scribbles")
        self.propagate_btn.setToolTip(
            "Spread the scribbles over the whole volume in seconds, without training (3D random walker "
            "around the scribbled region): a first '<image> prediction' to correct"
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_btn)
        buttons.addWidget(self.propagate_btn)
        form.addRow(buttons)
        files = QHBoxLayout()
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip(
            "Write the prediction with the image's geometry, class names and colours: NIfTI (+ JSON and "
            "ITK-SNAP labels), 3D Slicer .seg.nrrd, or DICOM-SEG for an image read from DICOM"
        )
        self.save_btn = QPushButton("Save model…")
        self.load_btn = QPushButton("Load model…")
        for b in (self.export_btn, self.save_btn, self.load_btn):
            files.addWidget(b)
        form.addRow(files)

        self.predict_btn.clicked.connect(self.predict)
        self.propagate_btn.clicked.connect(self.propagate)
        self.export_btn.clicked.connect(self._export_dialog)
        self.save_btn.clicked.connect(self._save_dialog)
        self.load_btn.clicked.connect(self._load_dialog)

    # -- predict -------------------------------------------------------------------------------------
    def _ready_image(self) -> Any:
        """The chosen image layer when a task may start now; else ``None`` (the user is told why)."""
        if not self.ctx.can_start():
            return None
        image = self.data.image_layer()
        if image is None:
            notify_error("open an image first")
        return image

    def predict(self) -> None:
        """Segment the chosen image (and every other open image if asked) in a worker thread."""
        image = self._ready_image()
        if image is None:
            return
        targets = [image]
        if self.all_images_check.isChecked():
            targets += [im for im in L.image_layers(self.ctx.viewer.layers) if not L.same_layer(im, image)]
        scribbled = {im.name: scribbles for im, scribbles, _ in self.data.training_sets() if scribbles}
        items = []
        try:
            for im in targets:
                if self.scribbles_check.isChecked() and im.name in scribbled:
                    case = L.case_from_layers(im, scribbled[im.name])  # copies the image once
                    scr = merge_annotators(case.scribbles)
                    items.append(PredictItem(im.name, case.image, case.spacing, scr))
                else:
                    arr, geom = L.image_array(im)
                    items.append(PredictItem(im.name, arr, geom.spacing))
        except ValueError as exc:
            notify_error(str(exc))
            return
        self.status.busy("predicting…", determinate=True)
        self.ctx.runner.start(
            "predict",
            self.ctx.session.predict,
            items,
            self.uncertainty_check.isChecked(),
            progress=self._relay.progress.emit,
            on_returned=self._on_predicted,
        )

    def propagate(self) -> None:
        """Spread the chosen image's scribbles (and every other open image's, if asked) in a worker."""
        from ...engine.propagation import propagate_cases
        from ...inference.postprocess import convex_classes

        image = self._ready_image()
        if image is None:
            return
        sets = [
            (im, scribbles)
            for im, scribbles, _ in self.data.training_sets()
            if scribbles and (L.same_layer(im, image) or self.all_images_check.isChecked())
        ]
        if not sets:
            notify_error(f"no scribbles on {image.name}: paint background and structures on a few slices")
            return
        class_names = self.data.class_names()
        try:
            cases = [L.case_from_layers(im, scribbles) for im, scribbles in sets]
            # the training options' convex structures apply to propagated masks too, as in train
            convex = convex_classes(self.settings.preprocess_config().convex, class_names)
        except (ValueError, ScribbleSegError) as exc:
            notify_error(str(exc))
            return
        self.status.busy("propagating scribbles…", determinate=True)
        self.ctx.runner.start(
            "propagate",
            partial(propagate_cases, convex=convex),
            cases,
            class_names,
            progress=self._relay.progress.emit,
            on_returned=self._on_predicted,
        )

    def _on_progress(self, name: str, done: int, total: int) -> None:
        self.status.set_fraction(done / max(total, 1), f"predicting {name}: slice {done}/{total}")

    def _on_predicted(self, results: list[Any]) -> None:
        suggestions = []
        for res in results:
            self.ctx.previews.show_result(res)
            if res.name in self.ctx.viewer.layers:
                geom = L.geometry_of(self.ctx.viewer.layers[res.name])
                for z, score in getattr(res, "suggestions", ()):
                    suggestions.append((score, res.name, geom.napari_slice_index(z)))
        if self.on_suggestions is not None:
            ranked = sorted(suggestions, key=lambda s: -s[0])
            self.on_suggestions([(name, z, f"uncertainty {score:.2f}") for score, name, z in ranked])
        self.status.set_fraction(1.0, f"predicted {len(results)} volume(s)")
        self.status.set_text("prediction done: check it, export it, or correct scribbles and Continue")

    # -- export --------------------------------------------------------------------------------------
    def export_prediction(self, path: str | Path) -> Path:
        """Write the chosen image's prediction to ``path`` (image geometry, class names and colours).

        The ending chooses the format: ``.nii``/``.nii.gz`` (+ class sidecar and ITK-SNAP labels),
        ``.seg.nrrd`` (3D Slicer) or ``.dcm`` (DICOM-SEG, for an image read from a DICOM series).
        """
        from ..writer import export_layer

        layer = self.data.prediction_layer()
        if layer is None:
            raise ValueError("nothing to export: train or Predict first")
        out = export_layer(layer, path, L.class_names_of(layer) or self.data.class_names())
        self.last_export = out
        self.status.set_text(f"exported {out}")
        return out

    def _export_dialog(self) -> None:
        if self.data.prediction_layer() is None:
            notify_error("nothing to export: train or Predict first")
            return
        from ...io import default_output_format, format_of_output, output_suffix

        geom = L.geometry_of(self.data.image_layer())
        family = getattr(geom.source, "format", None)
        filters = {
            "nifti": "NIfTI + ITK-SNAP labels (*.nii.gz *.nii)",
            "seg.nrrd": "3D Slicer segmentation (*.seg.nrrd)",
            "dicom-seg": "DICOM-SEG (*.dcm)",
        }
        first = default_output_format(family)  # the image's family first
        order = [first] + [f for f in filters if f != first and (f != "dicom-seg" or family == "dicom")]
        name = f"{self.data.image_combo.currentText()}_prediction{output_suffix(first)}"
        start = str(Path(last_folder("export") or (geom.path.parent if geom.path else Path.home())) / name)
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export prediction", start, ";;".join(filters[f] for f in order)
        )
        if path and format_of_output(path) is None:  # no ending typed: the chosen filter's
            fmt = next((f for f in order if filters[f] == chosen), first)
            path += output_suffix(fmt)
        if path:
            try:
                self.export_prediction(path)
                remember_folder("export", path)
            except Exception as exc:
                notify_error(str(exc))

    # -- models --------------------------------------------------------------------------------------
    def save_model(self, folder: str | Path) -> Path:
        """Save the trained model to ``folder`` (weights, metadata, training state)."""
        out = self.ctx.session.save(folder)
        self.status.set_text(f"model saved to {out}")
        return out

    def _save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model into folder", last_folder("model"))
        if folder:
            try:
                self.save_model(folder)
                remember_folder("model", Path(folder).parent)
            except Exception as exc:
                notify_error(str(exc))

    def load_model(self, folder: str | Path) -> Any:
        """Load a model folder (in a worker); Predict and Continue then use it. Returns the worker."""
        if not self.ctx.can_start():
            return None
        self.status.busy("loading model…")
        return self.ctx.runner.start(
            "load",
            self.ctx.session.load,
            folder,
            self.settings.device_combo.currentText(),
            on_returned=self._on_loaded,
        )

    def _on_loaded(self, predictor: Any) -> None:
        self.data.set_class_names(tuple(predictor.class_names))
        method = predictor.meta.get("method")
        combo = self.settings.method_combo
        if method and combo.findText(method) >= 0:  # Continue trains this method
            combo.setCurrentText(method)
        self.status.set_fraction(0.0, "model loaded")
        self.status.set_text(
            f"loaded {self.ctx.session.loaded_dir} ({method}): press Predict, or Continue to train it further"
        )

    def _load_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Load a model folder", last_folder("model"))
        if folder:
            remember_folder("model", Path(folder).parent)
            self.load_model(folder)
