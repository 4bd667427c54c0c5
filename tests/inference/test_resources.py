"""Prediction within memory: sizes refused before allocating; out of memory: smaller batches, then CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_scribbleseg.config import PreprocessConfig, to_dict
from napari_scribbleseg.errors import DataError, OutOfMemoryWarning
from napari_scribbleseg.inference import Predictor, predict_stack


class OutOfMemoryAbove(torch.nn.Module):
    """Wraps a segmentor; raises ``torch.OutOfMemoryError`` for batches above ``max_batch``.

    The ``meta`` device stands in for an accelerator: any batch on it runs out of memory, so the only way
    to a result is the CPU fallback. ``calls`` records (batch size, device type) of each forward pass.
    """

    def __init__(self, inner: torch.nn.Module, max_batch: int) -> None:
        super().__init__()
        self.inner = inner
        self.depth = inner.depth
        self.max_batch = max_batch
        self.calls: list[tuple[int, str]] = []

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls.append((x.shape[0], x.device.type))
        if x.device.type == "meta" or x.shape[0] > self.max_batch:
            raise torch.OutOfMemoryError("fake: out of memory")
        out = self.inner(x)
        # a coarse "attention" map, to check that retried batches fill the maps too
        return {"logits": out["logits"], "attention": [torch.sigmoid(torch.nn.functional.avg_pool2d(x, 2))]}


def _stack(n: int = 5) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(0.0, 1.0, (n, 12, 10)).astype(np.float32)


def test_batch_is_halved_until_it_fits(threshold_segmentor):
    stack = _stack()
    expected, expected_att = predict_stack(
        OutOfMemoryAbove(threshold_segmentor, 99), stack, torch.device("cpu"), None, want_attention=True
    )
    net = OutOfMemoryAbove(threshold_segmentor, max_batch=2)
    done = []
    with pytest.warns(OutOfMemoryWarning) as record:
        probs, att = predict_stack(
            net,
            stack,
            torch.device("cpu"),
            None,
            want_attention=True,
            batch=8,
            progress=lambda d, t: done.append(d),
        )
    assert [str(w.message) for w in record] == [
        "out of memory on cpu: retrying with 4 slice(s) per batch",
        "out of memory on cpu: retrying with 2 slice(s) per batch",
    ]
    assert [b for b, _ in net.calls] == [5, 4, 2, 2, 1]
    assert done == [2, 4, 5]
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert att.keys() == expected_att.keys() == {"scale 1/2"}
    np.testing.assert_array_equal(att["scale 1/2"], expected_att["scale 1/2"])


def test_falls_back_to_the_cpu_and_moves_the_model_back(threshold_segmentor):
    stack = _stack()
    expected = predict_stack(threshold_segmentor, stack, torch.device("cpu"), None)
    net = OutOfMemoryAbove(threshold_segmentor, max_batch=99)
    with pytest.warns(OutOfMemoryWarning) as record:
        probs = predict_stack(net, stack, torch.device("meta"), None, batch=4)
    messages = [str(w.message) for w in record]
    assert messages[-1] == "out of memory on meta: predicting on the CPU instead (slower)"
    assert len(messages) == 3  # 4 -> 2 -> 1 slice, then the CPU
    assert [d for _, d in net.calls] == ["meta"] * 3 + ["cpu"] * 5
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert {p.device.type for p in net.parameters()} == {"meta"}  # back where the caller had it


def test_out_of_memory_on_the_cpu_with_one_slice_is_raised(threshold_segmentor):
    net = OutOfMemoryAbove(threshold_segmentor, max_batch=0)
    with pytest.warns(OutOfMemoryWarning), pytest.raises(torch.OutOfMemoryError):
        predict_stack(net, _stack(), torch.device("cpu"), None, batch=2)
    assert [b for b, _ in net.calls] == [2, 1]


def test_predictor_refuses_a_volume_too_large_at_the_model_spacing(threshold_segmentor, monkeypatch):
    monkeypatch.delenv("SCRIBBLESEG_MAX_VOXELS", raising=False)
    pre = {**to_dict(PreprocessConfig()), "target_spacing": 1e-4}  # a model trained at 0.1 um
    meta = {"class_names": ["bg", "a", "b"], "preprocess": pre, "train_config": {"precision": "fp32"}}
    predictor = Predictor(threshold_segmentor, meta, torch.device("cpu"))
    image = np.zeros((32, 32, 4), np.float32)
    with pytest.raises(
        DataError,
        match=r"^scan.nii.gz: resampling from spacing \(1.5, 1.5\) mm in-plane to the target spacing "
        r"0.0001 mm would make 4 x 480000 x 480000 = 921,600,000,000 voxels, over the limit of 536,870,912",
    ):
        predictor.segment(image, (1.5, 1.5, 6.0), source="scan.nii.gz")
    with pytest.raises(DataError, match=r"^the volume: resampling"):
        predictor.predict_proba(image, (1.5, 1.5, 6.0))
