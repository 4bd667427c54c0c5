"""AttenScribble, size constraints and ISDNet: loss properties, modules, and training in every regime.

Each new loss's defining property, the new networks, the bounds logic, and a few training steps of each
method with unlabeled images, dense masks (mixed supervision) and two annotators.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_scribbleseg.cli import _parse_method_options
from napari_scribbleseg.config import PreprocessConfig, TrainConfig
from napari_scribbleseg.data.dataset import Batch, Case, PreparedCase
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.methods import METHODS, MethodContext
from napari_scribbleseg.engine.methods.isdnet import ISDNet, ISDNetConfig
from napari_scribbleseg.engine.methods.size import SizeConfig, SizeConstrained, parse_bounds
from napari_scribbleseg.engine.trainer import Trainer, method_config
from napari_scribbleseg.errors import ConfigError
from napari_scribbleseg.labels import IGNORE
from napari_scribbleseg.losses import (
    attentive_similarity,
    attentive_similarity_loss,
    class_weighted_dice_loss,
    distance_decay_map,
    size_constraint_loss,
    size_penalty,
)
from napari_scribbleseg.models import attention as attention_mod
from napari_scribbleseg.models.attention import AttentiveSimilarity, SpatialSelfAttention, UNetSSA
from napari_scribbleseg.models.confidence import ConfidenceNetwork, ImportanceWeightNetwork

from .conftest import CLASSES, scribbles_from, tiny_volume
from .test_engine import PRE, cfg, run

NEW = ("attenscribble", "size", "isdnet")


# -- size penalty (004 Eq. 3) -------------------------------------------------------------------------
def test_size_penalty_is_zero_inside_and_quadratic_outside():
    a, b = torch.tensor(10.0), torch.tensor(20.0)
    v = torch.tensor([0.0, 5.0, 10.0, 15.0, 20.0, 23.0, 30.0], requires_grad=True)
    c = size_penalty(v, a, b)
    assert torch.allclose(c, torch.tensor([100.0, 25.0, 0.0, 0.0, 0.0, 9.0, 100.0]))
    c.sum().backward()
    g = v.grad
    # below a: dC/dV = 2(V - a) < 0 (descent grows the region); above b: > 0; inside: 0
    assert torch.allclose(g, torch.tensor([-20.0, -10.0, 0.0, 0.0, 0.0, 6.0, 20.0]))
    # absence (004 Eq. 5): a = b = 0 penalises any size quadratically
    assert torch.allclose(
        size_penalty(torch.tensor(3.0), torch.tensor(0.0), torch.tensor(0.0)), torch.tensor(9.0)
    )
    # no upper bound
    assert size_penalty(torch.tensor(1e6), torch.tensor(1.0), torch.tensor(float("inf"))) == 0


def test_size_constraint_loss_soft_size_normalisation_and_gradient_sign():
    probs = torch.full((1, 2, 4, 5), 0.5, requires_grad=True)  # V = 10 per class over |Ω| = 20 pixels
    lower = torch.tensor([[0.0, 14.0]])
    upper = torch.tensor([[float("inf"), 16.0]])
    loss = size_constraint_loss(probs, lower, upper)
    assert torch.isclose(loss, torch.tensor((14.0 - 10.0) ** 2 / 20))
    loss.backward()
    assert torch.all(probs.grad[:, 0] == 0) and torch.all(probs.grad[:, 1] < 0)  # class 1 must grow
    valid = torch.zeros(1, 4, 5, dtype=torch.bool)
    valid[:, :2] = True  # 10 pixels: V = 5
    loss2 = size_constraint_loss(probs.detach(), lower, upper, valid)
    assert torch.isclose(loss2, torch.tensor((14.0 - 5.0) ** 2 / 10))
    inside = size_constraint_loss(probs.detach(), torch.tensor([[0.0, 5.0]]), torch.tensor([[20.0, 15.0]]))
    assert inside == 0


# -- attentive similarity (003 Sec. 2.4) --------------------------------------------------------------
def _attention(b=2, m=3, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(b, m, n, n, generator=g), dim=-1)


def test_attentive_similarity_is_symmetric_in_0_1_and_neutral_for_uniform_attention():
    att = _attention()
    w = torch.softmax(torch.tensor([0.3, -1.0, 2.0]), 0)
    s = attentive_similarity(att, w)
    assert s.shape == (2, 12, 12)
    assert torch.allclose(s, s.transpose(1, 2))
    assert torch.all(s > 0) and torch.all(s < 1)
    uniform = torch.full((1, 3, 12, 12), 1 / 12)
    assert torch.allclose(attentive_similarity(uniform, w), torch.full((1, 12, 12), 0.5))
    mod = AttentiveSimilarity(3)
    w_mod = mod()
    assert torch.all(w_mod >= 0) and torch.isclose(w_mod.sum(), torch.tensor(1.0))
    assert torch.allclose(mod.matrix(att), mod.matrix(att).transpose(1, 2))


def test_distance_decay_map():
    m = distance_decay_map(3, 4, sigma=1.5)
    assert m.shape == (12, 12)
    assert torch.allclose(m.diagonal(), torch.ones(12))
    assert torch.allclose(m, m.T)
    assert torch.all(m > 0) and torch.all(m <= 1)
    # positions row-major: 0 = (0, 0), 5 = (1, 1), 11 = (2, 3)
    assert torch.isclose(m[0, 5], torch.exp(torch.tensor(-2 / (2 * 1.5**2))))
    assert m[0, 1] > m[0, 5] > m[0, 11]  # decays with distance


def _brute_force_atn_loss(probs, att, w, mask, sigma, radius):
    b, c, h, w_ = probs.shape
    s = attentive_similarity(att, w)
    dm = distance_decay_map(h, w_, sigma)
    ys, xs = np.divmod(np.arange(h * w_), w_)
    cheb = torch.from_numpy(np.maximum(abs(ys[:, None] - ys[None]), abs(xs[:, None] - xs[None])))
    window = ((cheb > 0) & (cheb <= radius)).float()
    pf = probs.reshape(b, c, -1)
    disagree = 1 - torch.einsum("bcp,bcq->bpq", pf, pf)
    m = mask.reshape(b, -1).float()
    total = (dm * window * s * disagree * m[:, :, None] * m[:, None, :]).sum()
    return total / m.sum()


def test_attentive_similarity_loss_matches_eq6_and_reaches_prediction_attention_and_weights():
    torch.manual_seed(0)
    h, w_ = 3, 4
    logits = torch.randn(2, 3, h, w_, requires_grad=True)
    att_logits = torch.randn(2, 2, h * w_, h * w_, requires_grad=True)
    mix = torch.zeros(2, requires_grad=True)
    mask = torch.ones(2, h, w_, dtype=torch.bool)
    mask[0, 0, :2] = False  # scribbled pixels are not in Ω_U
    probs, att, weights = torch.softmax(logits, 1), torch.softmax(att_logits, -1), torch.softmax(mix, 0)
    loss = attentive_similarity_loss(probs, att, weights, mask, sigma=1.3, radius=2)
    ref = _brute_force_atn_loss(probs, att, weights, mask, 1.3, 2)
    assert torch.isclose(loss, ref, rtol=1e-5)
    loss.backward()
    assert logits.grad.abs().sum() > 0 and att_logits.grad.abs().sum() > 0 and mix.grad.abs().sum() > 0
    # predictions that agree everywhere cost nothing
    same = torch.zeros(2, 3, h, w_)
    same[:, 1] = 1
    assert attentive_similarity_loss(same, att.detach(), weights.detach(), mask) == 0


# -- self-attention module and segmentor --------------------------------------------------------------
def test_self_attention_shapes_gradients_and_chunked_inference(monkeypatch):
    torch.manual_seed(0)
    m = SpatialSelfAttention(8, heads=2, layers=2)
    x = torch.randn(2, 8, 5, 6, requires_grad=True)
    out = m(x)
    assert out["features"].shape == x.shape and torch.allclose(out["features"], x)  # zero-initialised
    assert out["attention"].shape == (2, 4, 30, 30) and m.n_maps == 4
    assert torch.allclose(out["attention"].sum(-1), torch.ones(2, 4, 30))  # rows are softmax-normalised
    r = out["received"]
    assert r.shape == (2, 1, 5, 6) and r.min() >= 0 and torch.allclose(r.amax(dim=(2, 3)), torch.ones(2, 1))
    # the attention alone carries gradient into Q/K and the input (what the attentive similarity loss uses)
    out["attention"].pow(2).sum().backward()
    assert m.layers[0].qkv.weight.grad.abs().sum() > 0 and x.grad.abs().sum() > 0
    with torch.no_grad():
        m.proj.weight.normal_()
    full = m(x.detach(), keep_attention=True)
    monkeypatch.setattr(attention_mod, "CHUNK_ELEMENTS", 64)  # a few rows per chunk
    with torch.no_grad():
        chunked = m(x.detach())
    assert "attention" not in chunked
    assert torch.allclose(chunked["features"], full["features"], atol=1e-5)
    assert torch.allclose(chunked["received"], full["received"], atol=1e-5)
    assert not torch.allclose(chunked["features"], x)


def test_unet_ssa_outputs_previewable_attention():
    net = UNetSSA(1, 3, width=4, depth=4, level=2, heads=2)
    assert net.has_attention
    out = net(torch.randn(2, 1, 32, 48))
    assert out["attention_probs"].shape == (2, 2, 96, 96)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(1, 1, 32, 48))
    assert "attention_probs" not in out
    (a,) = out["attention"]
    assert a.shape == (1, 1, 8, 12) and 0 <= a.min() and a.max() <= 1
    with pytest.raises(ValueError, match="level"):
        UNetSSA(1, 3, width=4, depth=3, level=3)


# -- ISDNet networks and losses -----------------------------------------------------------------------
def test_confidence_map_shape_and_range():
    d = ConfidenceNetwork(3, width=4)
    probs = torch.softmax(torch.randn(2, 3, 32, 48), 1)
    logits = d(probs)
    assert logits.shape == (2, 1, 32, 48)
    cm = torch.sigmoid(logits)
    assert torch.all(cm > 0) and torch.all(cm < 1)
    assert ImportanceWeightNetwork(16, width=8)(torch.randn(3, 16, 4, 4)).shape == (3,)


def test_class_weighted_dice_loss():
    target = torch.tensor([[[0, 1], [2, IGNORE]]])
    perfect = torch.nn.functional.one_hot(target.clamp_min(0), 3).permute(0, 3, 1, 2).float()
    perfect[0, :, 1, 1] = torch.tensor([0.0, 0.0, 1.0])  # wrong where unannotated: ignored
    assert class_weighted_dice_loss(perfect, target) < 1e-5
    probs = torch.softmax(torch.randn(2, 3, 2, 2), 1)
    t2 = torch.cat([target, torch.full_like(target, IGNORE)])
    per = class_weighted_dice_loss(probs, t2, torch.tensor([0.2, 1.0, 1.0]), per_sample=True)
    assert per.shape == (2,) and per[1] == 0  # no valid pixel: no loss
    w = torch.tensor([0.2, 1.0, 1.0])
    valid = (t2[0] != IGNORE).float()
    oh = torch.nn.functional.one_hot(t2[0].clamp_min(0), 3).permute(2, 0, 1).float() * valid
    p = probs[0] * valid
    ref = 1 - 2 * (w * (p * oh).sum((1, 2))).sum() / (w * (p + oh).sum((1, 2))).sum()
    assert torch.isclose(per[0], ref, atol=1e-4)


def _ctx(**kw) -> MethodContext:
    base = dict(
        n_classes=3,
        train=TrainConfig(width=4, depth=3, device="cpu", precision="fp32"),
        pre=PRE,
        device=torch.device("cpu"),
        autocast_dtype=None,
        class_names=CLASSES,
    )
    base.update(kw)
    return MethodContext(**base)


def test_importance_network_sends_no_gradient_into_the_encoder():
    torch.manual_seed(0)
    method = ISDNet(ISDNetConfig(), _ctx())
    seg = method.segmentor
    z_l = method.forward(torch.randn(2, 1, 32, 32))["features"][-1]
    z_u = method.forward(torch.randn(2, 1, 32, 32))["features"][-1]
    seg.zero_grad(set_to_none=True)
    method.importance_loss(z_l, z_u).backward()
    assert all(p.grad is None or not p.grad.any() for p in seg.encoder.parameters())
    assert all(p.grad is not None for p in method.networks["importance"].parameters())
    w = method.importance_weights(z_u)
    assert w.shape == (2,) and not w.requires_grad and torch.all((w >= 0) & (w <= 1))


def test_isdnet_discriminators_learn_at_a_tenth_of_the_segmentor_rate():
    method = ISDNet(ISDNetConfig(), _ctx())
    lr = {n: o.param_groups[0]["lr"] for n, o in method.optimizers.items()}
    assert lr["confidence"] == pytest.approx(0.1 * lr["segmentor"]) == pytest.approx(lr["importance"])
    with pytest.raises(ConfigError, match="disc_lr_scale"):
        ISDNetConfig(disc_lr_scale=0)


def test_extra_networks_run_like_the_segmentor():
    method = ISDNet(ISDNetConfig(), _ctx(autocast_dtype=torch.bfloat16))
    conv = method.networks["confidence"].body[0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)  # CPU: channels-last, as the UNet
    maps = torch.softmax(torch.randn(2, 3, 16, 16), 1)
    assert method.run("confidence", maps).dtype == torch.bfloat16  # under the run's autocast
    logits = method.confidence(maps)
    assert logits.dtype == torch.float32 and logits.shape == (2, 1, 16, 16)  # losses see float32


def test_semi_loss_uses_confident_pixels_only():
    method = ISDNet(ISDNetConfig(), _ctx())
    probs = torch.softmax(torch.randn(2, 3, 8, 8), 1)
    none = method.semi_loss(probs, torch.full((2, 1, 8, 8), -10.0))  # confidence ~0 < T_semi
    assert torch.all(none == 0)
    all_ = method.semi_loss(probs, torch.full((2, 1, 8, 8), 10.0))
    ref = class_weighted_dice_loss(probs, probs.argmax(1), method.dice_weights, per_sample=True)
    assert torch.allclose(all_, ref)


# -- size bounds ----------------------------------------------------------------------------------------
def test_parse_bounds_and_errors():
    assert parse_bounds("") == {}
    assert parse_bounds(" LV = 60-2000 ; MYO=50..1500, RV=0:inf") == {
        "LV": (60.0, 2000.0),
        "MYO": (50.0, 1500.0),
        "RV": (0.0, float("inf")),
    }
    for bad, msg in [
        ("LV=60", "expected NAME=MIN-MAX"),
        ("LV", "expected NAME=MIN-MAX"),
        ("LV=-5-10", "expected NAME=MIN-MAX"),
        ("LV=200-100", "larger than the maximum"),
        ("LV=1-2,lv=3-4", "given twice"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            SizeConfig(bounds=bad)
    with pytest.raises(ConfigError, match="must be text"):
        SizeConfig(bounds=5)  # type: ignore[arg-type]
    # the CLI form: --opt bounds=LV=60-2000,MYO=50-1500
    opts = _parse_method_options(["bounds=ring=60-2000,disk=50-1500"], {})
    assert method_config("size", opts).bounds == "ring=60-2000,disk=50-1500"
    with pytest.raises(ConfigError, match="unknown structure 'LV'.*background, ring, disk"):
        SizeConstrained(SizeConfig(bounds="LV=1-2"), _ctx())


def _prepared(targets: np.ndarray, dense: list[bool]) -> PreparedCase:
    return PreparedCase(
        "c", None, np.zeros(targets.shape[1:], np.float32), targets.astype(np.int8), np.array(dense)
    )


def test_size_bounds_tags_common_individual_and_user():
    s, h, w = 3, 10, 10
    scrib = np.full((s, h, w), IGNORE)
    scrib[0, 0, :3] = 0  # slice 0: background and ring scribbled, disk not
    scrib[0, 5, 5] = 1
    scrib[1, 5, 5] = 2  # slice 1: disk only; slice 2: nothing (not annotated)
    ref = np.zeros((2, h, w))
    ref[0, :2, :5], ref[0, 5:, 5:] = 1, 2  # ring 10 px, disk 25 px
    ref[1, :4, :5], ref[1, 5:7, 5:] = 1, 2  # ring 20 px, disk 10 px
    method = SizeConstrained(SizeConfig(), _ctx())
    b = method._compute_bounds([_prepared(scrib[None], [False])], [ref])
    assert b.items == [(0, 0), (0, 1)]
    np.testing.assert_allclose(b.lower[0], [0, 9, 0])  # ring present: common 0.9 * 10; disk absent
    np.testing.assert_allclose(b.upper[0], [np.inf, 22, 0])  # ... 1.1 * 20; absent: [0, 0]
    np.testing.assert_allclose(b.lower[1], [0, 0, 9])
    np.testing.assert_allclose(b.upper[1], [np.inf, 0, 27.5])
    assert method.bounds_summary() == {}
    # without absence tags an unscribbled structure keeps only the upper bound
    loose = SizeConstrained(SizeConfig(absent_if_unscribbled=False, bounds="disk=3-40"), _ctx())
    b2 = loose._compute_bounds([_prepared(scrib[None], [False])], [ref])
    np.testing.assert_allclose(b2.upper[0], [np.inf, 22, 40])
    np.testing.assert_allclose(b2.lower[0], [0, 9, 0])
    np.testing.assert_allclose(b2.lower[1], [0, 0, 3])  # user bounds override the common ones
    # no common bounds: tag bounds [1, |Ω|]; a dense row gives individual bounds 0.9 τ .. 1.1 τ (004 Eq. 7)
    tags = SizeConstrained(SizeConfig(common_bounds=False), _ctx())
    dense = np.full((s, h, w), IGNORE)
    dense[2] = ref[0]
    b3 = tags._compute_bounds([_prepared(np.stack([scrib, dense]), [False, True])], [])
    assert b3.items == [(0, 0), (0, 1), (0, 2)]
    np.testing.assert_allclose(b3.lower[1], [0, 0, 1])
    np.testing.assert_allclose(b3.upper[1], [np.inf, 0, 100])
    np.testing.assert_allclose(b3.lower[2], [0, 9, 22.5])
    np.testing.assert_allclose(b3.upper[2], [np.inf, 11, 27.5])
    lo, hi = b3.volumes[0]  # 3D (004 Sec. 4.4): τ_B summed over the volume's dense slices
    np.testing.assert_allclose(lo, [0, 9, 22.5])
    np.testing.assert_allclose(hi, [np.inf, 11, 27.5])


def test_sizes_only_ignores_dense_rows_in_the_supervised_loss():
    method = SizeConstrained(SizeConfig(dense_masks="sizes-only"), _ctx())
    targets = torch.full((2, 1, 32, 32), IGNORE)
    targets[1] = 1  # dense row only
    batch = Batch(
        torch.randn(1, 1, 32, 32), targets, torch.tensor([[False], [True]]), torch.ones(1, 32, 32, dtype=bool)
    )
    logits = method.forward(batch.image)["logits"]
    assert method.supervised_loss(logits, batch) == 0
    other = SizeConstrained(SizeConfig(), _ctx())
    assert other.supervised_loss(other.forward(batch.image)["logits"], batch) > 0


def test_a_dense_patch_counts_like_a_scribbled_one():
    from napari_scribbleseg.engine.methods.base import NoOptions
    from napari_scribbleseg.engine.methods.simple import PCE
    from napari_scribbleseg.losses import partial_cross_entropy, weighted_partial_cross_entropy

    torch.manual_seed(0)
    method = PCE(NoOptions(), _ctx())
    targets = torch.full((2, 4, 32, 32), IGNORE)
    targets[0, :, 10:12, 10:20] = 1  # scribbles on every patch
    targets[1, 0] = torch.randint(0, 3, (32, 32))  # a dense mask on the first of 4 patches
    dense = torch.tensor([[False] * 4, [True, False, False, False]])
    batch = Batch(torch.randn(4, 1, 32, 32), targets, dense, torch.ones(4, 32, 32, dtype=bool))
    logits = method.forward(batch.image)["logits"]
    dense_t = torch.full_like(targets[1], IGNORE)
    dense_t[0] = targets[1, 0]
    dense_term = weighted_partial_cross_entropy(logits, dense_t)
    expected = partial_cross_entropy(logits, targets[0]) + 0.25 * dense_term  # 1 dense patch of 4
    assert torch.isclose(method.supervised_loss(logits, batch), expected)


def test_size_patch_term_scales_upper_bounds_and_uses_visible_dense_sizes():
    method = SizeConstrained(SizeConfig(weight=1.0), _ctx())
    b = method._compute_bounds([_prepared(np.full((1, 2, 8, 8), IGNORE), [False])], [])
    b.items = [(0, 0), (0, 1)]
    b.lower = np.array([[0, 5, 0], [0, 5, 0]], np.float32)
    b.upper = np.array([[np.inf, 10, 0], [np.inf, 10, 0]], np.float32)
    probs = torch.zeros(2, 3, 8, 8)
    probs[:, 1] = 1.0  # 64 px of the ring in each patch
    targets = torch.full((2, 2, 8, 8), IGNORE)
    targets[1, 1, :2] = 1  # patch 1 has a dense row: 16 visible ring pixels
    targets[1, 1, 2:] = 0
    dense = torch.tensor([[False, False], [False, True]])
    batch = Batch(
        torch.zeros(2, 1, 8, 8),
        targets,
        dense,
        torch.ones(2, 8, 8, dtype=bool),
        np.array([[0, 0], [0, 1]]),
        torch.tensor([2.0, 1.0]),
    )
    got = method.patch_term(probs, batch, b)
    # patch 0: upper 10 * 2 = 20 -> (64 - 20)^2 (the lower bound 5 is dropped); patch 1: [14.4, 17.6]
    want = ((64 - 20) ** 2 / 64 + (64 - 17.6) ** 2 / 64) / 2
    assert got.item() == pytest.approx(want, rel=1e-5)
    probs[0, 1], probs[0, 0] = 0.0, 1.0  # nothing predicted: no penalty, the lower bound is not kept
    probs[1, 1] = 0.0
    probs[1, 1, :2] = 1.0  # exactly the visible 16 pixels
    probs[1, 0] = 1.0 - probs[1, 1]
    assert method.patch_term(probs, batch, b).item() == pytest.approx(0.0, abs=1e-6)


def test_patch_area_scale_predicts_sizes_in_zoomed_patches():
    from napari_scribbleseg.data.dataset import PatchSampler

    h = w = 96
    yy, xx = np.mgrid[:h, :w]
    disk = (np.hypot(yy - 48, xx - 48) < 12).astype(np.int8)  # 452 px, inside every patch
    target = np.where(disk > 0, 1, 0).astype(np.int8)[None, None]
    pc = PreparedCase("c", None, np.zeros((1, h, w), np.float32), target, np.array([True]))
    pre = PreprocessConfig(patch_size=48, scale_range=0.3, rotation_degrees=30.0, context_patches=0.0)
    sampler = PatchSampler([pc], pre, annotated_only=True)
    sampler.index = [(0, 0, (46, 50, 46, 50))]  # patches centred on the disk
    batch = sampler.sample(16, np.random.default_rng(0), "cpu")
    seen = (batch.targets[0] == 1).sum(dim=(1, 2)).float()
    assert batch.area_scale.min() < 0.85 and batch.area_scale.max() > 1.2  # the zoom varies
    np.testing.assert_allclose(seen.numpy(), disk.sum() * batch.area_scale.numpy(), rtol=0.08)
    assert batch.source.tolist() == [[0, 0]] * 16


# -- training on tiny data ------------------------------------------------------------------------------
def _cases(n=3, annotators=1, dense_first=False):
    cases = []
    for i in range(n):
        img, mask = tiny_volume(i)
        scribbles = [scribbles_from(mask, i + 7 * a) for a in range(annotators)]
        dense = mask if (dense_first and i == 0) else None
        cases.append(Case(img, (1.5, 1.5, 6.0), scribbles, dense, f"case{i}"))
    return cases


def _unlabeled(n=2):
    return [Case(tiny_volume(20 + i)[0], (1.5, 1.5, 6.0), [], None, f"unl{i}") for i in range(n)]


FAST = {"isdnet": {"semi_warmup_steps": 1}, "size": {"every": 1, "warmup_steps": 0}, "attenscribble": {}}


@pytest.mark.parametrize("method", NEW)
def test_new_methods_are_registered_with_documented_options(method):
    cls = METHODS.get(method)
    assert cls.description and cls.__doc__ and "Sec." in cls.__doc__
    import dataclasses

    for f in dataclasses.fields(cls.Config):
        assert f.metadata.get("help"), f"{method}.{f.name} has no help"


@pytest.mark.parametrize("method", NEW)
def test_methods_train_with_unlabeled_images(method, tiny_masks):
    trainer = Trainer(
        _cases(), CLASSES, cfg(method), FAST[method], PRE, unpaired_masks=tiny_masks, unlabeled=_unlabeled()
    )
    events = run(trainer)
    losses = next(e for e in events if isinstance(e, ev.Progress)).losses
    assert trainer.step == 3 and all(np.isfinite(v) for v in losses.values())
    if method == "isdnet":
        assert {"adv_unlabeled", "importance", "disc", "d0"} <= set(losses)
    if method == "attenscribble":
        assert {"crf", "atn"} <= set(losses)
    if method == "size":
        assert "size" in losses and trainer.method.bounds_summary()["disk"][2] == "common"


@pytest.mark.parametrize("method", NEW)
def test_methods_train_with_two_annotators_and_a_dense_mask(method):
    # no unpaired masks: ISDNet's real label maps come from the dense mask
    trainer = Trainer(
        _cases(annotators=2, dense_first=True), CLASSES, cfg(method, max_steps=4), FAST[method], PRE
    )
    events = run(trainer)
    prog = [e for e in events if isinstance(e, ev.Progress)]
    assert trainer.step == 4 and all(np.isfinite(v) for e in prog for v in e.losses.values())
    assert trainer.sampler.n_annotators == 3  # two scribble sets + the dense row


def test_size_penalty_waits_for_its_warm_up():
    trainer = Trainer(_cases(), CLASSES, cfg("size", max_steps=2), {"every": 1}, PRE)  # default 300 steps
    prog = [e for e in run(trainer) if isinstance(e, ev.Progress)]
    assert prog and all("size" not in e.losses for e in prog)
    trainer = Trainer(_cases(), CLASSES, cfg("size", max_steps=2), {"every": 1, "warmup_steps": 0}, PRE)
    prog = [e for e in run(trainer) if isinstance(e, ev.Progress)]
    assert prog and all("size" in e.losses for e in prog)


def test_size_volume_form_with_dense_sizes_only():
    opts = {"volume": True, "dense_masks": "sizes-only", "every": 1, "warmup_steps": 0}
    trainer = Trainer(_cases(dense_first=True), CLASSES, cfg("size"), opts, PRE)
    losses = next(e for e in run(trainer) if isinstance(e, ev.Progress)).losses
    assert "size3d" in losses and np.isfinite(losses["size3d"])
    failing = Trainer(_cases(), CLASSES, cfg("size"), {"volume": True}, PRE)
    last = list(failing.fit())[-1]
    assert isinstance(last, ev.Failed) and "dense masks" in last.message


def test_isdnet_without_real_label_maps_fails_clearly():
    last = list(Trainer(_cases(), CLASSES, cfg("isdnet"), None, PRE).fit())[-1]
    assert isinstance(last, ev.Failed) and "--masks" in last.message and "--full-masks" in last.message


def test_attenscribble_previews_its_attention_and_checks_the_level():
    trainer = Trainer(_cases(), CLASSES, cfg("attenscribble", preview_every=1e-9, max_steps=2), None, PRE)
    previews = [e for e in run(trainer) if isinstance(e, ev.Preview)]
    assert previews and set(previews[-1].attention) == {"scale 1/4"}
    (a,) = previews[-1].attention.values()
    assert a.shape == previews[-1].prediction.shape and 0 <= a.min() and a.max() <= 1
    bad = Trainer(_cases(), CLASSES, cfg("attenscribble"), {"level": 3}, PRE)
    last = list(bad.fit())[-1]
    assert isinstance(last, ev.Failed) and "level 3" in last.message


def test_size_whole_slice_forward_leaves_batchnorm_statistics_alone(tiny_cases):
    import torch

    from napari_scribbleseg.engine.trainer import Trainer

    from .conftest import CLASSES
    from .test_engine import PRE, cfg

    trainer = Trainer(tiny_cases, CLASSES, cfg("size", max_steps=1), preprocess=PRE)
    trainer._setup()
    bn = next(m for m in trainer.segmentor.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    trainer.method._probs(torch.randn(2, 1, 48, 48) * 5 + 3)
    assert torch.equal(bn.running_mean, before) and bn.momentum == 0.1
