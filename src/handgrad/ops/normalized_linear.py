"""The normalized linear layer's primitive: y_i = (w_i . x + b_i) / ||w_i||. Used in exercise
002-a9.

Fused because composing it (a linear map, a row norm, a division) takes six nodes per call. The
weight and bias gradients are written once, in ``weight_and_bias_grads``, for arrays and tensors
alike: the backward calls it with the batch dims flattened into one (the batch gradient), and
``handgrad.func.per_sample_grad`` calls it with one leading index per example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd.function import Function
from .linalg import linear_arguments

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def weight_and_bias_grads(s: Any, x: Any, y: Any, w: Any, r: Any) -> tuple[Any, Any]:
    """dL/dW = s^T x - (sum_p s * y)[:, None] W / r[:, None] and dL/db = sum_p s, for s = g / r
    (..., P, m), x (..., P, n), y (..., P, m), W (m, n), r = ||W_rows|| (m,): the positions P are
    summed, every leading index gets its own gradient ((..., m, n) and (..., m)). NumPy arrays or
    handgrad tensors (then differentiable)."""
    return s.mT @ x - ((s * y).sum(-2) / r)[..., None] * w, s.sum(-2)


class NormalizedLinearFn(Function):
    r"""y_i = (w_i . x + b_i) / ||w_i|| for x (..., n), W (m, n) with rows w_i, b (m,).

    Derivation. Write r_i = ||w_i|| and u_i = w_i . x + b_i, so y_i = u_i / r_i, and
    g_i = dL/dy_i. By the total derivative dL/dθ = sum_i g_i dy_i/dθ:

    - bias: y_i depends on b_i only, dy_i/db_i = 1 / r_i, so **dL/db_i = g_i / r_i**.
    - input: dy_i/dx_j = w_ij / r_i, so **dL/dx_j = sum_i g_i w_ij / r_i**, i.e.
      dL/dx = (g / r) W, a matrix product.
    - weights: y_k does not depend on w_i for k != i, and with d r_i / d w_i = w_i / r_i,
      dy_i/dw_i = x / r_i - u_i w_i / r_i^3 = (x - y_i w_i / r_i) / r_i, so
      **dL/dw_i = (g_i / r_i) (x - y_i w_i / r_i)**: only the term k = i survives.

    With leading batch dimensions every formula is summed over them: with s = g / r (..., m),
    dL/dx = s W, dL/db = sum_batch s, dL/dW = s^T x - (sum_batch s * y)[:, None] W / r[:, None]
    (``weight_and_bias_grads``). Shapes: dL/dx like x, dL/dW (m, n), dL/db (m,).

    The backward is written with handgrad operations (``output()`` for y, and r recomputed from
    W), so it is itself differentiable. A row with w_i = 0 has no direction: y_i is inf/nan there,
    as the formula says.
    """

    name = "normalized_linear"
    uses_output = True

    def forward(self, x, w, b=None):
        r = np.sqrt((w * w).sum(axis=1))
        u = np.matmul(x, w.T)
        if b is not None:
            u += b
        return u / r

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        has_b = len(self.inputs) == 3
        nx, nw = self.needs_input_grad[:2]
        nb = has_b and self.needs_input_grad[2]
        r = ((w * w).sum(1)).sqrt()  # (m,)
        s = g / r  # (..., m)
        gx = s @ w if nx else None
        gw = gb = None
        if nw or nb:
            flat = (-1, s.shape[-1])  # every batch dim is a position P of the one gradient
            y = self.output()
            gw, gb = weight_and_bias_grads(
                s.reshape(flat), x.reshape(-1, x.shape[-1]), y.reshape(flat), w, r
            )
            gw, gb = (gw if nw else None), (gb if nb else None)
        return (gx, gw, gb) if has_b else (gx, gw)


def normalized_linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = (x W^T + b) / ||W_rows||: ``F.linear`` with every output unit divided by the norm of
    its weight row."""
    return NormalizedLinearFn.apply(*linear_arguments("normalized_linear", input, weight, bias))


__all__ = ["NormalizedLinearFn", "normalized_linear"]
