"""``scribbleseg train --session DIR``: the folder the widget saves trains from the CLI, and continues."""

from __future__ import annotations

import json

from napari_scribbleseg.cli import main


def test_train_a_session_then_continue_it(session_folder, capsys):
    folder, image = session_folder("pce")
    # everything comes from the session: images, scribbles, classes, method, tiny settings (3 steps)
    assert main(["train", "--session", str(folder)]) == 0
    meta = json.loads((folder / "model" / "meta.json").read_text())
    assert (
        meta["method"] == "pce"
        and meta["step"] == 3
        and meta["class_names"] == ["background", "ring", "disk"]
    )
    assert meta["train_config"]["width"] == 4
    assert json.loads((folder / "session.json").read_text())["model"] == "model"  # napari opens it with it

    # again: continues the session's model from its step; a stopping option replaces the session's
    assert main(["train", "--session", str(folder), "--max-steps", "2", "--quiet"]) == 0
    meta = json.loads((folder / "model" / "meta.json").read_text())
    assert meta["step"] == 5
    assert "continuing" in capsys.readouterr().out


def test_a_moved_image_or_extra_inputs_fail_clearly(session_folder, capsys, tmp_path):
    folder, image = session_folder("pce")
    assert main(["train", "--session", str(folder), str(image)]) == 1
    assert "give no IMAGES" in capsys.readouterr().err
    image.rename(tmp_path / "elsewhere.nii.gz")
    assert main(["train", "--session", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "case01.nii.gz is missing" in err and "locate it" in err
    assert not (folder / "model").exists()
