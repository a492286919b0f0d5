"""``handgrad.linalg``: the part of ``torch.linalg`` handgrad has. ``inv``, ``det`` and ``solve``
are primitives with hand-derived backward passes (see ``handgrad.ops.linalg``); the norms are
compositions."""

from __future__ import annotations

from typing import Any

from ._tensor import Tensor, lift
from .ops.linalg import det, solve
from .ops.linalg import inverse as inv
from .ops.reduce import norm as _norm


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements when None); ord = inf is the max."""
    return _norm(lift(x), ord, dim, keepdim)


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False
) -> Tensor:
    """The Frobenius norm of the matrices in the last two dims (other orders are not here)."""
    if ord != "fro":
        raise NotImplementedError(f"matrix_norm: ord={ord!r} (only 'fro' is available)")
    return _norm(lift(A), 2, dim, keepdim)


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The vector 2-norm of all elements by default; ``vector_norm`` with ``ord``."""
    return _norm(lift(A), 2 if ord is None else ord, dim, keepdim)


__all__ = ["inv", "det", "solve", "vector_norm", "matrix_norm", "norm"]
