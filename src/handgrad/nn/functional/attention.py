"""``F.scaled_dot_product_attention`` (Vaswani et al. 2017) with torch's arguments and mask
conventions.

    attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V

for queries Q (L, d), keys K (S, d), values V (S, d_v) and an additive mask M (0 where a query
may look, -inf where not). With P the attention weights and G the gradient of the output,
dL/dV = P^T G, dL/dP = G V^T, dL/dS = P (dL/dP - rowsum(P dL/dP)) for the scores
S = Q K^T / sqrt(d), and dL/dQ = dL/dS K / sqrt(d), dL/dK = dL/dS^T Q / sqrt(d). Without dropout
and with a mask that takes no gradient, on non-empty inputs of one float dtype and the same batch
dims, this is one primitive with that backward written out (``ops.attention``); otherwise it is
composed of matmul, softmax and a product, whose own derivatives give the same formulas. As
torch's (``_safe_softmax``, since torch 2.5), a query whose scores are all -inf (a fully masked
row) attends to nothing: its output and the gradients through it are 0, not NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._tensor import Tensor, lift
from ...ops.attention import ScaledDotProductAttention, fused_attention_fits, safe_softmax
from .dropout import dropout


def _additive(mask: Any, like: Tensor, allowed_when_true: bool) -> Tensor:
    """A boolean mask (True = may attend, or True = masked out) or a float mask to add."""
    m = lift(mask)
    if m._data.dtype == np.bool_:
        keep = m._data if allowed_when_true else ~m._data
        return Tensor._wrap(np.where(keep, 0.0, -np.inf).astype(like.dtype))
    return m.to(like.dtype)


def _constant_mask(mask: Tensor, scores_shape: tuple) -> bool:
    """Whether an additive mask can go into the fused primitive: it takes no gradient, has two
    dims or more (the primitive transposes its last two) and adding it leaves the scores' shape."""
    if mask._requires_grad or mask.ndim < 2:
        return False
    try:
        return np.broadcast_shapes(mask.shape, scores_shape) == tuple(scores_shape)
    except ValueError:  # not broadcastable: the composed sum raises torch's error
        return False


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q K^T * scale + mask) V over the last two dims (any leading batch dims);
    ``attn_mask`` boolean (True = may attend) or additive; ``is_causal`` lets query i see keys
    j <= i; scale defaults to 1 / sqrt(d)."""
    q, k, v = lift(query), lift(key), lift(value)
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and "
            f"value {v.shape} do not fit (need q[-1] == k[-1], k[-2] == v[-2])"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if is_causal:
        lq, lk = q.shape[-2], k.shape[-2]
        attn_mask = Tensor._wrap(np.tril(np.ones((lq, lk), bool)))
    if not dropout_p and fused_attention_fits(q, k, v):
        mask = None if attn_mask is None else _additive(attn_mask, q, allowed_when_true=True)
        if mask is None or _constant_mask(mask, q.shape[:-1] + (k.shape[-2],)):
            return ScaledDotProductAttention.apply(
                q, k, v, scale=s, mask=None if mask is None else mask._data
            )
    scores = (q @ k.mT) * s
    if attn_mask is not None:
        scores = scores + _additive(attn_mask, scores, allowed_when_true=True)
    weights = safe_softmax(scores)  # torch's _safe_softmax: a row of -inf gives weights 0
    if dropout_p:
        weights = dropout(weights, dropout_p, True)
    return weights @ v


__all__ = [
    "scaled_dot_product_attention",
]
