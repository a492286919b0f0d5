"""softmax and log_softmax: fused primitives, because the composition exp(x) / sum exp(x)
overflows and its log loses precision. Both subtract the maximum first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from . import _rows
from .dims import normalize_dims
from .special import fms

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _shifted(a: np.ndarray, dim: int) -> np.ndarray:
    if a.size == 0:  # nothing to normalise (NumPy's max refuses an empty reduction)
        return a.copy()
    m = a.max(axis=dim, keepdims=True)
    # Only an all -inf slice is shifted by 0 instead (-inf - -inf would be NaN; it gives NaN
    # anyway, as torch). A +inf or NaN maximum is subtracted like any other, so the whole slice is
    # NaN, as in torch.
    with np.errstate(invalid="ignore"):
        return a - np.where(m == -np.inf, 0, m)


class Softmax(Function):
    """out_i = e^(a_i) / sum_j e^(a_j) along ``dim``.
    d out_i / d a_j = out_i ([i = j] - out_j), so dL/da = out (g - sum_j g_j out_j)."""

    name = "softmax"
    uses_inputs = False
    uses_output = True

    def forward(self, a, dim):
        self.dim = dim
        e = np.exp(_shifted(a, dim))
        e /= _rows.sums(e, dim)
        return e

    def backward(self, g):
        return SoftmaxBackward.apply(g, self.output(), dim=self.dim)


class SoftmaxBackward(Function):
    """Softmax's input gradient out (g - sum(g out)) as a node of its own, so that its
    derivatives are torch's (_softmax_backward_data): w.r.t. g the same map applied to the
    direction u, w.r.t. out torch's softmax_double_backward g u - sum(out g) u - g sum(out u).
    Differentiated as a composition, u (g - s) - g sum(out u) rounds (g - s) first, and where the
    two products g u and g sum(out u) are equal (a tie of two huge values, the direction equal
    on both) their difference was rounding noise instead of torch's exact 0 (fuzz seed
    493528831, softmin: 2.2e12 against 0)."""

    name = "softmax_backward"

    def forward(self, g, out, dim):
        self.dim = dim
        # torch accumulates sum(g out) with fused multiply-adds, each product unrounded: float32
        # in float64 is that (fuzz seed 1574869334, softmin under a uniform g: exactly 0)
        wide = np.float64 if g.dtype.itemsize < 8 else g.dtype
        s = _rows.dot(g, out, dim, wide).astype(g.dtype)
        return out * (g - s)

    def backward(self, u):
        (g, out), d = self.inputs, self.dim
        s, su = (out * g).sum(d, keepdim=True), (out * u).sum(d, keepdim=True)
        return SoftmaxBackward.apply(u, out, dim=d), g * u - s * u - g * su


class LogSoftmax(Function):
    """out_i = a_i - log sum_j e^(a_j) along ``dim``.
    d out_i / d a_j = [i = j] - softmax_j, so dL/da = g - softmax(a) sum_i g_i, with
    softmax(a) = e^out."""

    name = "log_softmax"
    uses_inputs = False
    uses_output = True

    def forward(self, a, dim):
        self.dim = dim
        z = _shifted(a, dim)
        with np.errstate(divide="ignore", invalid="ignore"):  # all -inf: NaN, as in torch
            return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))

    def backward(self, g):
        return LogSoftmaxBackward.apply(g, self.output(), dim=self.dim)


class LogSoftmaxBackward(Function):
    """log_softmax's input gradient g - e^out sum(g) as a node of its own, with torch's
    derivatives (_log_softmax_backward_data): w.r.t. g, u - sum(u e^out); w.r.t. out,
    (-sum(g) e^out) u, in that order (the composition formed -(u sum(g)) e^out, fuzz seed
    376568418)."""

    name = "log_softmax_backward"

    def forward(self, g, out, dim):
        self.dim = dim
        return fms(g, np.exp(out), g.sum(axis=dim, keepdims=True))

    def backward(self, u):
        (g, out), d = self.inputs, self.dim
        e = out.exp()
        return u - (u * e).sum(d, keepdim=True), (-g.sum(d, keepdim=True)) * e * u


def _softmax_dim(op: str, x: Tensor, dim: int | None) -> int:
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return normalize_dims(op, dim, x.ndim)[0] if x.ndim else 0


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    x = lift(input) if dtype is None else lift(input).to(dtype)
    return Softmax.apply(x, dim=_softmax_dim("softmax", x, dim))


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    x = lift(input) if dtype is None else lift(input).to(dtype)
    return LogSoftmax.apply(x, dim=_softmax_dim("log_softmax", x, dim))


__all__ = ["softmax", "log_softmax"]
