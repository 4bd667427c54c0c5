"""The session folder: session.json round trip and checks, images found by checksum, what saves replace."""

from __future__ import annotations

import json
import shutil

import pytest

from napari_scribbleseg.errors import CheckpointError, DataError
from napari_scribbleseg.io import session_folder as SF


def test_round_trip_and_images_found_by_checksum(session_folder, tmp_path):
    folder, image = session_folder()
    spec = SF.read_session(folder)
    assert spec.classes == ("background", "ring", "disk") and spec.chosen_image == "case01"
    assert spec.layers[0].kind == "scribbles" and spec.path_of(spec.layers[0].file).is_file()
    assert spec.settings["stop"] == {"unit": "steps", "value": 3} and spec.model_dir is None
    assert SF.read_session(folder / "session.json").images == spec.images  # the file names the folder too
    assert SF.find_image(spec, spec.images[0]) == (image.resolve(), None)

    # the session and its data moved together: found by the path relative to the session
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(str(tmp_path / "data"), str(moved / "data"))
    shutil.move(str(folder), str(moved / "session"))
    spec = SF.read_session(moved / "session")
    path, problem = SF.find_image(spec, spec.images[0])
    assert problem is None and path.resolve() == (moved / "data" / "case01.nii.gz").resolve()

    # deleted, or changed: the problem names the image and the file
    (moved / "data" / "case01.nii.gz").write_bytes(b"not the image")
    path, problem = SF.find_image(spec, spec.images[0])
    assert path is None and "case01.nii.gz changed since the session was saved" in problem
    (moved / "data" / "case01.nii.gz").unlink()
    path, problem = SF.find_image(spec, spec.images[0])
    assert path is None and "'case01'" in problem and "case01.nii.gz is missing" in problem


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(format="something else"), "not a napari-scribbleseg session"),
        (lambda c: c.update(format_version=99), "newer napari-scribbleseg"),
        (lambda c: c.update(classes=["background"]), "classes must be a list of 2 to 256"),
        (lambda c: c.update(colours=["red"]), "colours must be"),
        (lambda c: c["images"][0].update(sha256="abc"), r"images\[0\].sha256"),
        (lambda c: c["images"][0]["geometry"].update(shape=[4, 4]), r"images\[0\].geometry.shape"),
        (lambda c: c["images"][0].update(copied=True, path="/etc/passwd"), r"images\[0\].path"),
        (lambda c: c["layers"][0].update(file="../../x.nii.gz"), r"layers\[0\].file"),
        (lambda c: c["layers"][0].update(kind="paint"), r"layers\[0\].kind"),
        (lambda c: c["layers"][0].update(image="nobody"), r"layers\[0\].image"),
        (lambda c: c["settings"]["train_config"].update(batch_size=-1), "settings.train_config is invalid"),
        (lambda c: c["settings"].update(stop={"unit": "years", "value": 1}), "settings.stop"),
        (lambda c: c.update(model="../elsewhere"), "model must be"),
        (lambda c: c.update(unpaired={"kind": "magic"}), "unpaired must be"),
    ],
)
def test_a_bad_session_json_names_the_file_and_the_field(session_folder, change, message):
    folder, _ = session_folder()
    content = json.loads((folder / "session.json").read_text())
    change(content)
    (folder / "session.json").write_text(json.dumps(content))
    with pytest.raises(DataError, match=message) as info:
        SF.read_session(folder)
    assert str(folder) in str(info.value)


def test_unreadable_or_missing_session_json(tmp_path):
    with pytest.raises(DataError, match="not a session folder"):
        SF.read_session(tmp_path)
    (tmp_path / "session.json").write_text("{broken")
    with pytest.raises(DataError, match="unreadable"):
        SF.read_session(tmp_path)


def test_a_save_never_replaces_foreign_files(session_folder, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"holds other files \(notes.txt\)"):
        SF.check_session_destination(foreign)
    with pytest.raises(DataError, match="is a file"):
        SF.check_session_destination(foreign / "notes.txt")

    folder, _ = session_folder()
    target, old = SF.check_session_destination(folder)  # an earlier session: its own files may go
    assert old is not None and target == folder
    (folder / "annotations" / "yours.nii.gz").write_bytes(b"x")
    stale = folder / old.layers[0].file
    spec = SF.SessionSpec(folder, old.classes, old.colours, old.images, [], old.settings)
    SF.write_session(spec, old)
    assert not stale.exists() and (folder / "annotations" / "yours.nii.gz").exists()
    assert SF.read_session(folder).layers == []


def test_copy_model_folder(untrained_model, tmp_path):
    copy = SF.copy_model_folder(untrained_model, tmp_path / "session" / "model")
    assert (copy / "meta.json").read_bytes() == (untrained_model / "meta.json").read_bytes()
    assert SF.copy_model_folder(copy, copy) == copy  # the same folder: nothing to do
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="holds other files"):
        SF.copy_model_folder(untrained_model, tmp_path / "other")
