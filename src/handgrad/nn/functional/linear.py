"""``F.linear`` (a primitive in ``handgrad.ops.linalg``) and ``F.bilinear``."""

from __future__ import annotations

from ... import composed
from ..._tensor import Tensor, lift
from ...ops.linalg import linear


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k for weight (out, in1, in2)."""
    a, b, w = lift(input1), lift(input2), lift(weight)
    if w.ndim != 3 or a.shape[-1] != w.shape[1] or b.shape[-1] != w.shape[2]:
        raise RuntimeError(f"bilinear: inputs {a.shape} and {b.shape} do not fit weight {w.shape}")
    y = composed.einsum("...i,kij,...j->...k", a, w, b)
    return y if bias is None else y + lift(bias, y)


__all__ = [
    "linear",
    "bilinear",
]
