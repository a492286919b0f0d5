"""Reductions: sum, mean, amax, logsumexp and cumsum are primitives; var, std, max, min and norm
are composed from them."""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ._cpu_reduce import amax_zero_sign, prod_zero_exact, sum_without_overflow
from .dims import normalize_dims
from .elementwise import add, exp, mul, sqrt, sub, where

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

Dims = "int | tuple[int, ...] | None"


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """The gradient of a reduction over ``dims``, g, expanded back to the input's ``shape``."""
    if not (keepdim or dims == tuple(range(len(dims)))):
        g = g.reshape(_kept_shape(shape, dims))  # leading dims broadcast as is
    return g.expand(shape)


def _sum(a: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    """a summed over ``dims``, without overflowing where the exact sum of finite terms is finite.
    NumPy's pairwise sum can meet +-max + +-max in an intermediate (its 8 accumulators add two
    huge terms of the same sign) where torch's order of terms does not: the sum of
    [-max, max/4, ..., max] is max/4 in torch and inf in NumPy (fuzz seed 22363011). Such a sum
    is redone scaled by a power of two at least the number of terms (exact, but for subnormal
    terms), slice by slice (``_cpu_reduce.sum_without_overflow``)."""
    out = a.sum(axis=dims, keepdims=keepdim)
    if a.dtype.kind != "f" or np.isfinite(out).all():
        return out
    return sum_without_overflow(a, dims, keepdim, out)


class Sum(Function):
    """out = sum of a over ``dims``.  Each a_i enters one sum with coefficient 1, so
    dL/da_i = g of its sum: g (with the reduced dims put back as size 1) expanded to a's shape."""

    name = "sum"
    uses_inputs = False

    def forward(self, a, dims, keepdim):
        self.shape, self.dims, self.keepdim = a.shape, dims, keepdim
        return _sum(a, dims, keepdim)

    def backward(self, g):
        return _expand_back(g, self.shape, self.dims, self.keepdim)


class Amax(Function):
    """out = max of a over ``dims``. The gradient goes to the elements equal to the maximum,
    split evenly among ties: dL/da_i = g [a_i = out] / #{j: a_j = out}. The mask is a constant,
    so the second derivative is 0.

    Two conventions, both PyTorch's. ``amax`` multiplies by the mask (torch's
    ``scale_grad_by_count``): a NaN maximum has no equal element, so its slice gets NaN, and an
    infinite g gives NaN off the maximum. ``max()`` without a dim (``select=True``) selects
    (torch's ``evenly_distribute_backward``): a NaN maximum sends g to the NaN elements and the
    others get exactly 0."""

    name = "amax"

    def forward(self, a, dims, keepdim, select=False, zero_sign=None):
        self.select = select
        empty = [d for d in dims if a.shape[d] == 0]
        if empty:  # an empty dim elsewhere is fine: the result is empty too (as in PyTorch)
            raise RuntimeError(
                f"amax: cannot reduce over dim {empty[0]} of size 0 (tensor shape {a.shape})"
            )
        self.dims = dims
        self.kept = a.max(axis=dims, keepdims=True)
        if zero_sign and dims and a.dtype.kind == "f" and (self.kept == 0).any():
            self.kept = amax_zero_sign(a, dims, self.kept, zero_sign)
        return (
            self.kept.copy()
            if keepdim
            else self.kept.reshape([n for i, n in enumerate(a.shape) if i not in dims])
        )

    def backward(self, g):
        a = self.inputs[0]._data
        mask = a == self.kept
        if self.select:
            mask |= np.isnan(a) & np.isnan(self.kept)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = g.reshape(self.kept.shape) / Tensor._wrap(
                mask.sum(axis=self.dims, keepdims=True).astype(a.dtype)
            )
        if self.select:
            return where(Tensor._wrap(mask), share, 0.0)
        return share * Tensor._wrap(mask.astype(a.dtype))


class Prod(Function):
    """out = product of a over ``dims``. d out / d a_i = prod_{j != i} a_j, the product of the
    others in its slice. PyTorch's two ways of forming it:

    - no zero anywhere in a: dL/da = g out / a;
    - otherwise (a zero cannot be divided out): the product of the others is the product of
      the exclusive running products from the left and from the right,
      L_i = prod_{j < i} a_j and R_i = prod_{j > i} a_j, so dL/da_i = g L_i R_i (the reduced
      dims flattened into one). Written with cumprod, cat and flip, so it is differentiable
      again, second derivatives across a zero included (cumprod's backward is torch's too);
    - prod() of the whole tensor with two zeros or more, outside grad mode: zeros, as torch.
    """

    name = "prod"
    uses_output = True

    def forward(self, a, dims, keepdim, whole=False):
        self.dims, self.whole = dims, whole
        out = prod_zero_exact(a, dims)
        self.kept_shape = out.shape
        return out if keepdim else out.reshape([n for i, n in enumerate(a.shape) if i not in dims])

    def backward(self, g):
        a = self.inputs[0]
        g = g.reshape(self.kept_shape)
        if builtins.all(a.shape[d] == 1 for d in self.dims):
            return g.expand(a.shape)  # one factor per product: its derivative is 1 (even at inf)
        if not (a._data == 0).any():
            # out / a first, as torch: g * out can underflow where out and a are denormals
            return g * (self.output().reshape(self.kept_shape) / a)
        if self.whole and not is_grad_enabled() and (a._data == 0).sum() > 1:
            # torch's prod() (no dim) outside grad mode: with two zeros every product of the
            # others holds one, and torch returns zeros without forming them (an inf or NaN
            # factor, or g, does not make it NaN)
            return Tensor._wrap(np.zeros(a.shape, a._data.dtype))
        return g * _others_product(a, self.dims)


def _others_product(a: Tensor, dims: tuple) -> Tensor:
    """prod_{j != i} a_j over ``dims`` for every element i, without dividing (torch's
    prod_safe_zeros_backward): exclusive running products from both ends."""
    from .scan import cumprod  # scan comes after reduce in ops' order: imported when needed
    from .shape import cat, movedim

    k = len(dims)
    last = tuple(range(a.ndim - k, a.ndim))
    moved = movedim(a, dims, last)
    lead = moved.shape[: a.ndim - k]
    n = int(np.prod(moved.shape[a.ndim - k :]))
    x = moved.reshape(*lead, n)
    one = Tensor._wrap(np.ones(lead + (1,), a._data.dtype))
    left = cumprod(cat([one, x[..., :-1]], -1), -1)
    right = cumprod(cat([one, x.flip(-1)[..., :-1]], -1), -1).flip(-1)
    return movedim((left * right).reshape(moved.shape), last, dims)


class LogSumExp(Function):
    """out = log sum_i e^(a_i), computed as m + log sum e^(a_i - m) with m = max a (no overflow).
    d out / da_i = e^(a_i) / sum_j e^(a_j) = e^(a_i - out): dL/da = g softmax(a)."""

    name = "logsumexp"
    uses_output = True

    def forward(self, a, dims, keepdim):
        self.dims = dims
        m = a.max(axis=dims, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.exp(a - m).sum(axis=dims, keepdims=True)) + m
        self.kept_shape = out.shape
        return out if keepdim else out.reshape([n for i, n in enumerate(a.shape) if i not in dims])

    def backward(self, g):
        a = self.inputs[0]
        out = self.output().reshape(self.kept_shape)
        return g.reshape(self.kept_shape) * exp(a - out)


class Cumsum(Function):
    """out_i = sum_{j <= i} a_j along ``dim`` (the inclusive scan).

    a_j appears in every out_i with i >= j, so dL/da_j = sum_{i >= j} g_i: the cumulative sum of
    g taken from the end, flip(cumsum(flip(g))). Used in exercise 000-a1.
    """

    name = "cumsum"
    uses_inputs = False

    def forward(self, a, dim):
        self.dim = dim
        # + 0.0: torch's running sum starts from +0.0, so a leading -0.0 becomes +0.0 (the
        # one difference from NumPy's, which starts from the first element)
        # torch's CPU scan accumulates float32 in double (float16 in float) and rounds each
        # output; NumPy's float32 one loses the digits a later term cancels back ([1e8, 1, 1, 1,
        # -1e8]: 3 in torch, 0 here), which cumprod's second derivative, a difference of two
        # terms of 1e32, turned into -1.9e25 against torch's 0 (fuzz seed 376612173)
        acc = {4: np.float64, 2: np.float32}.get(a.itemsize) if a.dtype.kind == "f" else None
        with np.errstate(over="ignore"):  # a running sum beyond the type's range is inf
            return np.cumsum(a, axis=dim, dtype=acc).astype(a.dtype, copy=False) + a.dtype.type(0)

    def backward(self, g):
        return g.flip(self.dim).cumsum(self.dim).flip(self.dim)


# ---- functions ---------------------------------------------------------------------------------


class Norm2(Function):
    """out = sqrt(sum of a^2 over ``dims``). dL/da = g a / out, computed as torch does,
    g (a / out), 0 where out = 0: the composed form g / (2 sqrt(s)) * 2a overflows when out is
    tiny (g / out above the largest float where a / out, a unit vector, does not; issue 11,
    cosine_similarity below eps). The backward is handgrad operations on a recomputed norm, so
    that the second derivative exists; at a zero vector it is 0 (the safe denominator keeps
    the masked branch's gradient finite)."""

    name = "norm"

    def forward(self, a, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        return np.sqrt((a * a).sum(axis=dims, keepdims=keepdim))

    def backward(self, g):
        x = self.inputs[0]
        if is_grad_enabled():
            n = Norm2.apply(x, dims=self.dims, keepdim=True)
        else:
            n = Tensor._wrap(np.sqrt((x._data * x._data).sum(axis=self.dims, keepdims=True)))
        if not self.keepdim:
            g = g.reshape(_kept_shape(x.shape, self.dims))
        zero = Tensor._wrap(n._data == 0)
        return g * where(zero, 0.0, x / where(zero, 1.0, n))


class NormP(Function):
    """out = (sum of |a|^p over ``dims``)^(1/p) for a finite p other than 0, 1 and 2, with
    torch's backward (its norm_backward) term for term, so that the same products overflow or
    not: s g / out^(p-1) with s = a |a|^(p-2) for p > 2 and sign(a) |a|^(p-1) for p < 2, the
    factor g / out^(p-1) set to 0 where out = 0; below p = 1 it is s g out^(1-p), s being 0
    where a = 0. The chain rule through the composed root of the sum multiplied g out^(1-p) /
    p by p |a|^(p-1) instead: g 0 p |a|^2 = 0 * inf (NaN) for a float32 element of 1.5e19 when
    the norm is inf, where torch's a |a| = 2e38 times 0 is 0. At a zero norm the factor is
    formed over a safe denominator (a finite second derivative: the accepted
    norm_second_derivative_at_zero)."""

    name = "norm_p"

    def forward(self, a, dims, keepdim, p):
        self.dims, self.keepdim, self.p = dims, keepdim, p
        return np.sum(np.abs(a) ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)

    def backward(self, g):
        x, p = self.inputs[0], self.p
        if is_grad_enabled():
            n = NormP.apply(x, dims=self.dims, keepdim=True, p=p)
        else:
            n = Tensor._wrap(np.sum(np.abs(x._data) ** p, axis=self.dims, keepdims=True) ** (1 / p))
        if not self.keepdim:
            g = g.reshape(_kept_shape(x.shape, self.dims))
        sgn = x.sign()
        if p < 1:
            s = sgn * where(Tensor._wrap(x._data == 0), 0.0, x.abs() ** (p - 1))
            return s * g * n ** (1 - p)
        s = x * x.abs() ** (p - 2) if p > 2 else sgn * x.abs() ** (p - 1)
        zero = Tensor._wrap(n._data == 0)
        return s * where(zero, 0.0, g / where(zero, 1.0, n) ** (p - 1))


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    x = lift(input)
    if dtype is not None:
        x = x.to(dtype)
    else:
        dt = x._data.dtype  # (kind and itemsize: comparing dtypes to types is slow on a hot path)
        if dt.kind in "bu" or (dt.kind == "i" and dt.itemsize < 8):
            x = x.to(np.int64)  # PyTorch sums booleans and small integers as int64
    return Sum.apply(x, dims=normalize_dims("sum", dim, x.ndim), keepdim=keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    x = lift(input)
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean: could not infer output dtype; input dtype is {x.dtype}, pass a floating dtype"
        )
    dims = normalize_dims("mean", dim, x.ndim)
    return Mean.apply(x, dims=dims, keepdim=keepdim)


class Mean(Function):
    """out = sum of a over ``dims`` / N, as torch (a division, not a product with 1 / N).
    dL/da_i = g / N: g expanded to a's shape, then divided, as torch's mean backward. The order
    matters for the second derivative, whose backward is then a sum of u_i / N rather than
    (sum of u_i) / N, which overflows when the u_i are near the largest float."""

    name = "mean"
    uses_inputs = False

    def forward(self, a, dims, keepdim):
        self.shape, self.dims, self.keepdim = a.shape, dims, keepdim
        self.count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as in torch
            return np.asarray(_sum(a, dims, keepdim) / self.count).astype(a.dtype)

    def backward(self, g):
        return _expand_back(g, self.shape, self.dims, self.keepdim) / self.count


def var(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Variance sum (x - mean)^2 / (N - correction); correction=1 (Bessel) by default, as in
    PyTorch. ``unbiased=False`` is the same as correction=0.

    Float32 (and float16) inputs are reduced in float64 and the result cast back: the squares
    of deviations above 1.8e19 would overflow float32, where torch's accumulation does not."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    x = lift(input)
    if x._data.dtype.kind == "f" and x._data.dtype.itemsize < 8:
        out = var(x.to(np.float64), dim, keepdim=keepdim, correction=correction)
        with np.errstate(over="ignore"):  # a variance beyond float32's range is inf, as torch
            return out.to(x._data.dtype)
    dims = normalize_dims("var", dim, x.ndim)
    count = int(np.prod([x.shape[d] for d in dims])) if dims else 1
    if x._data.size and count:
        # a constant slice is shifted to 0 first (by a constant: the derivatives do not change),
        # so that its variance is exactly 0, as torch's Welford reduction gives it; sum / N
        # rounds (six copies of -0.7938... average to 1 ulp off), the variance comes out
        # 1e-32, and std's zero-variance rule (gradient 0 even for an inf or NaN g) is missed
        with np.errstate(invalid="ignore"):
            hi = np.max(x._data, axis=dims, keepdims=True)
            flat = (hi == np.min(x._data, axis=dims, keepdims=True)) & np.isfinite(hi)
        if flat.any():
            x = sub(x, Tensor._wrap(np.where(flat, hi, 0).astype(x._data.dtype)))
    denom = count - correction
    if count and denom > 0:
        return Var.apply(x, dims=dims, keepdim=keepdim, denom=denom)
    centred = sub(x, mean(x, dims, keepdim=True))
    ss = Sum.apply(centred * centred, dims=dims, keepdim=keepdim)
    if count == 0 and not (dim is None or x.ndim == 0):
        # over an empty dim the value is NaN (0 / 0, as torch) whatever the correction, but the
        # upstream gradient is scaled as torch's backward scales it, 2 / (N - correction) g:
        # -2 g for correction 1, whose derivative w.r.t. g is -2 times an empty sum (-0), where
        # the inf of the N - correction <= 0 rule below gave 0 * inf = NaN (fuzz seed 376624838)
        zero = mul(ss, 1.0 / denom if denom else float("inf"))
        return add(zero, Tensor._wrap(np.full(zero.shape, np.nan, x._data.dtype)))
    out = mul(ss, 1.0 / denom if denom > 0 else float("inf"))
    if denom <= 0 and (dim is None or x.ndim == 0):
        return VarNoDof.apply(x, value=out._data)
    return out


class Var(Function):
    """out = sum (x - mean)^2 / D over ``dims`` (D = N - correction > 0). Its gradient is
    torch's var_backward, (2 / D) g (x - mean): the product of the two terms of the square's
    rule, g c + g c, would double a sum in the second derivative (d/dg of the gradient in a
    direction v is 2 sum(v c) / D) and overflow where torch's sum(v c) (2 / D) stays finite, a
    NaN once it meets std's zero scale at an infinite variance (fuzz seed 1002541999). The sum of
    (x - mean) is 0, so the mean's own term of the gradient vanishes and is not formed."""

    name = "var"

    def forward(self, a, dims, keepdim, denom):
        self.dims, self.keepdim, self.denom = dims, keepdim, denom
        with np.errstate(over="ignore", invalid="ignore"):
            c = a - a.mean(axis=dims, keepdims=True)  # sum / N, as the Mean primitive
            return np.asarray((c * c).sum(axis=dims, keepdims=keepdim) * (1.0 / denom))

    def backward(self, g):
        x = self.inputs[0]
        g = g if self.keepdim else g.reshape(_kept_shape(x.shape, self.dims))
        return (g * (2.0 / self.denom)) * sub(x, mean(x, self.dims, keepdim=True))


class VarNoDof(Function):
    """The variance of all elements when N - correction <= 0 (one element with correction=1):
    PyTorch's special case. The value is ss / 0 (inf, NaN where ss = 0, as computed by ``var``)
    and the gradient g * (NaN where x equals the mean, else inf), a constant in x: torch's
    second derivative is 0 there, where the quotient formula's would be inf * 0 = NaN. (With a
    ``dim`` torch keeps its general formula, 2 / 0 * g (x - mean), and so does ``var``.)"""

    name = "var_no_dof"
    uses_inputs = False

    def forward(self, a, value):
        with np.errstate(invalid="ignore"):
            eq = a == (a.mean() if a.size else 0)
        self.k = np.where(eq, np.nan, np.inf).astype(a.dtype)
        return value

    def backward(self, g):
        return g * Tensor._wrap(self.k)


def std(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """sqrt(var); its gradient is 0 where std = 0 (a constant input), as in PyTorch. Float32
    is reduced in float64, root included (the variance of values near 1e37 overflows float32,
    their standard deviation does not)."""
    x = lift(input)
    if x._data.dtype.kind == "f" and x._data.dtype.itemsize < 8:
        out = std(x.to(np.float64), dim, unbiased, keepdim, correction=correction)
        # a std that rounds to 0 (7e-46, half the least float32 denormal, from 0 and -1.4e-45)
        # is 0 to the convention too: its gradient 0, as torch's (fuzz seed 1980945609)
        under = (out._data.astype(x._data.dtype) == 0) & (out._data != 0)
        return (where(Tensor._wrap(under), 0.0, out) if under.any() else out).to(x._data.dtype)
    return _root(var(x, dim, unbiased, keepdim, correction=correction), 2)


def _root(s: Tensor, p: float) -> Tensor:
    """s^(1/p) with gradient 0 where s = 0 (PyTorch's convention for norm and std at 0), instead
    of the infinite root derivative times a zero inner gradient (NaN). The inner where keeps the
    root's own gradient finite there; the outer selects 0 (both masks are constants)."""
    zero = Tensor._wrap(s._data == 0)
    safe = where(zero, 1.0, s)
    root = sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return where(zero, 0.0, root)


def amax(
    input: Tensor,
    dim: Any = (),
    keepdim: bool = False,
    *,
    _select: bool = False,
    _zero_sign: str | None = None,
) -> Tensor:
    """``_zero_sign``: how a zero maximum gets its sign (``_cpu_reduce.amax_zero_sign``): "torch"
    (the default without ``_select``: torch's amax), "first" (the slice's first zero), "all"
    (``max()`` of the whole tensor) or None (NumPy's, the default with ``_select``)."""
    x = lift(input)
    dims = normalize_dims("amax", None if isinstance(dim, tuple) and not dim else dim, x.ndim)
    sign = _zero_sign if _zero_sign or _select else "torch"
    return Amax.apply(x, dims=dims, keepdim=keepdim, select=_select, zero_sign=sign)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False, **private: Any) -> Tensor:
    # -x keeps the order of the zeros, so the first zero of -x is that of x, negated back;
    # ``private``: amax's _select and _zero_sign
    return -amax(-lift(input), dim, keepdim, **private)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _arg(np_fn: Any, op: str, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = lift(input)
    if dim is None:
        if x._data.size == 0:
            raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
        return Tensor._wrap(np.asarray(np_fn(x._data), dtype=np.int64))
    (d,) = normalize_dims(op, dim, x.ndim) or (0,)
    if x.ndim and x.shape[d] == 0:
        raise RuntimeError(f"{op}: cannot reduce over dim {d} of size 0 (tensor shape {x.shape})")
    if x._data.size == 0:  # another dim is empty: so is the result (NumPy refuses, torch does not)
        shape = (
            tuple(1 if i == d else n for i, n in enumerate(x.shape))
            if keepdim
            else tuple(n for i, n in enumerate(x.shape) if i != d)
        )
        return Tensor._wrap(np.zeros(shape, np.int64))
    return Tensor._wrap(np_fn(x._data, axis=d, keepdims=keepdim).astype(np.int64))


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _arg(np.argmax, "argmax", input, dim, keepdim)


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _arg(np.argmin, "argmin", input, dim, keepdim)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """``max(x)``: the largest element (gradient split among ties). ``max(x, dim)``: the named
    tuple (values, indices); the gradient goes to the index returned. ``max(x, y)``: maximum."""
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(input, dim)
    if dim is None:
        return amax(input, _select=True, _zero_sign="all")
    return _select(argmax, "max", input, dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(input, dim)
    if dim is None:
        return amin(input, _select=True, _zero_sign="all")
    return _select(argmin, "min", input, dim, keepdim)


def _select(arg_fn: Any, op: str, input: Tensor, dim: int, keepdim: bool) -> MaxResult:
    from .index import gather

    x = lift(input)
    (d,) = normalize_dims(op, dim, x.ndim) or (0,)
    if x.ndim == 0:
        return MaxResult(x * 1, Tensor._wrap(np.asarray(0, dtype=np.int64)))
    idx = arg_fn(x, d, keepdim=True)
    values = gather(x, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return MaxResult(values, idx)


def prod(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """``torch.prod``: the product of all elements, or along one ``dim``."""
    x = lift(input)
    if dtype is not None:
        x = x.to(dtype)
    else:
        dt = x._data.dtype
        if dt.kind in "bu" or (dt.kind == "i" and dt.itemsize < 8):
            x = x.to(np.int64)  # as sum: PyTorch multiplies booleans and small integers as int64
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod: dim must be an int or None (as in PyTorch), got {dim!r}")
    dims = normalize_dims("prod", dim, x.ndim)
    return Prod.apply(x, dims=dims, keepdim=keepdim, whole=dim is None)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    x = lift(input)
    return LogSumExp.apply(x, dims=normalize_dims("logsumexp", dim, x.ndim), keepdim=keepdim)


def cumsum(input: Tensor, dim: int) -> Tensor:
    x = lift(input)
    (d,) = normalize_dims("cumsum", dim, x.ndim) or (0,)
    if x.ndim == 0:
        return x.clone()
    return Cumsum.apply(x, dim=d)


def norm(input: Tensor, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The p-norm over ``dim`` (all elements by default): (sum |x|^p)^(1/p); p=2 and p=1 here."""
    x = lift(input)
    dims = normalize_dims("norm", dim, x.ndim)
    if not x.ndim or builtins.all(x.shape[d] == 1 for d in dims):
        # one element per norm: |x| exactly (torch too; x^2 would overflow for |x| > 1e19 in
        # float32), with gradient sign(x), 0 at 0
        if p not in (1, 2, "fro", float("inf")):
            # torch's general-p backward masks the scale g / norm^(p-1) to 0 where the norm is
            # 0, whatever g is (an inf or NaN g included): selected here, as g * sign(0) would
            # give NaN * 0 = NaN
            x = where(Tensor._wrap(x._data == 0), 0.0, x)
        out = x.abs()
        return (
            out
            if keepdim
            else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))
        )
    if p in (2, "fro"):
        return Norm2.apply(x, dims=dims, keepdim=keepdim)  # gradient 0 at a zero vector, as torch
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    if p == float("inf"):
        # torch's rule: g shared by the elements whose |x| is the norm or NaN (a NaN norm's
        # gradient goes to its NaNs, and sign(NaN) = 0), selected
        return amax(x.abs(), () if dim is None else dim, keepdim, _select=True)
    if p == 0:  # the count of nonzero elements, a constant (torch: no gradient)
        return Tensor._wrap(np.asarray((x._data != 0).sum(axis=dims, keepdims=keepdim), x.dtype))
    return NormP.apply(x, dims=dims, keepdim=keepdim, p=float(p))


def var_mean(
    input: Tensor, dim: Any = None, *, correction: Any = 1, keepdim: bool = False
) -> tuple[Tensor, Tensor]:
    """(var, mean) in one call, as ``torch.var_mean``."""
    return (
        var(input, dim, keepdim=keepdim, correction=correction),
        mean(input, dim, keepdim=keepdim),
    )


def std_mean(
    input: Tensor, dim: Any = None, *, correction: Any = 1, keepdim: bool = False
) -> tuple[Tensor, Tensor]:
    """(std, mean) in one call, as ``torch.std_mean``."""
    return (
        std(input, dim, keepdim=keepdim, correction=correction),
        mean(input, dim, keepdim=keepdim),
    )


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    x = lift(input)
    return Tensor._wrap(np.asarray(x._data.all(axis=dim, keepdims=keepdim)))


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    x = lift(input)
    return Tensor._wrap(np.asarray(x._data.any(axis=dim, keepdims=keepdim)))


def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """Sum the broadcast dims away so that the result has ``size`` (the reverse of ``expand``):
    the leading dims broadcasting added, and the dims where ``size`` has 1. This is the one
    *unbroadcast*: the engine reduces every gradient of broadcast shape with it.

    If ``x`` of shape ``s`` was broadcast to ``S``, every element of ``x`` was copied to several
    outputs, so its gradient is the sum of theirs.
    """
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    shape = input._data.shape
    lead = len(shape) - len(size)
    # (this module's ``any`` and ``sum`` are the tensor functions: builtins spelled out)
    if lead < 0 or builtins.any(n not in (1, shape[lead + i]) for i, n in enumerate(size)):
        raise RuntimeError(f"sum_to_size: size {tuple(size)} is not expandable to {shape}")
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(size) if n == 1 and shape[lead + i] != 1
    )
    out = sum(input, dims, keepdim=True) if dims else input
    return out.reshape(size) if lead else out


__all__ = [
    "sum",
    "mean",
    "var",
    "std",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "max",
    "min",
    "logsumexp",
    "cumsum",
    "norm",
    "all",
    "any",
    "prod",
    "var_mean",
    "std_mean",
]
