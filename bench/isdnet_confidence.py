"""Diagnostic: what ISDNet's confidence network D says after a short training on the cardiac sample.

Prints the losses every 50 steps, then the quantiles of D's confidence map on a training batch and the
fraction of pixels above T_semi (the pixels 002's semi-supervised loss uses). A D that separates one-hot
from softmax maps by softness alone drives the confidence to 0 everywhere.

    python bench/isdnet_confidence.py --steps 300 --opt disc_lr_scale=1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from napari_scribbleseg import io
from napari_scribbleseg.config import PreprocessConfig, TrainConfig
from napari_scribbleseg.data.dataset import Case
from napari_scribbleseg.engine import events as ev
from napari_scribbleseg.engine.trainer import Trainer

DATA = Path(__file__).parent / "data" / "cardiac"


def load(data: Path) -> tuple[list[Case], list[Case]]:
    cases, unpaired = [], []
    for f in sorted((data / "train/images").glob("*.nii.gz")):
        img = io.read_image(f)
        scr = io.read_labels(data / "train/scribbles" / f.name, kind="scribbles")
        cases.append(Case(img.data, img.spacing, [np.asarray(scr.data)], name=f.name))
    for f in sorted((data / "unpaired_masks").glob("*.nii.gz")):
        m = io.read_labels(f, kind="mask")
        unpaired.append(Case(np.zeros(m.data.shape, np.float32), m.spacing, mask=np.asarray(m.data)))
    return cases, unpaired


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--opt", action="append", default=[], help="isdnet option KEY=VALUE")
    p.add_argument("--data", default=str(DATA))
    args = p.parse_args()
    opts = {k: float(v) for k, v in (o.split("=", 1) for o in args.opt)}
    cases, unpaired = load(Path(args.data))
    cfg = TrainConfig(method="isdnet", max_steps=args.steps, device="cpu", preview_every=0, seed=0)
    trainer = Trainer(cases, ["background", "RV", "MYO", "LV"], cfg, opts, PreprocessConfig(), unpaired)
    for e in trainer.fit():
        if isinstance(e, ev.Progress) and (e.step % 50 == 0 or e.step == 1):
            print(e.step, {k: round(v, 4) for k, v in e.losses.items()}, flush=True)
    method = trainer.method
    # as in a training step (train mode): what L_semi's threshold sees
    batch = trainer.sampler.sample(cfg.batch_size, trainer.rng, trainer.device)
    with torch.no_grad():
        probs = torch.softmax(method.forward(batch.image)["logits"].float(), dim=1)
        conf = torch.sigmoid(method.confidence(probs).float()[:, 0]).flatten()
    qs = torch.quantile(conf, torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95]))
    thr = method.config.semi_threshold
    print("confidence quantiles 5/25/50/75/95 %:", [round(float(q), 3) for q in qs])
    print(f"fraction above T_semi={thr}: {float((conf > thr).float().mean()):.3f}")


if __name__ == "__main__":
    main()
