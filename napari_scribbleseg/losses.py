"""Losses of the scribble-supervised methods.

Conventions (as in MONAI): configuration in ``__init__`` or keyword arguments, tensors in the call,
shapes in the docstring. Targets use the training encoding of :mod:`napari_scribbleseg.labels`: class
indices with :data:`~napari_scribbleseg.labels.IGNORE` on pixels without annotation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .labels import IGNORE


def _check(logits: torch.Tensor, target: torch.Tensor) -> None:
    if (
        logits.ndim != 4
        or target.ndim != 3
        or logits.shape[0] != target.shape[0]
        or (logits.shape[2:] != target.shape[1:])
    ):
        raise ValueError(
            f"expected logits (B, C, H, W) and target (B, H, W), got {tuple(logits.shape)} and "
            f"{tuple(target.shape)}"
        )


def partial_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Partial cross-entropy: mean CE over annotated pixels only (Tang et al.; 003 Eq. 1; 001 Sec. IV-B).

    Parameters
    ----------
    logits
        (B, C, H, W) raw scores.
    target
        (B, H, W) int64 class indices, ``IGNORE`` where not annotated.
    class_weights
        Optional (C,) weights multiplying each class's contribution.

    Returns
    -------
    torch.Tensor
        Scalar; ``sum(w_y * CE) / n_annotated`` (0 with a gradient of 0 when nothing is annotated).
    """
    _check(logits, target)
    ce = F.cross_entropy(logits.float(), target, weight=class_weights, ignore_index=IGNORE, reduction="sum")
    n = (target != IGNORE).sum()
    return ce / n.clamp_min(1)


