"""Attentive similarity loss of AttenScribble (003 Sec. 2.4, Eq. 6) and its building blocks."""

from __future__ import annotations

import torch


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
