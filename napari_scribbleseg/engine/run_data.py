"""What a training run learns from: the prepared volumes, the validation split and the patch samplers.

Also the checks on the annotations that do not stop training but likely spoil it (:func:`annotation_notes`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import PreprocessConfig, TrainConfig
from ..data.dataset import Case, MaskSampler, PatchSampler, PreparedCase, prepare_case
from ..errors import ConfigError, DataError
from ..labels import IGNORE
from .methods.base import StepData
from .validation import split_validation


@dataclass
class RunData:
    """The data of a run, at the run's in-plane spacing.

    Attributes
    ----------
    prepared
        Every training case, normalised and sliced (indices as in the trainer's ``cases``).
    train_ids, val_ids
        Indices into ``prepared`` of the training and validation volumes.
    sampler
        Training patches from the annotated regions of the training volumes.
    mask_sampler
        Unpaired masks (adversarial shape prior), or ``None``.
    unlabeled_sampler
        Patches of unlabeled images (semi-supervised terms), or ``None``.
    info
        What the set-up chose or did that the user should know (shown, not warnings).
    """

    prepared: list[PreparedCase]
    train_ids: list[int]
    val_ids: list[int]
    sampler: PatchSampler
    mask_sampler: MaskSampler | None
    unlabeled_sampler: PatchSampler | None
    info: tuple[str, ...] = ()


def check_training_cases(cases: Sequence[Case], n_classes: int) -> list[Case]:
    """``cases`` as a list, after checking they can train: some volume, each valid, some annotation.

    Raises
    ------
    DataError
        No volume, a volume whose labels do not fit ``n_classes``, or no scribbles (nor dense mask) at all.
    """
    cases = list(cases)
    if not cases:
        raise DataError("no training volume given")
    for c in cases:
        c.validate(n_classes)
    if not any(c.scribbles or c.mask is not None for c in cases):
        raise DataError("none of the training volumes has scribbles")
    return cases


def check_extra_cases(
    unpaired: Sequence[Case],
    unlabeled: Sequence[Case],
    n_classes: int,
    method_cls: Any,
    method: str,
    pseudo_prior: bool = False,
) -> None:
    """Check the unpaired masks and unlabeled images, and that ``method`` gets the masks it needs.

    ``pseudo_prior``: the run propagates the scribbles into pseudo-labels, which stand in for missing
    unpaired masks (:func:`prepare_run`).

    Raises
    ------
    DataError
        An unpaired case without a mask, or labels that do not fit ``n_classes``.
    ConfigError
        ``method_cls`` learns a shape prior from unpaired masks, needs them, none were given and no
        pseudo-labels stand in for them.
    """
    for m in unpaired:
        if m.mask is None:
            raise DataError(f"{m.name}: an unpaired mask case needs a mask")
        m.validate(n_classes)
    for u in unlabeled:
        u.validate(n_classes)
    if needs_unpaired_masks(method_cls) and not unpaired and not pseudo_prior:
        raise ConfigError(
            f"method {method!r} learns a shape prior from unpaired masks: give some with "
            "--masks DIR (CLI) or a mask layer (napari), or turn pseudo-labels on (the scribbles "
            "propagated then serve as the masks)"
        )


def needs_unpaired_masks(method_cls: Any) -> bool:
    """Whether ``method_cls`` cannot train without real masks for its shape prior."""
    return bool(method_cls.uses_unpaired_masks and not method_cls.unpaired_masks_optional)


def prepare_run(
    cases: Sequence[Case],
    unpaired: Sequence[Case],
    unlabeled: Sequence[Case],
    pre: PreprocessConfig,
    target_spacing: float,
    config: TrainConfig,
    n_classes: int,
    prior_from_pseudo: bool = False,
    convex: Sequence[int] = (),
) -> RunData:
    """Slice every volume at ``target_spacing``, split off validation volumes and build the samplers.

    The split follows ``config.val_fraction`` and ``config.seed`` (:func:`.validation.split_validation`).
    With ``prior_from_pseudo`` and no ``unpaired`` masks, the pseudo-labels of the training volumes are
    the unpaired masks: a shape prior for a user who has only scribbles (#9 point 3). They are propagated
    from the scribbles of the very images the segmentor sees, so the prior is weaker than the paper's
    masks of other patients (001 Sec. III), but it needs nothing the user did not draw. ``convex``: the
    structures whose pseudo-labels are filled to their convex hull per slice (:func:`pseudo_labels`).

    Raises
    ------
    ConfigError
        ``prior_from_pseudo`` without unpaired masks and no training volume's scribbles could be propagated.
    """
    val_ids = split_validation(cases, config.val_fraction, config.seed)
    train_ids = [i for i in range(len(cases)) if i not in val_ids]
    info: tuple[str, ...] = ()
    pseudo: dict[int, np.ndarray] = {}
    if pre.pseudo_labels:
        t0 = time.monotonic()
        pseudo = pseudo_labels(cases, train_ids, pre, n_classes, convex)
        info = (
            f"pseudo-labels: the scribbles of {len(pseudo)} of {len(train_ids)} training volumes propagated "
            f"in {time.monotonic() - t0:.0f} s (--pseudo-labels false turns them off)",
        )
    prep = [prepare_case(c, pre, target_spacing, pseudo.get(i)) for i, c in enumerate(cases)]
    sampler = PatchSampler([prep[i] for i in train_ids], pre, annotated_only=True)
    mask_sampler = (
        MaskSampler([prepare_case(m, pre, target_spacing) for m in unpaired], pre) if unpaired else None
    )
    if prior_from_pseudo and not unpaired:
        if not pseudo:
            raise ConfigError(
                "no unpaired masks were given and no training volume's scribbles could be propagated into "
                "pseudo-labels to stand in for them (each volume needs background and a structure "
                "scribbled): give masks with --masks DIR (CLI) or a mask layer (napari)"
            )
        mask_sampler = MaskSampler([prep[i] for i in sorted(pseudo)], pre)
        info += (
            f"shape prior: no unpaired masks given, so the pseudo-labels of {len(pseudo)} volume(s) serve "
            "as the discriminator's real masks (--masks DIR gives real ones)",
        )
    unlabeled_sampler = (
        PatchSampler([prepare_case(u, pre, target_spacing) for u in unlabeled], pre, annotated_only=False)
        if unlabeled
        else None
    )
    return RunData(prep, train_ids, val_ids, sampler, mask_sampler, unlabeled_sampler, info)


#: Region size (voxels) the random walker solves for pseudo-labels: a coarser in-plane grid above it keeps
#: the propagation of a 120-volume cohort near a minute on 2 CPU cores (0.35 s a cine-MRI volume against
#: 1.9 s at full resolution) and, interpolated back, scores as well (acdc-dev training patients: 0.810
#: mean Dice against 0.807).
PSEUDO_LABEL_VOXELS = 150_000


def pseudo_labels(
    cases: Sequence[Case],
    ids: Sequence[int],
    pre: PreprocessConfig,
    n_classes: int,
    convex: Sequence[int] = (),
) -> dict[int, np.ndarray]:
    """Dense pseudo-labels (class indices) of the scribbled ``cases[ids]``: their scribbles propagated.

    The ``convex`` structures are filled to their convex hull per slice where nobody scribbled
    (:func:`~napari_scribbleseg.inference.postprocess.fill_convex`): the walk follows intensity edges and
    leaves a cavity's papillary muscles out. Voxels less probable than ``pre.pseudo_confidence`` are
    ``IGNORE`` (not annotated).

    Volumes with a dense mask need none; a volume whose scribbles cannot be propagated (no background
    or no structure scribbled) gets none and trains on its scribbles alone.
    """
    from ..data.slices import choose_slice_axis
    from ..inference.postprocess import fill_convex
    from ..scribbles.propagate import merge_annotators, propagate_scribbles

    out = {}
    for i in ids:
        c = cases[i]
        if c.mask is not None or not c.scribbles:
            continue
        axis = choose_slice_axis(c.spacing, pre.slice_axis)
        try:
            probs = propagate_scribbles(
                c.image,
                c.scribbles,
                n_classes,
                slice_axis=axis,
                spacing=c.spacing,
                max_voxels=PSEUDO_LABEL_VOXELS,
            )
        except DataError:
            continue
        labels = probs.argmax(0).astype(np.int8)
        if convex:
            labels = fill_convex(labels, convex, axis, locked=merge_annotators(c.scribbles) > 0)
        if pre.pseudo_confidence > 0:
            labels[probs.max(0) < pre.pseudo_confidence] = IGNORE
        out[i] = labels
    return out


def annotation_notes(
    prepared: Sequence[PreparedCase],
    class_names: Sequence[str],
    method: str,
    learns_unscribbled_background: bool,
) -> tuple[str, ...]:
    """Warnings about the training annotations of ``prepared``: classes nobody annotated.

    Shown to the user when training starts (:class:`~.events.Started`): without background scribbles most
    methods label most of the image as structures, and a structure nobody scribbled cannot be learnt.
    """
    n_classes = len(class_names)
    counts = np.zeros(n_classes + 1, np.int64)
    for pc in prepared:
        values = pc.targets.ravel().astype(np.int16) + 1  # IGNORE -> 0, class k -> k + 1
        counts += np.bincount(values, minlength=n_classes + 1)[: n_classes + 1]
    notes = []
    if counts[1] == 0 and not learns_unscribbled_background:
        notes.append(
            f"nobody scribbled {class_names[0]}: with {method} the network never learns where a "
            "structure ends and labels most of the image as structures (on the cardiac sample without "
            "background scribbles, pce scored 0.13 mean Dice). Scribble some background around the "
            "structures, or train size, whose size bounds make the rest background (0.80)"
        )
    missing = [class_names[k] for k in range(1, n_classes) if counts[k + 1] == 0]
    if missing:
        notes.append(
            f"nobody annotated {', '.join(missing)}: the network cannot learn "
            f"{'it' if len(missing) == 1 else 'them'}; scribble each structure on at least one slice"
        )
    return tuple(notes)


def step_data(
    rng: np.random.Generator,
    step: int,
    prepared: Sequence[PreparedCase],
    train_ids: Sequence[int],
    samplers: tuple[Any, Any],
    device: Any,
) -> StepData:
    """What a method's ``train_step`` may draw on besides its batch (unpaired masks, unlabeled images)."""
    mask_sampler, unlabeled_sampler = samplers
    masks = mask_sampler.masks if mask_sampler is not None else ()
    data = StepData(rng, step, cases=[prepared[i] for i in train_ids], reference_masks=masks)
    if mask_sampler is not None:
        data.unpaired_masks = lambda n: mask_sampler.sample(n, rng, device)
    if unlabeled_sampler is not None:
        data.unlabeled = lambda n: unlabeled_sampler.sample(n, rng, device).image
    return data