def wpce_weights(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class weights of the WPCE loss, ``w_i = 1 - n_i / n_tot`` over annotated pixels (001 Eq. 1).

    With a single annotated class the formula would give it weight 0 and silence the loss; we use 1 then.
    """
    labelled = target[target != IGNORE]
    counts = torch.bincount(labelled, minlength=n_classes).float()
    total = counts.sum()
    if total == 0 or int((counts > 0).sum()) < 2:
        return torch.ones(n_classes, device=target.device)
    return 1.0 - counts / total


def weighted_partial_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """WPCE of Valvano et al. (001) Eq. 1: partial CE with class weights ``1 - n_i / n_tot``.

    Shapes as in :func:`partial_cross_entropy`.
    """
    _check(logits, target)
    return partial_cross_entropy(logits, target, wpce_weights(target, logits.shape[1]))


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``V_LS(D) = 1/2 E[(D(y) - 1)^2] + 1/2 E[(D(S(x)) + 1)^2]`` (001 Eq. 2)."""
    return 0.5 * ((real_scores.float() - 1) ** 2).mean() + 0.5 * ((fake_scores.float() + 1) ** 2).mean()


def lsgan_discriminator_loss_targets(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Least-squares loss against per-sample targets in {+1 (real), -1 (fake)}.

    Equals :func:`lsgan_discriminator_loss` when the targets are +1 for real and -1 for fake samples; per
    sample targets are what label noise (001 Sec. III-B: 10% of labels flipped) needs.
    """
    return 0.5 * ((scores.float() - targets.float()) ** 2).mean()


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """``V_LS(S) = 1/2 E[(D(S(x)) - 1)^2]`` (001 Eq. 2)."""
    return 0.5 * ((fake_scores.float() - 1) ** 2).mean()


def masked_crf_loss(
    probs: torch.Tensor,
    image: torch.Tensor,
    mask: torch.Tensor,
    *,
    sigma_intensity: float = 0.15,
    sigma_xy: float = 6.0,
    radius: int = 2,
    downsample: int = 2,
) -> torch.Tensor:
    """Masked CRF loss of AttenScribble (003 Sec. 2.2, Eq. 3-5), computed at reduced resolution.

    ``l = 1/|Ω_U| Σ_{p∈Ω_U} Σ_{q∈Ω_U, 0<‖q-p‖∞<r} s(p,q) Σ_{i≠j} P_p^i P_q^j`` with a single Gaussian
    kernel on intensity and position, ``s(p,q) = exp(-|I_p-I_q|²/2σ_I² - ‖p-q‖²/2σ_xy²)`` (Eq. 5 with
    ``f_p = [I_p, x_p, y_p]``; the two features get their own σ, i.e. a scaled feature vector).

    Efficiency (deviation from a full-resolution window, as in the Gated CRF loss of Obukhov et al. that
    003 builds on): probabilities, intensities and the mask are average-pooled by ``downsample`` first and
    the window is ``(2 radius + 1)²`` at that resolution, so ``radius=2, downsample=2`` spans ±4 pixels of
    the input. We use ``Σ_{i≠j} P_p^i P_q^j = 1 - <P_p, P_q>`` (rows of P sum to 1) and loop over the
    ``2r(r+1)`` offsets of one half-window (pairs are symmetric), each a sliced product: no loop over
    pixels, memory linear in image size. ``sigma_xy`` is in input pixels.

    Parameters
    ----------
    probs
        (B, C, H, W) softmax probabilities.
    image
        (B, 1, H, W) normalised intensities.
    mask
        (B, H, W) or (B, 1, H, W): 1 on Ω_U (unannotated pixels inside the image), 0 elsewhere.
    sigma_intensity, sigma_xy
        Kernel widths on normalised intensity and on position (input pixels).
    radius
        Window radius at the reduced resolution (``‖q - p‖∞ <= radius``).
    downsample
        Average-pooling factor applied before the pairwise term.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if probs.ndim != 4 or image.shape[0] != probs.shape[0] or image.shape[-2:] != probs.shape[-2:]:
        raise ValueError(
            f"probs (B,C,H,W) and image (B,1,H,W) must match, got {tuple(probs.shape)}, {tuple(image.shape)}"
        )
    m = mask.float()
    if m.ndim == 3:
        m = m[:, None]
    p = probs.float()
    img = image.float()
    if downsample > 1:
        p = F.avg_pool2d(p, downsample)
        img = F.avg_pool2d(img, downsample)
        # a low-resolution pixel is in Ω_U only if all the pixels it averages are
        m = -F.max_pool2d(-m, downsample)
    sxy = sigma_xy / max(downsample, 1)
    h, w = p.shape[-2:]
    total = p.new_zeros(())
    for dy in range(0, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx <= 0:
                continue  # half window: (dy, dx) and (-dy, -dx) give the same pairs
            ya, yb = slice(0, h - dy), slice(dy, h)
            xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
            pa, pb = p[..., ya, xa], p[..., yb, xb]
            ia, ib = img[..., ya, xa], img[..., yb, xb]
            pair_mask = m[..., ya, xa] * m[..., yb, xb]
            kernel = torch.exp(
                -((ia - ib) ** 2) / (2 * sigma_intensity**2) - (dy * dy + dx * dx) / (2 * sxy**2)
            )
            disagreement = 1.0 - (pa * pb).sum(dim=1, keepdim=True)
            total = total + 2.0 * (kernel * pair_mask * disagreement).sum()
    return total / m.sum().clamp_min(1)


def soft_dice_loss(
    probs: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None, eps: float = 1e-5
) -> torch.Tensor:
    """1 - (weighted) mean soft Dice over classes on annotated pixels.

    Parameters
    ----------
    probs
        (B, C, H, W) probabilities.
    target
        (B, H, W) class indices with ``IGNORE`` for pixels to skip.
    class_weights
        Optional (C,) weights (normalised to sum 1).
    eps
        Smoothing of numerator and denominator.
    """
    valid = (target != IGNORE).unsqueeze(1).float()
    onehot = F.one_hot(target.clamp_min(0), probs.shape[1]).permute(0, 3, 1, 2).float() * valid
    p = probs.float() * valid
    inter = (p * onehot).sum(dim=(0, 2, 3))
    denom = p.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    dice = (2 * inter + eps) / (denom + eps)
    if class_weights is None:
        return 1.0 - dice.mean()
    w = class_weights.float() / class_weights.float().sum()
    return 1.0 - (w * dice).sum()


# -- AttenScribble (003 Sec. 2.4) -----------------------------------------------------------------------
def distance_decay_map(
    h: int, w: int, sigma: float, device: torch.device | str | None = None
) -> torch.Tensor:
    """The distance-decay map of 003 Sec. 2.4, ``M[p, q] = exp(-‖p - q‖² / 2σ²)``, positions row-major.

    Returns a dense (h·w, h·w) matrix (for tests and small grids; the loss evaluates it on a window only).
    """
    yy, xx = torch.meshgrid(
        torch.arange(h, device=device, dtype=torch.float32),
        torch.arange(w, device=device, dtype=torch.float32),
        indexing="ij",
    )
    pos = torch.stack([yy.flatten(), xx.flatten()], dim=1)
    d2 = (pos[:, None, :] - pos[None, :, :]).pow(2).sum(dim=-1)
    return torch.exp(-d2 / (2.0 * sigma**2))


def attentive_similarity(attention: torch.Tensor, weights: torch.Tensor, offset: float = 2.0) -> torch.Tensor:
    """Attentive similarity of 003 Sec. 2.4, ``S = sigmoid(Conv¹ˣ¹(A + Aᵀ))``, as a dense matrix.

    The 1 × 1 convolution is ``N · Σ_m weights_m Ā_m - offset`` (see
    :class:`~napari_scribbleseg.models.attention.AttentiveSimilarity` for why gain and offset are fixed).

    Parameters
    ----------
    attention
        (B, M, N, N) row-softmaxed attention of M heads/layers over N positions.
    weights
        (M,) mixing weights.
    offset
        Subtracted before the sigmoid (uniform attention gives ``sigmoid(2 - offset)``).

    Returns
    -------
    torch.Tensor
        (B, N, N), symmetric, in (0, 1).
    """
    if attention.ndim != 4 or attention.shape[-1] != attention.shape[-2]:
        raise ValueError(f"expected attention (B, M, N, N), got {tuple(attention.shape)}")
    sym = attention + attention.transpose(-1, -2)
    mixed = (weights.to(sym.dtype)[None, :, None, None] * sym).sum(dim=1)
    return torch.sigmoid(attention.shape[-1] * mixed - offset)


def _window_pairs(h: int, w: int, radius: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flat indices (p, q) of every pair with ``0 < ‖q - p‖∞ <= radius``, one order of each, and ‖p-q‖²."""
    yy, xx = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    ps, qs, d2 = [], [], []
    for dy in range(0, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx <= 0:
                continue  # half window: (dy, dx) and (-dy, -dx) give the same pairs
            ok = (yy + dy < h) & (xx + dx >= 0) & (xx + dx < w)
            p = (yy * w + xx)[ok]
            ps.append(p)
            qs.append(p + dy * w + dx)
            d2.append(torch.full_like(p, dy * dy + dx * dx))
    if not ps:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, empty
    return torch.cat(ps), torch.cat(qs), torch.cat(d2)


def attentive_similarity_loss(
    probs: torch.Tensor,
    attention: torch.Tensor,
    weights: torch.Tensor,
    mask: torch.Tensor,
    *,
    sigma: float = 2.0,
    radius: int = 3,
    offset: float = 2.0,
) -> torch.Tensor:
    """Attentive similarity loss of AttenScribble (003 Eq. 6) at the attention resolution.

    ``l = 1/|Ω_U| Σ_{p∈Ω_U} Σ_{q∈Ω_U, 0<‖q-p‖∞<=radius} M[p,q] S[p,q] Σ_{i≠j} P̃_p^i P̃_q^j`` with ``S`` of
    :func:`attentive_similarity` and ``M`` of :func:`distance_decay_map`. Gradients reach both the
    prediction and the attention (003: "a joint optimization of P and S").

    ``S`` is only evaluated on the window pairs, gathered from the attention (no N × N similarity matrix),
    and ``Σ_{i≠j} P̃_p^i P̃_q^j = 1 - <P̃_p, P̃_q>``; pairs are symmetric, so one half-window counts twice.

    Parameters
    ----------
    probs
        (B, C, h, w) softmax probabilities at the attention resolution (``P̃``).
    attention
        (B, M, h·w, h·w) row-softmaxed attention of the self-attention module.
    weights
        (M,) mixing weights of the heads/layers.
    mask
        (B, h, w): 1 on Ω_U (unannotated pixels inside the image) at the attention resolution.
    sigma, radius
        σ of ``M`` and window radius, in attention-grid pixels.
    offset
        See :func:`attentive_similarity`.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    b, c, h, w = probs.shape
    n = h * w
    if attention.shape[0] != b or attention.shape[-2:] != (n, n):
        raise ValueError(
            f"attention {tuple(attention.shape)} does not match probabilities {tuple(probs.shape)}: "
            f"expected (B, M, {n}, {n})"
        )
    m = mask.reshape(b, n).float()
    p_idx, q_idx, d2 = _window_pairs(h, w, radius, probs.device)
    k = p_idx.numel()
    # A[p, q] and A[q, p] in one gather (one sparse gradient instead of two N x N ones)
    both = attention[:, :, torch.cat([p_idx, q_idx]), torch.cat([q_idx, p_idx])].float()  # (B, M, 2K)
    mixed = (weights.float()[None, :, None] * (both[..., :k] + both[..., k:])).sum(dim=1)
    s = torch.sigmoid(n * mixed - offset)  # (B, K)
    decay = torch.exp(-d2.float() / (2.0 * sigma**2))
    pf = probs.float().reshape(b, c, n)
    disagreement = 1.0 - (pf[:, :, p_idx] * pf[:, :, q_idx]).sum(dim=1)
    pair_mask = m[:, p_idx] * m[:, q_idx]
    total = 2.0 * (decay[None] * s * pair_mask * disagreement).sum()
    return total / m.sum().clamp_min(1)


# -- size constraints (004 Sec. 3) -----------------------------------------------------------------------
def size_penalty(size: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """``C(V)`` of 004 Eq. 3, elementwise: ``(V-a)²`` if ``V < a``, ``(V-b)²`` if ``V > b``, else 0.

    ``upper = inf`` leaves the size unbounded above; ``a = b = 0`` is the absence constraint of Eq. 5.
    """
    return F.relu(lower - size).pow(2) + F.relu(size - upper).pow(2)


def size_constraint_loss(
    probs: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Size penalty of 004 Eq. 2-3 per image, ``Σ_c C(V_c) / |Ω|``, averaged over the batch.

    ``V_c = Σ_{p∈Ω} S_p^c`` is the soft size of class ``c`` (004 Eq. 2). The division by the number of
    pixels ``|Ω|`` follows the authors' released code (``loss / (w·h)``); with it 004's λ = 10⁻² is
    reasonable next to a *mean* partial cross-entropy (the text's Eq. 2 uses unnormalised sums).

    Parameters
    ----------
    probs
        (B, C, H, W) softmax probabilities.
    lower, upper
        (B, C) bounds ``a``, ``b`` in pixels (``upper`` may be ``inf``; ``lower = 0`` for no lower bound).
    valid
        Optional (B, H, W) mask of the pixels of Ω (e.g. without padding).

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    p = probs.float()
    if valid is not None:
        v = valid.float()
        p = p * v[:, None]
        n_pix = v.sum(dim=(-2, -1))
    else:
        n_pix = torch.full((p.shape[0],), float(p.shape[-2] * p.shape[-1]), device=p.device)
    size = p.sum(dim=(-2, -1))
    if lower.shape != size.shape or upper.shape != size.shape:
        raise ValueError(
            f"bounds {tuple(lower.shape)}, {tuple(upper.shape)} must be (B, C) = {tuple(size.shape)}"
        )
    penalty = size_penalty(size, lower.float(), upper.float()).sum(dim=1)
    return (penalty / n_pix.clamp_min(1)).mean()


# -- ISDNet (002 Sec. 2) --------------------------------------------------------------------------------
def class_weighted_dice_loss(
    probs: torch.Tensor,
    target: torch.Tensor,
    class_weights: torch.Tensor | None = None,
    *,
    per_sample: bool = False,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Class-weighted multi-class Dice loss of ISDNet (002 Eq. 2) on the pixels where target != IGNORE.

    ``L = 1 - 2 Σ_c w_c Σ_p Ŷ_p^c Y_p^c / Σ_c w_c Σ_p (Ŷ_p^c + Y_p^c)`` (the weights inside both sums, as in
    a generalised Dice; a weight outside each class ratio would cancel). Pixels with ``IGNORE`` are left
    out, which makes it a *partial* Dice on scribbles and the confident-region Dice of 002 Eq. 5 when the
    unconfident pixels are set to ``IGNORE``.

    Parameters
    ----------
    probs
        (B, C, H, W) probabilities.
    target
        (B, H, W) class indices with ``IGNORE``.
    class_weights
        (C,) weights ``w_c`` (default all 1).
    per_sample
        Return one loss per image (B,) instead of one over the batch.
    eps
        Smoothing; an image without valid pixels has loss 0.
    """
    _check(probs, target)
    valid = (target != IGNORE).unsqueeze(1).float()
    onehot = F.one_hot(target.clamp_min(0), probs.shape[1]).permute(0, 3, 1, 2).float() * valid
    p = probs.float() * valid
    dims = (2, 3) if per_sample else (0, 2, 3)
    inter = (p * onehot).sum(dim=dims)
    denom = (p + onehot).sum(dim=dims)
    w = torch.ones(probs.shape[1], device=probs.device) if class_weights is None else class_weights.float()
    return 1.0 - (2.0 * (w * inter).sum(-1) + eps) / ((w * denom).sum(-1) + eps)
