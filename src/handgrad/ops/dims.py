"""Dimension arguments: the one normalisation every operation with a ``dim`` uses."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np


def normalize_dims(op: str, dim: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` (an int, a sequence or None for all) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        n = builtins.max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
        if not -n <= d < n:
            raise IndexError(
                f"{op}: dim {d} is out of range for a tensor of {ndim} dimensions "
                f"(expected in [{-n}, {n - 1}])"
            )
        out.append(d % n if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} names the same dimension twice")
    return tuple(sorted(out)) if ndim else ()
