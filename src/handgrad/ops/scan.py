"""Scans beyond cumsum: ``cumprod`` and ``logcumsumexp`` (primitives), ``cummax`` and ``cummin``
(compositions), along one dim."""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .dims import normalize_dims
from .elementwise import where
from .index import gather
from .shape import EmptyConstantGradient, cat, movedim, narrow, stack

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

CumResult = namedtuple("CumResult", ["values", "indices"])


class Cumprod(Function):
    """out_i = prod_{j <= i} a_j along ``dim``; d out_i / d a_k = [k <= i] prod_{j <= i, j != k}
    a_j. The backward is PyTorch's cumprod_backward, formula for formula, so that the same
    products are formed (and the same ones overflow, or meet a NaN, at mixed huge, tiny, zero and
    non-finite inputs):

    - no zero anywhere in a: out_i / a_k is the product of the others, so
      dL/da_k = (sum_{i >= k} g_i out_i) / a_k, a reverse cumulative sum divided by a;
    - a zero, computing a gradient that will not be differentiated (grad mode off): torch's O(n)
      form per slice, with z1 < z2 its first two zeros: dL/da_k = 0 for k > z1 (exactly, whatever
      g is), the reverse cumulative sum over i < z1 divided by a_k for k < z1, and at z1
      out_{z1-1} sum_{z1 <= i < z2} g_i prod_{z1 < j <= i} a_j;
    - a zero, with grad mode on (create_graph): the products of the others formed explicitly as
      prod(a[:k]) cumprod(a[k+1:]), so that the second derivative exists, also across a zero.
    """

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
        n = a.shape[d]
        if n == 1 or a._data.size <= 1:
            # out = a: the derivative is 1, also at +-inf (out / a = NaN) and at a denormal
            # (whose square, in the next derivative, underflows to 0), as torch's cumprod_backward
            return g * 1
        out = self.output()
        if not (a._data == 0).any():
            return (out * g).flip(d).cumsum(d).flip(d) / a
        if not is_grad_enabled():
            return _cumprod_backward_zeros(g, a, out, d)
        ones = Tensor._wrap(np.ones(_one_along(a.shape, d), a._data.dtype))
        parts = []
        for k in range(n):
            if k == 0:
                omitted = cat([ones, Cumprod.apply(narrow(a, d, 1, n - 1), dim=d)], d)
            else:
                # through the Tensor method, not reduce.Prod: reduce's prod backward calls
                # cumprod, and a module-level arrow each way would be an import cycle
                until_k = narrow(a, d, 0, k).prod(d, keepdim=True)
                if k == n - 1:
                    omitted = until_k
                else:
                    after = Cumprod.apply(narrow(a, d, k + 1, n - k - 1), dim=d)
                    omitted = cat([until_k, until_k.expand(after.shape) * after], d)
            parts.append((narrow(g, d, k, n - k) * omitted).sum(d))
        return stack(parts, d)


def _one_along(shape: tuple, d: int) -> tuple:
    return tuple(1 if i == d else s for i, s in enumerate(shape))


def _cumprod_backward_zeros(g: Tensor, a: Tensor, out: Tensor, d: int) -> Tensor:
    """torch's O(n) cumprod backward through zeros (its grad-mode-off branch): its value, not
    differentiated again. Every term is selected, never multiplied by a 0/1 mask: g may be
    infinite or NaN past a zero, where the derivative is exactly 0."""
    x, gg, o = movedim(a, d, -1), movedim(g, d, -1), movedim(out, d, -1)
    zero = x._data == 0
    count = np.cumsum(zero, axis=-1)
    before = Tensor._wrap(count == 0)  # k < z1
    first = Tensor._wrap(zero & (count == 1))  # k = z1
    between = Tensor._wrap((count == 1) & ~zero)  # z1 < k < z2
    rc = where(before, o * gg, 0.0).flip(-1).cumsum(-1).flip(-1) / x
    tail = (
        Cumprod.apply(where(between, x, 1.0), dim=x.ndim - 1)
        * where(Tensor._wrap(count == 1), gg, 0.0)
    ).sum(-1, keepdim=True)
    z1 = np.argmax(first._data, axis=-1)[..., None]
    prev = gather(o, -1, Tensor._wrap(np.maximum(z1 - 1, 0)))
    prev = where(Tensor._wrap(z1 == 0), 1.0, prev)
    res = where(before, rc, where(first, tail * prev, 0.0))
    return movedim(res, -1, d)


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
        if not a.size:
            return a.copy()
        # torch's CPU kernel runs its float32 sum in double (acc_type), rounded at each output:
        # near out = 0 (log of a sum near 1) float32's own steps were off by 30% (fuzz seed
        # 1511160525: the exact -2.458e-8, torch's, handgrad -4.05e-8)
        wide = np.float64 if a.dtype.itemsize < 8 else a.dtype
        out = np.logaddexp.accumulate(a.astype(wide), axis=dim).astype(a.dtype)
        # torch starts its running sum from -inf: out_0 = a_0 + log1p(e^(-inf - a_0)) = a_0 + 0,
        # +0.0 where a_0 = -0.0 (fuzz seed 493598942); NumPy copies a_0
        first = (slice(None),) * dim + (0,)
        out[first] += 0.0
        return out

    def backward(self, g):
        if not g._data.size:
            # torch's logcumsumexp_backward returns an empty g itself: a recorded gradient tied
            # to g only, not to a and out, through which a second derivative's zeros met a NaN
            # of an earlier step (fuzz seed 24732686: logit out of [0, 1], then narrow to 0)
            return g
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
    if x._data.size == 0:  # a constant gradient, as torch's (cummaxmin_backward returns input)
        out = EmptyConstantGradient.apply(x, shape=x.shape)
        return CumResult(out, Tensor._wrap(np.zeros(x.shape, np.int64)))
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
