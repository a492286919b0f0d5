"""Distances as functions: ``F.cosine_similarity`` and ``F.pairwise_distance``."""

from __future__ import annotations

from ... import ops
from ...tensor import Tensor, lift


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / max(||x1|| ||x2||, eps) along ``dim`` (inputs broadcast)."""
    a, b = lift(x1), lift(x2)
    na, nb = ops.norm(a, 2, dim), ops.norm(b, 2, dim)
    return (a * b).sum(dim) / ops.clamp(na * nb, min=eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (eps keeps the gradient finite at x1 = x2)."""
    a, b = lift(x1), lift(x2)
    return ops.norm(a - b + eps, p, -1, keepdim)


__all__ = [
    "cosine_similarity", "pairwise_distance",
]
