"""The "Session" panel: save the whole session into one folder and open it again.

A session folder (:mod:`napari_scribbleseg.io.session_folder`) holds the images by reference (path and
checksum; copies on request), every scribble and dense-mask layer, the class names and colours, the method
and its options, and the trained model with its training state. Opening it restores the viewer and loads
the model, so Continue resumes at the saved step; ``scribbleseg train --session DIR`` trains the same
folder from the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from ... import __version__
from ...io import session_folder as SF
from ...labels import class_color
from .. import session_layers as SL
from ..preferences import last_folder, remember_folder
from ..remember import apply_settings_json, settings_json
from .base import PanelContext, notify_error, notify_warning
from .data import DataPanel
from .predict import PredictPanel
from .training import TrainingPanel


class SessionPanel(QGroupBox):
    """Save session / Open session.

    Parameters
    ----------
    ctx
        Viewer, session, task runner and preview layers.
    data, training, files
        The panels whose layers, classes, settings and model the session holds.
    """

    def __init__(
        self, ctx: PanelContext, data: DataPanel, training: TrainingPanel, files: PredictPanel
    ) -> None:
        super().__init__("Session")
        self.ctx, self.data, self.training, self.files = ctx, data, training, files
        self.settings, self.status = training.settings, training.status
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.save_btn = QPushButton("Save session…")
        self.save_btn.setToolTip(
            "One folder with the images (path and checksum), every scribble and dense-mask layer, the "
            "classes, the method and its options, and the model with its training state. "
            "'scribbleseg train --session DIR' trains the same folder"
        )
        self.open_btn = QPushButton("Open session…")
        self.open_btn.setToolTip(
            "Restore a saved session: its layers, settings and model (then press Continue)"
        )
        row.addWidget(self.save_btn)
        row.addWidget(self.open_btn)
        layout.addLayout(row)
        self.copy_check = QCheckBox("copy the images into the session")
        self.copy_check.setToolTip(
            "Write the images into the session folder (NIfTI) so that it can move to another computer; "
            "otherwise the session refers to the image files, checked by checksum when it opens"
        )
        layout.addWidget(self.copy_check)
        self.save_btn.clicked.connect(self._save_dialog)
        self.open_btn.clicked.connect(self._open_dialog)

    def update_buttons(self, busy: bool) -> None:
        """Enable the buttons when no task runs and the engine is loaded."""
        self.save_btn.setEnabled(not busy and self.data.image_layer() is not None)
        self.open_btn.setEnabled(not busy)

    # -- save -----------------------------------------------------------------------------------------
    def _unpaired_choice(self) -> SL.UnpairedChoice | None:
        source = self.settings.unpaired_source()
        if source is None:
            return None
        if source.kind == "cases":
            return SL.UnpairedChoice(
                "layer", layer=self.ctx.viewer.layers[self.settings.unpaired.combo.currentText()]
            )
        if source.kind == "folder":
            return SL.UnpairedChoice("folder", path=str(source.path))
        return SL.UnpairedChoice("sample", name=source.name)

    def _save_model(self, folder: Path) -> str | None:
        """Write the model Continue would train into ``folder/model``; its name in the session, or None."""
        session = self.ctx.session
        target = folder / SF.MODEL
        if session.loaded_dir is not None and (session.continues_loaded or not session.trained):
            SF.copy_model_folder(session.loaded_dir, target)
        elif session.trained:
            session.save(target)
        else:
            return None
        return SF.MODEL

    def save_session(self, folder: str | Path) -> Path:
        """Save the session into ``folder`` (new, empty, or an earlier session); returns the folder.

        Raises
        ------
        ValueError
            The engine is loading or a task runs, invalid class names or settings, a folder that holds
            other files, a write failure (:class:`~napari_scribbleseg.errors.DataError` and the like).
        """
        if not self.ctx.ready or self.ctx.runner.busy or self.ctx.session.running:
            raise RuntimeError("busy: wait for the engine to load or the current task to end, then save")
        names = self.data.class_names()
        settings = settings_json(self.settings)
        target, old = SF.check_session_destination(folder)
        images, layers, unpaired = SL.save_layers(
            target, self.ctx.viewer, copy_images=self.copy_check.isChecked(), unpaired=self._unpaired_choice()
        )
        model = self._save_model(target)
        colours = tuple(class_color(k) for k in range(len(names)))
        chosen = self.data.image_combo.currentText() or None
        spec = SF.SessionSpec(target, names, colours, images, layers, settings, unpaired, chosen, model)
        SF.write_session(spec, old, __version__)
        remember_folder("session", target.parent)
        self.status.set_text(f"session saved to {target}")
        return target

    def _save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Save the session into folder", last_folder("session")
        )
        if folder:
            try:
                self.save_session(folder)
            except Exception as exc:
                notify_error(str(exc))

    # -- open -----------------------------------------------------------------------------------------
    def _locate_dialog(self, ref: SF.ImageRef, problem: str) -> str | None:
        answer = QMessageBox.question(self, "Open session", f"{problem}.\n\nLocate the image file?")
        if answer != QMessageBox.Yes:
            return None
        path, _ = QFileDialog.getOpenFileName(self, f"Locate image {ref.name}", str(Path(ref.path).parent))
        return path or None

    def open_session(self, folder: str | Path, locate: SL.Locate | None = None) -> Any:
        """Restore the session in ``folder`` into the viewer and load its model (in a worker).

        ``locate(image, problem)`` is asked for a moved or changed image (default: a dialog). Returns the
        model-loading worker, or ``None`` when the session holds no model.

        Raises
        ------
        ValueError
            A task runs, an invalid session, an image that is missing and not located, layers of the same
            names already open (:class:`~napari_scribbleseg.errors.DataError` and the like).
        """
        if not self.ctx.ready or self.ctx.runner.busy:
            raise RuntimeError("busy: wait for the engine to load or the current task to end")
        spec = SF.read_session(folder)
        paths, notes = SL.find_images(spec, locate if locate is not None else self._locate_dialog)
        SL.add_layers(self.ctx.viewer, spec, paths)
        if spec.chosen_image is not None:
            self.data.image_combo.setCurrentText(spec.chosen_image)
        self.data.set_class_names(spec.classes)
        notes += apply_settings_json(self.settings, spec.settings)
        notes += self._restore_unpaired(spec)
        for note in notes:
            notify_warning(note)
        remember_folder("session", spec.folder.parent)
        self.status.set_text(f"opened session {spec.folder}")
        model = spec.model_dir
        if model is None or not model.is_dir():
            return None
        return self.files.load_model(model)

    def _restore_unpaired(self, spec: SF.SessionSpec) -> list[str]:
        from .unpaired import sample_masks_text

        source, chooser = spec.unpaired, self.settings.unpaired
        try:
            if source is None:
                return []
            if source["kind"] == "layer":
                chooser.set_source(str(source.get("layer")))
            elif source["kind"] == "folder":
                chooser.set_folder(str(source.get("path")))
            else:
                chooser.set_source(sample_masks_text())
        except (ValueError, TypeError) as exc:
            return [f"unpaired masks not restored: {exc}"]
        return []

    def _open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a session folder", last_folder("session"))
        if folder:
            try:
                self.open_session(folder)
            except Exception as exc:
                notify_error(str(exc))
