"""Distances between the rows of two sets of vectors, as torch's top-level functions:
``cdist`` (every row of x1 against every row of x2) and ``pdist`` (every pair of rows of one
set). Composed of a broadcast difference and ``norm`` over the last dim, so their gradients are
norm's: 0 at a zero difference (two equal rows), as torch's cdist and pdist give."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.reduce import norm

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:
    from .._tensor_base import TensorBase as Tensor


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: Any = None) -> Tensor:
    """out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p for x1 (..., P, M), x2 (..., R, M)
    (batch dims broadcast). ``compute_mode`` is accepted for torch's signature; torch's
    matrix-product shortcut for p = 2 (|a|^2 + |b|^2 - 2 a.b) cancels where rows are close, so
    the differences are always formed here: the same values to rounding, exact at equal rows."""
    a, b = lift(x1), lift(x2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"cdist: x1 {a.shape} and x2 {b.shape} must be at least 2-D with the same number of "
            f"columns (the last dim)"
        )
    if p < 0:
        raise RuntimeError(f"cdist: p must be >= 0, got {p}")
    return norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, -1)


def pdist(input: Any, p: float = 2.0) -> Tensor:
    """The distances ||x_i - x_j||_p of the rows i < j of x (N, M), in row-major order of the
    pairs (N (N - 1) / 2 values), as torch.pdist."""
    x = lift(input)
    if x.ndim != 2:
        raise RuntimeError(f"pdist: expected a 2-D input (N, M), got shape {x.shape}")
    if p < 0:
        raise RuntimeError(f"pdist: p must be >= 0, got {p}")
    i, j = np.triu_indices(x.shape[0], k=1)
    return norm(x[i] - x[j], p, -1)


__all__ = ["cdist", "pdist"]
