"""Dropout as functions: ``F.dropout`` (elements) and ``F.dropout1d/2d`` (whole channels)."""

from __future__ import annotations

import warnings
from typing import Any

from ..._tensor import Tensor, lift
from ...random import _generator


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Any = None,
) -> Tensor:
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


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    return _channel_dropout("dropout1d", input, p, training, 1)


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole (n, c) channels of (N, C, H, W) with probability p; torch 2.13's rules for
    other ranks: a 3-D input is taken as (N, C, L) (1-D channel dropout, with a warning that
    this will change), any other rank warns and drops each (n, c) slice (so a 2-D input gets
    element dropout), and fewer than 2 dims is an error (when training)."""
    x = lift(input)
    if x.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout("dropout2d", x, p, training)


def _feature_dropout(op: str, x: Tensor, p: float, training: bool) -> Tensor:
    """torch's feature_dropout: one keep/drop draw per (n, c), shared along the other dims."""
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training:
        return x
    if x.ndim < 2:
        raise RuntimeError(
            f"{op}: Feature dropout requires at least 2 dimensions in the input, "
            f"got shape {x.shape}"
        )
    if p == 0:
        return x
    lead = x.shape[:2]
    keep = _generator(None).random(lead) >= p
    scale = (keep / (1 - p)) if p < 1 else keep * 0.0
    return x * Tensor._wrap(scale.reshape(lead + (1,) * (x.ndim - 2)).astype(x.dtype))


__all__ = [
    "dropout",
    "dropout1d",
    "dropout2d",
]
