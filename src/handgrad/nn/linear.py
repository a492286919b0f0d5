"""Affine layers: ``Identity``, ``Linear`` and the normalized linear layer of problem set 002
(Assignment 9), whose backward is derived by hand below."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..autograd import Function
from ..tensor import Tensor, get_default_dtype, lift
from . import init
from .functional.linear import bilinear
from .module import Module, Parameter


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features).

    Initialised as in PyTorch: W ~ U(-1/sqrt(in), 1/sqrt(in)) (``kaiming_uniform_`` with
    a = sqrt(5)) and b ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a non-negative int, "
                                 f"got {v!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return ops.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class NormalizedLinearFn(Function):
    r"""y_i = (w_i . x + b_i) / ||w_i|| for x (..., n), W (m, n) with rows w_i, b (m,).

    Derivation (problem set 002, Assignment 9). Write r_i = ||w_i|| and u_i = w_i . x + b_i, so
    y_i = u_i / r_i, and g_i = dL/dy_i. By the total derivative dL/dθ = sum_i g_i dy_i/dθ:

    - bias: y_i depends on b_i only, dy_i/db_i = 1 / r_i, so **dL/db_i = g_i / r_i**.
      (The seed's eq. (22) writes the right-hand side as g_j / ||w_j||: an index slip, the
      left-hand side is for b_i and no j is involved.)
    - input: dy_i/dx_j = w_ij / r_i, so **dL/dx_j = sum_i g_i w_ij / r_i**, i.e.
      dL/dx = (g / r) W, a matrix product.
    - weights: y_k does not depend on w_i for k != i, and with d r_i / d w_i = w_i / r_i,
      dy_i/dw_i = x / r_i - u_i w_i / r_i^3 = (x - y_i w_i / r_i) / r_i, so
      **dL/dw_i = (g_i / r_i) (x - y_i w_i / r_i)**. (The seed's eq. (24) keeps a sum over i on
      the right-hand side; only the term k = i survives, so there is no sum.)

    With leading batch dimensions every formula is summed over them: with s = g / r (..., m),
    dL/dx = s W, dL/db = sum_batch s, dL/dW = s^T x - (sum_batch s * y)[:, None] W / r[:, None].
    Shapes: dL/dx like x, dL/dW (m, n), dL/db (m,).

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
        r = ops.sqrt((w * w).sum(1))  # (m,)
        s = g / r  # (..., m)
        gx = s @ w if nx else None
        gw = gb = None
        if nw or nb:
            s2 = s.reshape(-1, s.shape[-1]) if s.ndim != 2 else s
            if nb:
                gb = s2.sum(0)
            if nw:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
                y = self.output()
                y2 = y.reshape(-1, y.shape[-1]) if y.ndim != 2 else y
                coef = (s2 * y2).sum(0) / r  # (m,)
                gw = s2.mT @ x2 - coef.unsqueeze(1) * w
        return (gx, gw, gb) if has_b else (gx, gw)


def normalized_linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = (x W^T + b) / ||W_rows||: ``F.linear`` with every output unit divided by the norm of
    its weight row (a fused primitive: composing it would take six nodes per call)."""
    x, w = lift(input), lift(weight)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise RuntimeError(
            f"normalized_linear: input of shape {x.shape} does not match weight of shape "
            f"{w.shape} (expected input (..., {w.shape[-1] if w.ndim else '?'}))"
        )
    if bias is None:
        return NormalizedLinearFn.apply(x, w)
    b = lift(bias, w)
    if b.shape != (w.shape[0],):
        raise RuntimeError(
            f"normalized_linear: bias of shape {b.shape} does not match weight {w.shape}"
        )
    return NormalizedLinearFn.apply(x, w, b)


class NormalizedLinear(Linear):
    """y_i = (w_i . x + b_i) / ||w_i|| (problem set 002, Assignment 9): a linear layer whose
    outputs do not change when a weight row is rescaled, so each unit is the signed distance
    (up to b_i / ||w_i||) of x to a hyperplane. Same parameters and initialisation as ``Linear``;
    the hand-derived backward is in ``NormalizedLinearFn``."""

    def forward(self, input: Tensor) -> Tensor:
        return normalized_linear(input, self.weight, self.bias)


__all__ = ["Identity", "Linear", "NormalizedLinear", "NormalizedLinearFn", "normalized_linear"]


class Bilinear(Module):
    """y_k = x1^T W_k x2 + b_k, weight (out, in1, in2); initialised U(-1/sqrt(in1), 1/sqrt(in1))
    as torch."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dt))
        if bias:
            self.bias = Parameter(np.empty(out_features, dt))
        else:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if bias:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
