"""What Train, Continue, Predict, Save and Load do, without Qt (engine/session.py)."""

from __future__ import annotations

import contextlib
import json
import threading

import numpy as np
import pytest

from napari_scribbleseg.config import PreprocessConfig, TrainConfig
from napari_scribbleseg.engine import events as E
from napari_scribbleseg.engine.session import (
    PredictItem,
    TrainingSession,
    TrainRequest,
    UnpairedSource,
    stop_criteria,
)

CLASSES = ("background", "ring", "disk")
PRE = PreprocessConfig(patch_size=32)


def tiny_config(**kw) -> TrainConfig:
    base = dict(
        method="pce",
        batch_size=2,
        width=4,
        depth=3,
        max_steps=2,
        val_fraction=0.0,
        preview_every=0,
        device="cpu",
        precision="fp32",
        threads=1,
    )
    base.update(kw)
    return TrainConfig(**base)


def run(generator) -> list:
    events = list(generator)
    failed = [e for e in events if isinstance(e, E.Failed)]
    assert not failed, failed[0].message + failed[0].details
    return events


class FakeLoaded:
    """Stands in for a Predictor loaded from a folder: only its meta.json matters to Continue."""

    def __init__(self, meta: dict) -> None:
        self.meta = meta


def loaded_session(tmp_path, meta: dict, state: bool = True) -> TrainingSession:
    folder = tmp_path / "model"
    (folder / "state" if state else folder).mkdir(parents=True)
    session = TrainingSession()
    session.loaded, session.loaded_dir, session.use_loaded = FakeLoaded(meta), folder, True
    return session


META = {
    "method": "aag",
    "class_names": list(CLASSES),
    "train_config": {"method": "aag", "width": 8, "depth": 4, "lr": 5e-4, "device": "cuda", "threads": 4},
    "preprocess": {"patch_size": 64, "normalization": "minmax"},
    "method_config": {"label_flip": 0.0},
}


# -- stopping criteria -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("seconds", {"time_budget": 30.0, "epochs": None, "max_steps": None}),
        ("epochs", {"time_budget": None, "epochs": 30, "max_steps": None}),
        ("steps", {"time_budget": None, "epochs": None, "max_steps": 30}),
    ],
)
def test_stop_criteria_set_one_field_and_clear_the_others(unit, expected):
    assert stop_criteria(unit, 30.0) == expected


def test_stop_criteria_reject_an_unknown_unit():
    with pytest.raises(ValueError, match="minutes"):
        stop_criteria("minutes", 3)


# -- state and refusals ------------------------------------------------------------------------------------
def test_a_new_session_has_no_model_and_refuses_to_predict_or_save(tmp_path):
    session = TrainingSession()
    assert not session.trained and not session.has_model and not session.can_continue
    assert not session.running and session.wait(0)
    with pytest.raises(RuntimeError, match="no model yet"):
        session.predict([PredictItem("x", np.zeros((4, 4, 4), np.float32), (1.0, 1.0, 1.0))], False)
    with pytest.raises(RuntimeError, match="no trained model"):
        session.save(tmp_path / "m")


# -- Continue a loaded model folder: the meta.json checks --------------------------------------------------
def test_continuing_needs_a_loaded_model():
    with pytest.raises(ValueError, match="no model loaded"):
        TrainingSession().check_resumable(CLASSES)


def test_a_prediction_only_folder_cannot_continue(tmp_path):
    session = loaded_session(tmp_path, META, state=False)
    assert session.continues_loaded and session.can_continue  # Continue is offered, then explained
    with pytest.raises(ValueError, match="no training state"):
        session.check_resumable(CLASSES)


def test_a_meta_json_without_configs_cannot_continue(tmp_path):
    meta = {k: v for k, v in META.items() if k != "preprocess"}
    with pytest.raises(ValueError, match="meta.json lacks preprocess"):
        loaded_session(tmp_path, meta).check_resumable(CLASSES)


def test_other_class_names_cannot_continue(tmp_path):
    with pytest.raises(ValueError, match="classes are background, ring, disk"):
        loaded_session(tmp_path, META).check_resumable(("background", "ring"))


