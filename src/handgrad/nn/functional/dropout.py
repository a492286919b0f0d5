"""Dropout as functions: ``F.dropout`` (elements) and ``F.dropout1d/2d`` (whole channels)."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor, lift
from ...random import _generator


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Any = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (inverted
    dropout, so evaluation needs no rescaling)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = _generator(generator).random(input.shape) >= p
    return input * Tensor._wrap((keep / (1 - p)).astype(input.dtype))


def _channel_dropout(op: str, input: Tensor, p: float, training: bool, nd: int) -> Tensor:
    """Zero whole channels (all positions of (n, c) together) with probability p."""
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: probability has to be between 0 and 1, but got {p}")
    x = lift(input)
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input, got shape {x.shape}")
    if not training or p == 0:
        return x
    lead = x.shape[:-nd]
    keep = _generator(None).random(lead) >= p
    scale = (keep / (1 - p)) if p < 1 else keep * 0.0
    return x * Tensor._wrap(scale.reshape(lead + (1,) * nd).astype(x.dtype))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout1d", input, p, training, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout2d", input, p, training, 2)


__all__ = [
    "dropout", "dropout1d", "dropout2d",
]
