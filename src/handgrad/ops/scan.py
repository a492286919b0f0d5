"""Scans beyond cumsum: ``cumprod`` and ``logcumsumexp`` (primitives), ``cummax`` and ``cummin``
(compositions), along one dim."""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from .dims import normalize_dims
from .elementwise import where
from .index import gather
from .shape import movedim

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

CumResult = namedtuple("CumResult", ["values", "indices"])


class Cumprod(Function):
    """out_i = prod_{j <= i} a_j along ``dim``; d out_i / d a_k = [k <= i] prod_{j <= i, j != k}
    a_j. Without zeros that is out_i / a_k, so dL/da_k = (sum_{i >= k} g_i out_i) / a_k: a
    reverse cumulative sum divided by a. A zero cannot be divided out; then the products of the
    others are formed explicitly, P[i, k] = prod_j (a_j if j <= i and j != k else 1), and
    dL/da_k = sum_{i >= k} g_i P[i, k] (O(n^3) work per slice, only when a slice has a zero)."""

    name = "cumprod"
    uses_output = True

    def forward(self, a, dim):
        self.dim = dim
        if a.dtype.kind == "f" and a.dtype.itemsize < 8:
            # torch's CPU scan runs in its accumulation type (double) and rounds each output:
            # a running product may leave float32's range and come back (1e30 * 1e30 * 1e-30)
            return np.cumprod(a, axis=dim, dtype=np.float64).astype(a.dtype)
        return np.cumprod(a, axis=dim)

    def backward(self, g):
        a, d = self.inputs[0], self.dim
        if a.shape[d] == 1:
            # out = a: the derivative is 1, also at +-inf (out / a = NaN) and at a denormal
            # (whose square, in the next derivative, underflows to 0), as torch's cumprod_backward
            return g * 1
        if not (a._data == 0).any():
            return (g * self.output()).flip(d).cumsum(d).flip(d) / a
        x = movedim(a, d, -1)
        n = x.shape[-1]
        i, k, j = np.ogrid[:n, :n, :n]
        keep = Tensor._wrap((j <= i) & (j != k))
        others = where(keep, x.unsqueeze(-2).unsqueeze(-2), 1.0)  # (..., i, k, j)
        # through the Tensor method, not reduce.Prod: reduce's prod backward calls cumprod, and a
        # module-level arrow each way would be an import cycle
        p = others.prod(-1)  # (..., i, k)
        # only i >= k contribute: selected with where, as torch sums over i >= k only (a 0/1
        # mask would turn an infinite or NaN g_i for i < k into NaN)
        below = Tensor._wrap(np.arange(n)[None, :] <= np.arange(n)[:, None])
        gk = where(below, movedim(g, d, -1).unsqueeze(-1) * p, 0.0).sum(-2)
        return movedim(gk, -1, d)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = lift(input)
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x * 1
    return Cumprod.apply(x, dim=normalize_dims("cumprod", dim, x.ndim)[0])


class LogCumSumExp(Function):
    """out_i = log sum_{j <= i} e^(a_j) along ``dim``, computed as the running
    out_i = logaddexp(out_{i-1}, a_i) (NumPy's ``logaddexp.accumulate``): stable at every
    position, where one global shift underflows the small early terms (``[0, 200]`` in float32).

    d out_i / d a_j = e^(a_j - out_i) for j <= i, so dL/da_j = sum_{i >= j} g_i e^(a_j - out_i).
    Summed as PyTorch does, in log space and by the sign of g (no overflow of e^(-out_i)):
        dL/da = e^(a + revlcse(log g+ - out)) - e^(a + revlcse(log g- - out)),
    with revlcse the logcumsumexp taken from the end and log g+- the log of the positive and
    negative parts of g (the lowest float where that part is 0). Written with logcumsumexp itself,
    so it is differentiable again."""

    name = "logcumsumexp"
    uses_output = True

    def forward(self, a, dim):
        self.dim = dim
        return np.logaddexp.accumulate(a, axis=dim) if a.size else a.copy()

    def backward(self, g):
        a, d, out = self.inputs[0], self.dim, self.output()
        lowest = float(np.finfo(a._data.dtype).min)
        with np.errstate(divide="ignore"):
            log_abs = g.abs().log()
        pos = where(g > 0, log_abs, lowest)
        neg = where(g < 0, log_abs, lowest)

        def rev(t: Tensor) -> Tensor:
            return LogCumSumExp.apply(t.flip(d), dim=d).flip(d)

        return (rev(pos - out) + a).exp() - (rev(neg - out) + a).exp()


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log sum_{j <= i} e^(x_j) along ``dim`` (see ``LogCumSumExp``)."""
    x = lift(input)
    if x.ndim == 0:
        return x * 1
    return LogCumSumExp.apply(x, dim=normalize_dims("logcumsumexp", dim, x.ndim)[0])


def _cum_extreme(op: str, x: Tensor, dim: int, better: Any) -> CumResult:
    d = normalize_dims(op, dim, x.ndim)[0] if x.ndim else 0
    if x.ndim == 0:
        return CumResult(x * 1, Tensor._wrap(np.zeros((), np.int64)))
    if x._data.size == 0:
        return CumResult(x * 1, Tensor._wrap(np.zeros(x.shape, np.int64)))
    a = np.moveaxis(x._data, d, -1)
    idx = np.zeros(a.shape, np.int64)
    best = a[..., 0].copy()
    for t in range(1, a.shape[-1]):  # a loop over the scanned dim only (the others vectorised)
        take = better(a[..., t], best) | np.isnan(a[..., t])
        best = np.where(take, a[..., t], best)
        idx[..., t] = np.where(take, t, idx[..., t - 1])
    idx = np.moveaxis(idx, -1, d)
    return CumResult(gather(x, d, Tensor._wrap(idx)), Tensor._wrap(idx))


def cummax(input: Tensor, dim: int) -> CumResult:
    """The running maximum along ``dim`` and where it was reached (the latest index among
    ties, as torch); the gradient goes to that element."""
    return _cum_extreme("cummax", lift(input), dim, np.greater_equal)


def cummin(input: Tensor, dim: int) -> CumResult:
    """The running minimum along ``dim`` and its index (the latest among ties)."""
    return _cum_extreme("cummin", lift(input), dim, np.less_equal)


__all__ = ["cumprod", "logcumsumexp", "cummax", "cummin"]