def test_resume_request_keeps_the_model_and_takes_device_and_stopping_from_now(tmp_path, tiny_cases):
    session = loaded_session(tmp_path, META)
    assert session.check_resumable(CLASSES) is META
    current = TrainConfig(method="pce", width=16, device="cpu", threads=1, preview_every=0.5)
    unpaired = UnpairedSource("sample", name="cardiac")
    stop = stop_criteria("steps", 3)
    request = session.resume_request(tiny_cases, current, stop, unpaired, unpaired_method="aag")
    c = request.config
    assert (c.method, c.width, c.depth, c.lr) == ("aag", 8, 4, 5e-4)  # the folder's network and schedule
    assert (c.device, c.threads, c.preview_every) == ("cpu", 1, 0.5)  # the settings shown now
    assert (c.max_steps, c.time_budget, c.epochs) == (3, None, None)
    assert request.preprocess == PreprocessConfig(patch_size=64, normalization="minmax")
    assert request.method_options == {"label_flip": 0.0} and request.class_names == CLASSES
    assert request.resume == session.loaded_dir and request.unpaired is unpaired
    # unpaired masks chosen for another method are not used
    other = session.resume_request(tiny_cases, current, stop, unpaired, unpaired_method="unetd")
    assert other.unpaired is None


# -- unpaired-mask sources ---------------------------------------------------------------------------------
def test_unpaired_masks_from_a_folder(tmp_path, tiny_volume):
    from napari_scribbleseg.io import save_nifti

    for i in range(2):
        _, m = tiny_volume(20 + i)
        save_nifti(tmp_path / f"m{i}.nii.gz", m, np.diag([1.5, 1.5, 6.0, 1.0]), kind="labels")
    cases = UnpairedSource("folder", path=tmp_path).load()
    assert [c.name for c in cases] == ["m0.nii.gz", "m1.nii.gz"]
    assert cases[0].mask.max() == 2 and cases[0].spacing == pytest.approx((1.5, 1.5, 6.0))


@pytest.mark.slow
def test_the_cardiac_sample_masks_are_its_unpaired_split():
    from napari_scribbleseg.data.samples import CARDIAC_SPLIT

    cases = UnpairedSource("sample", name="cardiac").load()
    assert [c.name for c in cases] == [f"case{i + 1:02d}" for i in CARDIAC_SPLIT.unpaired]
    assert all(c.mask is not None and c.mask.max() == 3 and not c.scribbles for c in cases)


def test_a_sample_without_unpaired_masks_is_an_error():
    with pytest.raises(ValueError, match="brain"):
        UnpairedSource("sample", name="brain").load()


# -- a whole session without Qt ----------------------------------------------------------------------------
@pytest.mark.slow
def test_train_continue_predict_save_load_and_continue_the_folder(tmp_path, tiny_cases):
    from napari_scribbleseg.inference import Predictor

    entered = []

    @contextlib.contextmanager
    def run_context():
        entered.append(threading.get_ident())
        yield

    session = TrainingSession(run_context=run_context)
    events = run(session.train(TrainRequest(tiny_cases, CLASSES, tiny_config(), {}, PRE)))
    assert isinstance(events[-1], E.Finished) and session.trainer.step == 2
    assert session.trained and session.can_continue and not session.running and entered
    assert session.volume_names == [c.name for c in tiny_cases]

    # Continue: same trainer, new stopping criterion, the step counter carries on
    events = run(session.resume(tiny_cases[:2], stop_criteria("steps", 3)))
    started = next(e for e in events if isinstance(e, E.Started))
    assert started.resumed and session.trainer.step == 5 and len(entered) == 2

    # Predict: the same mask as the Predictor's own post-processing (keep_largest included)
    image = tiny_cases[0].image
    item = PredictItem("case0", image, tiny_cases[0].spacing)
    (result,) = session.predict([item], uncertainty=True)
    mask, probs = session.predictor().segment(image, tiny_cases[0].spacing)
    np.testing.assert_array_equal(result.mask, mask)
    assert result.uncertainty.shape == image.shape and result.class_names == CLASSES

    # Save, then Load in a new session (as after restarting napari) and continue the folder
    folder = session.save(tmp_path / "model")
    assert json.loads((folder / "meta.json").read_text())["class_names"] == list(CLASSES)
    fresh = TrainingSession()
    predictor = fresh.load(folder, device="cpu")
    assert isinstance(predictor, Predictor) and fresh.continues_loaded and fresh.has_model
    (loaded,) = fresh.predict([item], uncertainty=False)
    np.testing.assert_array_equal(loaded.mask, result.mask)
    assert loaded.uncertainty is None
    fresh.check_resumable(CLASSES)
    request = fresh.resume_request(tiny_cases, tiny_config(), stop_criteria("steps", 2))
    events = run(fresh.train(request))
    started = next(e for e in events if isinstance(e, E.Started))
    assert started.resumed and fresh.trainer.step == 7 and not fresh.continues_loaded
