"""Scans beyond cumsum: ``cumprod`` (a primitive), ``logcumsumexp``, ``cummax`` and ``cummin``
(compositions), along one dim."""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from .dims import normalize_dims
from .elementwise import exp, log, where
from .index import gather
from .reduce import Prod, amax
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
        return np.cumprod(a, axis=dim)

    def backward(self, g):
        a, d = self.inputs[0], self.dim
        if not (a._data == 0).any():
            return (g * self.output()).flip(d).cumsum(d).flip(d) / a
        x = movedim(a, d, -1)
        n = x.shape[-1]
        i, k, j = np.ogrid[:n, :n, :n]
        keep = Tensor._wrap((j <= i) & (j != k))
        others = where(keep, x.unsqueeze(-2).unsqueeze(-2), 1.0)  # (..., i, k, j)
        p = Prod.apply(others, dims=(others.ndim - 1,), keepdim=False)  # (..., i, k)
        below = Tensor._wrap((np.arange(n)[None, :] <= np.arange(n)[:, None]).astype(a.dtype))
        gk = (movedim(g, d, -1).unsqueeze(-1) * p * below).sum(-2)
        return movedim(gk, -1, d)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = lift(input)
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x * 1
    return Cumprod.apply(x, dim=normalize_dims("cumprod", dim, x.ndim)[0])


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log sum_{j <= i} e^(x_j) along ``dim``, with the maximum taken out first (a constant
    shift: it changes neither the value nor the gradient, only the overflow)."""
    x = lift(input)
    d = normalize_dims("logcumsumexp", dim, x.ndim)[0] if x.ndim else 0
    m = amax(x, d, keepdim=True).detach() if x.ndim else x.detach()
    m = where(Tensor._wrap(np.isfinite(m._data)), m, 0.0)
    return log(exp(x - m).cumsum(d)) + m


def _cum_extreme(op: str, x: Tensor, dim: int, better: Any) -> CumResult:
    d = normalize_dims(op, dim, x.ndim)[0] if x.ndim else 0
    if x.ndim == 0:
        return CumResult(x * 1, Tensor._wrap(np.zeros((), np.int64)))
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
