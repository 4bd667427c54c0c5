"""Method options: one CRF term config shared by crf and attenscribble; renamed options still load."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from napari_scribbleseg.config import (
    PreprocessConfig,
    TrainConfig,
    canonical_options,
    from_dict,
    option_aliases,
    replace,
)
from napari_scribbleseg.engine.methods import METHODS, method_config
from napari_scribbleseg.engine.methods.adversarial import AdversarialConfig
from napari_scribbleseg.engine.methods.attenscribble import AttenScribbleConfig
from napari_scribbleseg.engine.methods.crf import CRFConfig, CRFTermConfig, crf_term
from napari_scribbleseg.engine.trainer import Trainer
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.losses import masked_crf_loss

# options as saved before the renames (values differ from the defaults) and the same under today's names
RENAMED = {
    "crf": (
        {"weight": 0.3, "sigma_intensity": 0.2, "sigma_xy": 4.0, "radius": 3, "downsample": 1},
        {
            "crf_weight": 0.3,
            "crf_sigma_intensity": 0.2,
            "crf_sigma_xy": 4.0,
            "crf_radius": 3,
            "crf_downsample": 1,
        },
    ),
    "attenscribble": (
        {"crf_weight": 0.2, "sigma_intensity": 0.2, "sigma_xy": 4.0, "crf_radius": 1},
        {"crf_weight": 0.2, "crf_sigma_intensity": 0.2, "crf_sigma_xy": 4.0, "crf_radius": 1},
    ),
    "aag": (
        {"a1": 0.3, "a2": 0.5, "a3": 0.4, "dynamic_a0": False},
        {"adv_weight": 0.3, "disc_weight": 0.5, "adv_unlabeled_weight": 0.4, "dynamic_sup_weight": False},
    ),
    "unetd": ({"a1": 0.05}, {"adv_weight": 0.05}),
    "size": ({"weight": 0.5, "margin": 0.2}, {"size_weight": 0.5, "margin": 0.2}),
    "isdnet": ({"background_weight": 0.3}, {"dice_background_weight": 0.3}),
}


@pytest.mark.parametrize("method", list(RENAMED))
def test_old_option_names_give_the_same_config(method):
    old, new = RENAMED[method]
    cfg = method_config(method, new)
    assert method_config(method, old) == cfg
    assert cfg != METHODS.get(method).Config()  # the values above are not the defaults
    assert from_dict(METHODS.get(method).Config, json.loads(json.dumps(old))) == cfg


@pytest.mark.parametrize("method", METHODS.names())
def test_aliases_point_from_a_non_field_to_a_field(method):
    cls = METHODS.get(method).Config
    fields = {f.name for f in dataclasses.fields(cls)}
    for old, new in option_aliases(cls).items():
        assert old not in fields and new in fields, (old, new)


def test_old_and_new_name_together_must_agree():
    with pytest.raises(ConfigError, match="'a1' is the old name of 'adv_weight'"):
        from_dict(AdversarialConfig, {"a1": 0.3, "adv_weight": 0.1})
    assert from_dict(AdversarialConfig, {"a1": 0.3, "adv_weight": 0.3}).adv_weight == 0.3
    got = canonical_options(CRFConfig, {"radius": 4, "warmup_steps": 2})
    assert got == {"crf_radius": 4, "warmup_steps": 2}


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown option.*wieght.*valid: crf_weight"):
        method_config("crf", {"wieght": 0.3})
    # an old name of another method is not an alias here
    with pytest.raises(ConfigError, match="unknown option.*'?weight"):
        method_config("attenscribble", {"weight": 0.3})


def test_old_names_on_the_command_line():
    from napari_scribbleseg.cli.options import parse_method_options

    opts = parse_method_options(["a1=0.3", "dynamic_a0=false"], {})
    assert method_config("aag", opts) == AdversarialConfig(adv_weight=0.3, dynamic_sup_weight=False)


def test_replace_accepts_old_names():
    assert replace(CRFConfig(), radius=5) == CRFConfig(crf_radius=5)


def test_crf_and_attenscribble_share_one_crf_term_config():
    term_fields = [(f.name, f.default) for f in dataclasses.fields(CRFTermConfig)]
    for cls in (CRFConfig, AttenScribbleConfig):
        assert issubclass(cls, CRFTermConfig)
        assert [(f.name, f.default) for f in dataclasses.fields(cls)][: len(term_fields)] == term_fields
    with pytest.raises(ConfigError, match="crf_radius"):
        CRFConfig(crf_radius=0)  # the crf method now checks its options like attenscribble
    with pytest.raises(ConfigError, match="crf_weight"):
        AttenScribbleConfig(crf_weight=-1.0)


def test_crf_term_is_the_weighted_masked_crf_loss():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(2, 3, 16, 16, generator=g), 1)
    image = torch.randn(2, 1, 16, 16, generator=g)
    omega = torch.rand(2, 16, 16, generator=g) > 0.3
    c = CRFConfig(crf_weight=0.3, crf_sigma_intensity=0.2, crf_sigma_xy=4.0, crf_radius=3, crf_downsample=1)
    ref = masked_crf_loss(probs, image, omega, sigma_intensity=0.2, sigma_xy=4.0, radius=3, downsample=1)
    assert torch.allclose(crf_term(c, probs, image, omega), 0.3 * ref)
    assert crf_term(AttenScribbleConfig(), probs, image, omega) == crf_term(CRFConfig(), probs, image, omega)


def _cfg(**kw) -> TrainConfig:
    base = dict(
        method="crf", batch_size=2, width=4, depth=3, max_steps=1, val_fraction=0.0, preview_every=0,
        device="cpu", precision="fp32", threads=1,
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def test_meta_json_with_old_option_names_loads_and_resumes(tiny_cases, classes, tmp_path):
    pre = PreprocessConfig(patch_size=32)
    folder = tmp_path / "m"
    for _ in Trainer(tiny_cases, classes, _cfg(), {"crf_weight": 0.05}, pre, out_dir=folder).fit():
        pass
    meta_file = folder / "meta.json"
    meta = json.loads(meta_file.read_text())
    assert meta["method_config"]["crf_weight"] == 0.05
    old, new = RENAMED["crf"]
    meta["method_config"] = {**old, "warmup_steps": 0}  # as a model saved before the renames
    meta_file.write_text(json.dumps(meta))

    meta = json.loads(meta_file.read_text())  # what Continue / --resume do with a model folder
    trainer = Trainer(
        tiny_cases,
        classes,
        _cfg(max_steps=2),
        dict(meta["method_config"]),
        from_dict(PreprocessConfig, meta["preprocess"]),
        resume=folder,
        out_dir=tmp_path / "m2",
    )
    assert trainer.method_options == CRFConfig(**new)
    for _ in trainer.fit():
        pass
    assert trainer.step == 3  # resumed at step 1
    saved = json.loads((tmp_path / "m2" / "meta.json").read_text())["method_config"]
    assert saved == {**new, "warmup_steps": 0}  # written back under today's names
