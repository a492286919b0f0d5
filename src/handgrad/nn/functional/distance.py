"""Distances as functions: ``F.cosine_similarity`` and ``F.pairwise_distance``."""

from __future__ import annotations

from ... import composed, ops
from ..._tensor import Tensor, lift


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim`` (inputs broadcast).

    PyTorch's form: each input is divided by its own norm first (the result stays in [-1, 1],
    no product of two norms to overflow or underflow), and the clamp to eps acts on the value
    only: the gradient flows through the norm as if unclamped (torch clamps it under no_grad),
    and the norm's gradient is 0 at a zero vector."""
    a, b = composed.broadcast_tensors(lift(x1), lift(x2))
    return ((a / _clamped_norm(a, dim, eps)) * (b / _clamped_norm(b, dim, eps))).sum(dim)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    n = ops.norm(x, 2, dim, keepdim=True)
    # the value max(n, eps) with the gradient of n: n - n.detach() is 0 (n is finite there)
    return ops.where(n < eps, n - n.detach() + eps, n)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (eps keeps the gradient finite at x1 = x2)."""
    a, b = lift(x1), lift(x2)
    return ops.norm(a - b + eps, p, -1, keepdim)


__all__ = [
    "cosine_similarity",
    "pairwise_distance",
]
