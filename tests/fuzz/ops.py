"""The operations a fuzz program draws from, one entry per operation.

An entry is ``(name, gen, fn)``. ``gen(r, x)`` looks at the current value ``x`` (a torch tensor:
shape and dtype) and returns the operation's parameters, or None when the operation does not
apply to that shape. ``fn(L, x, **params)`` runs it with ``L`` the library (``L.T`` is ``torch``
or ``handgrad``, ``L.F`` its ``nn.functional``). Parameters are plain Python values or NumPy
arrays: float arrays named ``w*`` become tensors that require grad (their gradients are compared
too), other arrays become constant tensors. One description, interpreted by both libraries.
"""

from __future__ import annotations

import numpy as np
import torch

from .values import make_values


def _dim(r, x, allow_none=False):
    if x.ndim == 0:
        return r.choice([0, -1]) if not allow_none or r.random() < 0.7 else None
    if allow_none and r.random() < 0.25:
        return None
    return int(r.integers(-x.ndim, x.ndim))


def _w(r, shape, x, mode=None):
    """An operand of ``shape`` with the program's dtype and value mode."""
    return make_values(r, tuple(shape), x.dtype_np, mode or x.mode)


def _bshape(r, x):
    """A shape that broadcasts against x: x's own, a suffix, or with some sides set to 1."""
    shape = list(x.shape)
    k = int(r.integers(0, len(shape) + 1)) if r.random() < 0.4 else 0
    shape = shape[k:]
    return [1 if r.random() < 0.25 else n for n in shape]


OPS = []


def op(name, gen, fn):
    OPS.append((name, gen, fn))


def unary(name, fn):
    op(name, lambda r, x: {}, fn)


# ---- element-wise ------------------------------------------------------------------------------
for _n in [
    "exp",
    "log",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "abs",
    "relu",
    "erf",
    "neg",
    "square",
    "reciprocal",
    "rsqrt",
    "expm1",
    "sinh",
    "cosh",
    "atan",
    "asin",
    "acos",
    "trunc",
    "floor",
    "sign",
    "frac",
]:
    unary(_n, (lambda n: lambda L, x: getattr(L.T, n)(x))(_n))
unary("logit", lambda L, x: L.T.logit(x))
unary("pow_scalar", lambda L, x: x**2.5)
unary("rpow", lambda L, x: 2.0**x)
unary("pow_int", lambda L, x: x**3)
unary("relu_sqrt", lambda L, x: L.T.sqrt(L.T.relu(x)))
unary("clamp0_sqrt", lambda L, x: L.T.sqrt(L.T.clamp(x, min=0)))
unary("nan_to_num", lambda L, x: L.T.nan_to_num(x))
for _n in [
    "relu6",
    "selu",
    "silu",
    "mish",
    "softsign",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "tanhshrink",
    "sigmoid",
    "tanh",
]:
    unary("F." + _n, (lambda n: lambda L, x: getattr(L.F, n)(x))(_n))
op(
    "F.hardtanh",
    lambda r, x: {"min_val": -float(r.uniform(0, 2)), "max_val": float(r.uniform(0, 2))},
    lambda L, x, **p: L.F.hardtanh(x, **p),
)
op(
    "F.leaky_relu",
    lambda r, x: {"negative_slope": float(r.choice([0.01, 0.2, 0.0]))},
    lambda L, x, **p: L.F.leaky_relu(x, **p),
)
op("F.elu", lambda r, x: {"alpha": float(r.choice([1.0, 0.5]))}, lambda L, x, **p: L.F.elu(x, **p))
op(
    "F.celu",
    lambda r, x: {"alpha": float(r.choice([1.0, 0.5]))},
    lambda L, x, **p: L.F.celu(x, **p),
)
op(
    "F.gelu",
    lambda r, x: {"approximate": str(r.choice(["none", "tanh"]))},
    lambda L, x, **p: L.F.gelu(x, **p),
)
op(
    "F.softplus",
    lambda r, x: {"beta": float(r.choice([1.0, 2.0])), "threshold": float(r.choice([20.0, 1.0]))},
    lambda L, x, **p: L.F.softplus(x, **p),
)
op(
    "F.softshrink",
    lambda r, x: {"lambd": float(r.choice([0.5, 1.0]))},
    lambda L, x, **p: L.F.softshrink(x, **p),
)
op(
    "F.hardshrink",
    lambda r, x: {"lambd": float(r.choice([0.5, 1.0]))},
    lambda L, x, **p: L.F.hardshrink(x, **p),
)
op(
    "F.threshold",
    lambda r, x: {"threshold": float(r.choice([0.0, 0.5])), "value": float(r.choice([0.0, -1.0]))},
    lambda L, x, **p: L.F.threshold(x, **p),
)
op(
    "clamp",
    lambda r, x: {"min": float(r.choice([-1.0, 0.0])), "max": float(r.choice([0.0, 1.0, 2.0]))},
    lambda L, x, **p: L.T.clamp(x, **p),
)
op(
    "clamp_min",
    lambda r, x: {"min": float(r.choice([-1.0, 0.0]))},
    lambda L, x, **p: L.T.clamp(x, **p),
)
op(
    "clamp_tensor",
    lambda r, x: {"wlo": _w(r, _bshape(r, x), x) - 1, "whi": _w(r, _bshape(r, x), x) + 1},
    lambda L, x, wlo, whi: L.T.clamp(x, min=wlo, max=whi),
)

# the operations so far act on each element alone (an operand broadcasts against x): an inf
# or NaN at one element cannot reach another's value or derivatives
ELEMENTWISE = frozenset(n for n, _, _ in OPS)

# ---- binary, broadcasting ----------------------------------------------------------------------
for _n in [
    "add",
    "sub",
    "mul",
    "div",
    "maximum",
    "minimum",
    "atan2",
    "hypot",
    "logaddexp",
    "fmod",
    "remainder",
    "xlogy",
    "pow",
]:
    op(
        _n,
        lambda r, x: {"w": _w(r, _bshape(r, x), x)},
        (lambda n: lambda L, x, w: getattr(L.T, n)(x, w))(_n),
    )
op("rdiv", lambda r, x: {"w": _w(r, _bshape(r, x), x)}, lambda L, x, w: w / x)
op(
    "where",
    lambda r, x: {"c": r.random(_bshape(r, x)) < 0.5, "w": _w(r, _bshape(r, x), x)},
    lambda L, x, c, w: L.T.where(c, x, w),
)
op("where_log", lambda r, x: {}, lambda L, x: L.T.where(x > 0, L.T.log(L.T.abs(x)), x))
op(
    "lerp",
    lambda r, x: {"w": _w(r, x.shape, x), "weight": float(r.uniform(0, 1))},
    lambda L, x, w, weight: L.T.lerp(x, w, weight),
)
op(
    "masked_fill",
    lambda r, x: {
        "m": r.random(_bshape(r, x)) < 0.5,
        "value": float(r.choice([0.0, -np.inf, 1.0])),
    },
    lambda L, x, m, value: x.masked_fill(m, value),
)


# ---- reductions --------------------------------------------------------------------------------
def _red(r, x):
    return {"dim": _dim(r, x, allow_none=True), "keepdim": bool(r.random() < 0.3)}


def _red_dim(r, x):
    return {"dim": _dim(r, x), "keepdim": bool(r.random() < 0.3)}


def _kw(p):
    return {k: v for k, v in p.items() if v is not None}


op("sum", _red, lambda L, x, **p: x.sum(**_kw(p)) if p["dim"] is not None else x.sum())
op("mean", _red, lambda L, x, **p: x.mean(**_kw(p)) if p["dim"] is not None else x.mean())
op("prod", _red_dim, lambda L, x, **p: x.prod(**p))
op(
    "var",
    lambda r, x: dict(_red(r, x), correction=int(r.choice([0, 1]))),
    lambda L, x, dim, keepdim, correction: L.T.var(x, dim, keepdim=keepdim, correction=correction),
)
op(
    "std",
    lambda r, x: dict(_red(r, x), correction=int(r.choice([0, 1]))),
    lambda L, x, dim, keepdim, correction: L.T.std(x, dim, keepdim=keepdim, correction=correction),
)
op("amax", _red_dim, lambda L, x, **p: L.T.amax(x, **p))
op("amin", _red_dim, lambda L, x, **p: L.T.amin(x, **p))
op("max_all", lambda r, x: {}, lambda L, x: x.max())
op("max_dim", _red_dim, lambda L, x, **p: x.max(**p).values)
op("min_dim", _red_dim, lambda L, x, **p: x.min(**p).values)
op("logsumexp", _red_dim, lambda L, x, **p: L.T.logsumexp(x, **p))
op(
    "norm",
    lambda r, x: dict(_red(r, x), p=float(r.choice([1, 2, 3, np.inf]))),
    lambda L, x, dim, keepdim, p: L.T.norm(x, p=p, dim=dim, keepdim=keepdim),
)
op("median_all", lambda r, x: {}, lambda L, x: x.median())
# torch 2.13's median along a dim of stride 0 (an expand's new dim) reads past the data and
# returns garbage (torch.arange(6.).view(3, 2).expand(3, 3, 2).median(0) starts 1, 2 instead
# of 0, 1); its result on the same values made contiguous is the reference handgrad matches
op(
    "median_dim",
    _red_dim,
    lambda L, x, **p: (x.contiguous() if L.name == "torch" else x).median(**p).values,
)
op(
    "kthvalue",
    lambda r, x: dict(
        _red_dim(r, x), k=1 + int(r.integers(0, max(1, x.shape[0] if x.ndim else 1)))
    ),
    lambda L, x, dim, keepdim, k: L.T.kthvalue(x, k, dim, keepdim).values,
)
for _n in ["cumsum", "cumprod", "logcumsumexp"]:
    op(
        _n,
        lambda r, x: {"dim": _dim(r, x)},
        (lambda n: lambda L, x, dim: getattr(L.T, n)(x, dim))(_n),
    )
op("cummax", lambda r, x: {"dim": _dim(r, x)}, lambda L, x, dim: L.T.cummax(x, dim).values)
op("cummin", lambda r, x: {"dim": _dim(r, x)}, lambda L, x, dim: L.T.cummin(x, dim).values)
op("softmax", lambda r, x: {"dim": _dim(r, x)}, lambda L, x, dim: L.T.softmax(x, dim))
op("log_softmax", lambda r, x: {"dim": _dim(r, x)}, lambda L, x, dim: L.T.log_softmax(x, dim))
op("F.softmin", lambda r, x: {"dim": _dim(r, x)}, lambda L, x, dim: L.F.softmin(x, dim))
op(
    "sort",
    lambda r, x: {"dim": _dim(r, x), "descending": bool(r.random() < 0.5)},
    lambda L, x, **p: L.T.sort(x, **p).values,
)
op(
    "topk",
    lambda r, x: (
        None
        if x.ndim == 0
        else {
            "dim": (d := _dim(r, x)),
            "k": int(r.integers(0, x.shape[d] + 1)),
            "largest": bool(r.random() < 0.5),
        }
    ),
    lambda L, x, **p: L.T.topk(x, **p).values,
)

# ---- shape and indexing ------------------------------------------------------------------------
op("flatten", lambda r, x: {}, lambda L, x: x.reshape(-1))
op("reshape_rev", lambda r, x: {}, lambda L, x: x.reshape(tuple(reversed(x.shape))))
op(
    "transpose",
    lambda r, x: {"a": _dim(r, x), "b": _dim(r, x)},
    lambda L, x, a, b: x.transpose(a, b),
)
op(
    "permute",
    lambda r, x: {"p": [int(i) for i in r.permutation(x.ndim)]},
    lambda L, x, p: x.permute(*p),
)
op(
    "movedim",
    lambda r, x: {"a": _dim(r, x), "b": _dim(r, x)},
    lambda L, x, a, b: L.T.movedim(x, a, b),
)
op(
    "unsqueeze",
    lambda r, x: {"d": int(r.integers(-x.ndim - 1, x.ndim + 1))},
    lambda L, x, d: x.unsqueeze(d),
)
op("squeeze", lambda r, x: {}, lambda L, x: x.squeeze())
op("flip", lambda r, x: {"d": [_dim(r, x)] if x.ndim else []}, lambda L, x, d: x.flip(d))
op(
    "roll",
    lambda r, x: None if x.ndim == 0 else {"s": int(r.integers(-3, 4)), "d": _dim(r, x)},
    lambda L, x, s, d: L.T.roll(x, s, d),
)
op("mT", lambda r, x: {}, lambda L, x: x.mT)
op("t", lambda r, x: None if x.ndim > 2 else {}, lambda L, x: x.t())
op(
    "tril",
    lambda r, x: None if x.ndim < 2 else {"k": int(r.integers(-1, 2))},
    lambda L, x, k: L.T.tril(x, k),
)
op("diagonal", lambda r, x: None if x.ndim < 2 else {}, lambda L, x: L.T.diagonal(x))
op(
    "narrow",
    lambda r, x: (
        None
        if x.ndim == 0
        else {
            "d": (d := _dim(r, x)),
            "s": (s := int(r.integers(0, x.shape[d] + 1))),
            "n": int(r.integers(0, x.shape[d] - s + 1)),
        }
    ),
    lambda L, x, d, s, n: x.narrow(d, s, n),
)
op(
    "chunk",
    lambda r, x: None if x.ndim == 0 else {"c": int(r.integers(1, 4)), "d": _dim(r, x)},
    lambda L, x, c, d: x.chunk(c, d)[0] if x.chunk(c, d) else x,
)
op(
    "split_last",
    lambda r, x: None if x.ndim == 0 else {"s": int(r.integers(1, 3)), "d": _dim(r, x)},
    lambda L, x, s, d: x.split(s, d)[-1],
)
op("expand", lambda r, x: {"n": int(r.integers(0, 3))}, lambda L, x, n: x.expand(n, *x.shape))
op(
    "repeat",
    lambda r, x: {"rep": [int(r.integers(0, 3)) for _ in range(x.ndim)] or [2]},
    lambda L, x, rep: x.repeat(*rep),
)
op(
    "cat",
    lambda r, x: None if x.ndim == 0 else {"d": _dim(r, x)},
    lambda L, x, d: L.T.cat([x, x * 2], d),
)
op(
    "stack",
    lambda r, x: {"d": int(r.integers(-x.ndim - 1, x.ndim + 1))},
    lambda L, x, d: L.T.stack([x, -x], d),
)
op(
    "gather",
    lambda r, x: (
        None
        if x.ndim == 0 and False
        else {
            "d": (d := _dim(r, x)),
            "i": r.integers(
                0,
                max(1, (x.shape[d] if x.ndim else 1)),
                size=[
                    int(r.integers(0, n + 1))
                    if i == (d % max(x.ndim, 1))
                    else int(r.integers(0, n + 1))
                    for i, n in enumerate(x.shape)
                ],
            )
            if (x.shape[d] if x.ndim else 1) > 0
            else np.zeros([0] * x.ndim, np.int64),
        }
    ),
    lambda L, x, d, i: L.T.gather(x, d, i),
)
op(
    "index_select",
    lambda r, x: (
        None
        if x.ndim == 0 or x.shape[0] == 0
        else {"i": r.integers(0, x.shape[0], size=int(r.integers(0, 4)))}
    ),
    lambda L, x, i: L.T.index_select(x, 0, i),
)
op(
    "getitem_slice",
    lambda r, x: None if x.ndim == 0 else {"a": int(r.integers(-2, 2)), "s": int(r.choice([1, 2]))},
    lambda L, x, a, s: x[a::s],
)
op(
    "getitem_int",
    lambda r, x: (
        None if x.ndim == 0 or x.shape[0] == 0 else {"i": int(r.integers(-x.shape[0], x.shape[0]))}
    ),
    lambda L, x, i: x[i],
)
op(
    "getitem_bool",
    lambda r, x: None if x.ndim == 0 else {"m": r.random(x.shape[0]) < 0.5},
    lambda L, x, m: x[m],
)
op(
    "getitem_array",
    lambda r, x: (
        None
        if x.ndim == 0 or x.shape[0] == 0
        else {"i": r.integers(-x.shape[0], x.shape[0], size=int(r.integers(0, 4)))}
    ),
    lambda L, x, i: x[i],
)
op(
    "masked_select",
    lambda r, x: {"m": r.random(x.shape) < 0.5},
    lambda L, x, m: L.T.masked_select(x, m),
)
op(
    "diff",
    lambda r, x: None if x.ndim == 0 else {"d": _dim(r, x)},
    lambda L, x, d: L.T.diff(x, dim=d),
)
op(
    "F.pad",
    lambda r, x: (
        None
        if x.ndim == 0
        else {
            "p": [int(r.integers(0, 3)), int(r.integers(-1, 3))],
            "value": float(r.choice([0.0, 1.5])),
        }
    ),
    lambda L, x, p, value: L.F.pad(x, p, value=value),
)

# ---- linear algebra ----------------------------------------------------------------------------
op(
    "matmul",
    lambda r, x: None if x.ndim == 0 else {"w": _w(r, (x.shape[-1], int(r.integers(0, 4))), x)},
    lambda L, x, w: L.T.matmul(x, w),
)
op(
    "rmatmul",
    lambda r, x: None if x.ndim == 0 else {"w": _w(r, (int(r.integers(0, 4)), x.shape[0]), x)},
    lambda L, x, w: L.T.matmul(w, x),
)
op(
    "F.linear",
    lambda r, x: (
        None
        if x.ndim == 0
        else {"w": _w(r, ((o := int(r.integers(0, 4))), x.shape[-1]), x), "wb": _w(r, (o,), x)}
    ),
    lambda L, x, w, wb: L.F.linear(x, w, wb),
)
op(
    "einsum",
    lambda r, x: None if x.ndim == 0 else {"w": _w(r, (x.shape[-1], int(r.integers(0, 4))), x)},
    lambda L, x, w: L.T.einsum("...i,ij->...j", x, w),
)
op(
    "einsum_trace",
    lambda r, x: None if x.ndim < 2 or x.shape[-1] != x.shape[-2] else {},
    lambda L, x: L.T.einsum("...ii->...", x),
)
op(
    "outer",
    lambda r, x: None if x.ndim != 1 else {"w": _w(r, (int(r.integers(0, 4)),), x)},
    lambda L, x, w: L.T.outer(x, w),
)


# ---- convolution, pooling, resampling (on (N, C, L) and (N, C, H, W) values) ---------------------
def _conv(r, x, nd):
    if x.ndim != nd + 2:
        return None
    c = x.shape[1]
    groups = int(r.choice([g for g in (1, 2, 3) if c % g == 0] or [1])) if c else 1
    k = [int(r.integers(1, 4)) for _ in range(nd)]
    p = {
        "stride": int(r.integers(1, 3)),
        "padding": int(r.integers(0, 2)),
        "dilation": int(r.integers(1, 3)),
        "groups": groups,
    }
    out = groups * int(r.integers(1, 3))
    p["w"] = _w(r, (out, c // groups if groups else c, *k), x, "normal")
    p["wb"] = _w(r, (out,), x, "normal") if r.random() < 0.7 else None
    return p


def _convt(r, x, nd):
    if x.ndim != nd + 2:
        return None
    c = x.shape[1]
    groups = int(r.choice([g for g in (1, 2) if c % g == 0] or [1])) if c else 1
    k = [int(r.integers(1, 4)) for _ in range(nd)]
    stride = int(r.integers(1, 3))
    dil = int(r.integers(1, 3))
    p = {
        "stride": stride,
        "padding": int(r.integers(0, 2)),
        "dilation": dil,
        "groups": groups,
        "output_padding": int(r.integers(0, min(stride, dil))) if max(stride, dil) > 1 else 0,
    }
    p["w"] = _w(r, (c, int(r.integers(1, 3)), *k), x, "normal")
    p["wb"] = None
    return p


def _torch_safe(L, x, w, dilation):
    """x as torch can take it: torch 2.13's CPU convolution crashes the process (a segfault in
    libtorch_cpu) on an input whose strides are not C-order, with a kernel dim of 1 under
    dilation > 1 (fuzz seed 684019248: conv1d of a permuted (5, 2, 1) with kernel 1, stride 2,
    padding 1, dilation 2), so torch gets such an input with C-order strides (is_contiguous()
    is no test: the permuted (5, 2, 1) has strides (2, 1, 2) and counts as contiguous); the
    values are the same, and handgrad's input is unchanged."""
    if L.name != "torch" or w is None:
        return x
    d = (dilation,) * (w.ndim - 2) if isinstance(dilation, int) else tuple(dilation)
    if not any(k == 1 and dd > 1 for k, dd in zip(w.shape[2:], d)):
        return x
    c_order = torch.empty(x.shape).stride()
    return x if x.stride() == c_order else x.clone(memory_format=torch.contiguous_format)


op(
    "F.conv1d",
    lambda r, x: _conv(r, x, 1),
    lambda L, x, w, wb, **p: L.F.conv1d(_torch_safe(L, x, w, p["dilation"]), w, wb, **p),
)
op(
    "F.conv2d",
    lambda r, x: _conv(r, x, 2),
    lambda L, x, w, wb, **p: L.F.conv2d(_torch_safe(L, x, w, p["dilation"]), w, wb, **p),
)
op(
    "F.conv_transpose1d",
    lambda r, x: _convt(r, x, 1),
    lambda L, x, w, wb, **p: L.F.conv_transpose1d(x, w, wb, **p),
)
op(
    "F.conv_transpose2d",
    lambda r, x: _convt(r, x, 2),
    lambda L, x, w, wb, **p: L.F.conv_transpose2d(x, w, wb, **p),
)


def _pool(r, x, nd, dil=True):
    if x.ndim != nd + 2:
        return None
    k = int(r.integers(1, 4))
    p = {
        "kernel_size": k,
        "stride": int(r.integers(1, 3)),
        "padding": int(r.integers(0, k // 2 + 1)),
        "ceil_mode": bool(r.random() < 0.3),
    }
    if dil:
        p["dilation"] = int(r.integers(1, 3))
    return p


def _max_pool(r, x, nd):
    """Max-pooling parameters whose every window reads at least one input element: torch 2.13's
    max_pool backward on a window entirely in the padding writes out of bounds (heap corruption
    that kills the process; handgrad returns -inf with a zero gradient there)."""
    p = _pool(r, x, nd)
    if p is None:
        return None
    for n in x.shape[2:]:
        k, s, pad, d = p["kernel_size"], p["stride"], p["padding"], p["dilation"]
        span = d * (k - 1) + 1
        num = n + 2 * pad - span
        out = (-(-num // s) if p["ceil_mode"] else num // s) + 1
        if p["ceil_mode"] and out > 1 and (out - 1) * s >= n + pad:
            out -= 1
        for o in range(max(out, 0)):
            if not any(0 <= o * s - pad + t * d < n for t in range(k)):
                return None
    return p


op("F.max_pool1d", lambda r, x: _max_pool(r, x, 1), lambda L, x, **p: L.F.max_pool1d(x, **p))
op("F.max_pool2d", lambda r, x: _max_pool(r, x, 2), lambda L, x, **p: L.F.max_pool2d(x, **p))
op(
    "F.avg_pool1d",
    lambda r, x: (p := _pool(r, x, 1, False)) and dict(p, count_include_pad=bool(r.random() < 0.5)),
    lambda L, x, **p: L.F.avg_pool1d(x, **p),
)
op(
    "F.avg_pool2d",
    lambda r, x: (p := _pool(r, x, 2, False)) and dict(p, count_include_pad=bool(r.random() < 0.5)),
    lambda L, x, **p: L.F.avg_pool2d(x, **p),
)
op(
    "F.lp_pool1d",
    lambda r, x: (
        None
        if x.ndim != 3
        else {
            "norm_type": float(r.choice([1.0, 2.0])),
            "kernel_size": int(r.integers(1, 3)),
            "stride": int(r.integers(1, 3)),
        }
    ),
    lambda L, x, **p: L.F.lp_pool1d(x, **p),
)
op(
    "F.lp_pool2d",
    lambda r, x: (
        None
        if x.ndim != 4
        else {
            "norm_type": float(r.choice([1.0, 2.0])),
            "kernel_size": int(r.integers(1, 3)),
            "stride": int(r.integers(1, 3)),
        }
    ),
    lambda L, x, **p: L.F.lp_pool2d(x, **p),
)
op(
    "F.adaptive_avg_pool1d",
    lambda r, x: None if x.ndim != 3 else {"o": int(r.integers(1, 5))},
    lambda L, x, o: L.F.adaptive_avg_pool1d(x, o),
)
op(
    "F.adaptive_avg_pool2d",
    lambda r, x: None if x.ndim != 4 else {"o": [int(r.integers(1, 5)), int(r.integers(1, 5))]},
    lambda L, x, o: L.F.adaptive_avg_pool2d(x, o),
)
op(
    "F.adaptive_max_pool1d",
    lambda r, x: None if x.ndim != 3 else {"o": int(r.integers(1, 5))},
    lambda L, x, o: L.F.adaptive_max_pool1d(x, o),
)
op(
    "F.adaptive_max_pool2d",
    lambda r, x: None if x.ndim != 4 else {"o": [int(r.integers(1, 5)), int(r.integers(1, 5))]},
    lambda L, x, o: L.F.adaptive_max_pool2d(x, o),
)
op(
    "F.interpolate",
    lambda r, x: (
        None
        if x.ndim not in (3, 4)
        else {
            "size": [int(r.integers(1, 6)) for _ in range(x.ndim - 2)],
            "mode": (m := str(r.choice(["nearest", "linear" if x.ndim == 3 else "bilinear"]))),
            "align_corners": None if m == "nearest" else bool(r.random() < 0.5),
        }
    ),
    lambda L, x, **p: L.F.interpolate(x, **p),
)


# ---- normalization -----------------------------------------------------------------------------
def _contiguous_grad(L, y):
    """y, with torch's upstream gradient made contiguous before it reaches y's backward.

    torch's CPU batch-norm backward (instance_norm runs as one) reads its input as if it were
    channels-last when the upstream gradient's strides look channels-last (a transpose or permute
    after it, with a size-1 dim) and the input's do not: a wrong gradient in every element
    (fuzz seeds 754049548, 130550826, 1554077074; docs/differences.md,
    batch_norm_channels_last_upstream). handgrad has no memory formats; the fuzzer compares it
    with torch's value for the same gradient laid out contiguously."""
    if L.name != "torch":
        return y
    return _ContiguousGrad.apply(y)


class _ContiguousGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y):
        return y.view_as(y)

    @staticmethod
    def backward(ctx, g):
        return g.contiguous()  # differentiable: a second derivative records it


op(
    "F.layer_norm",
    lambda r, x: (
        None
        if x.ndim == 0
        else {
            "n": (n := int(r.integers(1, x.ndim + 1))),
            "w": _w(r, x.shape[-n:], x, "normal"),
            "wb": _w(r, x.shape[-n:], x, "normal"),
        }
    ),
    lambda L, x, n, w, wb: L.F.layer_norm(x, tuple(x.shape[-n:]), w, wb),
)


def _channel_first(x):
    # x's values in channel-first memory (a flatten copies in C order: handgrad's contiguous()
    # keeps the layout, its values being all it promises)
    t = x.transpose(0, 1)
    return t.flatten(1).reshape(tuple(t.shape)).transpose(0, 1)


op(
    "F.batch_norm",
    lambda r, x: (
        None
        if x.ndim < 2
        else {"w": _w(r, (x.shape[1],), x, "normal"), "wb": _w(r, (x.shape[1],), x, "normal")}
    ),
    # an odd batch on channel-first memory, as a convolution leaves it, where handgrad's
    # channel-row kernels (ops/_rows.py) run; chosen by the shape, so that no seed's program
    # changes (a new op or a new draw would change every later draw)
    lambda L, x, w, wb: _contiguous_grad(
        L,
        L.F.batch_norm(
            _channel_first(x) if x.shape[0] % 2 else x, None, None, w, wb, training=True
        ),
    ),
)


op(
    "F.group_norm",
    lambda r, x: (
        None
        if x.ndim < 2 or x.shape[1] == 0
        else {
            "g": int(r.choice([g for g in (1, 2, 3) if x.shape[1] % g == 0])),
            "w": _w(r, (x.shape[1],), x, "normal"),
            "wb": _w(r, (x.shape[1],), x, "normal"),
        }
    ),
    lambda L, x, g, w, wb: L.F.group_norm(x, g, w, wb),
)
op(
    "F.instance_norm",
    lambda r, x: None if x.ndim < 3 else {},
    lambda L, x: _contiguous_grad(L, L.F.instance_norm(x)),
)
op(
    "F.normalize",
    lambda r, x: {"p": float(r.choice([1.0, 2.0])), "dim": _dim(r, x) if x.ndim else 0},
    lambda L, x, **p: L.F.normalize(x, **p),
)
op(
    "F.rms_norm",
    lambda r, x: None if x.ndim == 0 else {"w": _w(r, x.shape[-1:], x, "normal")},
    lambda L, x, w: L.F.rms_norm(x, tuple(x.shape[-1:]), w),
)
op(
    "F.local_response_norm",
    lambda r, x: None if x.ndim != 3 and x.ndim != 4 else {"size": int(r.integers(1, 4))},
    lambda L, x, size: L.F.local_response_norm(x, size),
)

# ---- losses ------------------------------------------------------------------------------------
_RED = ["mean", "sum", "none"]


def _ce(r, x):
    if x.ndim == 0 or x.ndim > 3:
        return None
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    if c == 0:
        return None
    tshape = () if x.ndim == 1 else (x.shape[0], *x.shape[2:])
    ignore = int(r.choice([-100, 0, 1]))
    t = r.integers(0, c, size=tshape)
    if r.random() < 0.4:
        t = np.where(r.random(tshape) < 0.6, ignore, t)
    return {
        "t": np.asarray(t, np.int64),
        "reduction": str(r.choice(_RED)),
        "ignore_index": ignore,
        "label_smoothing": float(r.choice([0.0, 0.0, 0.1])),
        "weight": (r.uniform(0.5, 2, c).astype(x.dtype_np) if r.random() < 0.3 else None),
    }


def _ce_fn(L, x, t, weight, **p):
    return L.F.cross_entropy(x, t, weight=None if weight is None else L.c(weight), **p)


def _nll_fn(L, x, t, weight, label_smoothing, **p):
    return L.F.nll_loss(x, t, weight=None if weight is None else L.c(weight), **p)


op("F.cross_entropy", _ce, _ce_fn)
op("F.nll_loss", _ce, _nll_fn)
op(
    "F.cross_entropy_probs",
    lambda r, x: (
        None
        if x.ndim != 2
        else {
            "p": r.dirichlet(np.ones(x.shape[1]), x.shape[0]).astype(x.dtype_np)
            if x.shape[1]
            else None,
            "label_smoothing": float(r.choice([0.0, 0.2])),
            "reduction": str(r.choice(_RED)),
        }
    ),
    lambda L, x, p, **k: L.F.cross_entropy(x, L.c(p), **k) if p is not None else x,
)
for _n, _extra in [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.5}),
    ("huber_loss", {"delta": 0.7}),
    ("soft_margin_loss", {}),
    ("binary_cross_entropy_with_logits", {}),
    ("poisson_nll_loss", {}),
]:
    op(
        "F." + _n,
        (lambda e: lambda r, x: dict(e, w=_w(r, x.shape, x), reduction=str(r.choice(_RED))))(
            _extra
        ),
        (lambda n: lambda L, x, w, **p: getattr(L.F, n)(x, w.detach(), **p))(_n),
    )
op(
    "F.kl_div",
    lambda r, x: {
        "w": _w(r, x.shape, x),
        "reduction": str(r.choice(["sum", "none", "batchmean"])),
        "log_target": bool(r.random() < 0.5),
    },
    lambda L, x, w, **p: L.F.kl_div(x, w.detach(), **p),
)
op(
    "F.binary_cross_entropy",
    lambda r, x: {
        "t": r.uniform(0, 1, x.shape).astype(x.dtype_np),
        "reduction": str(r.choice(_RED)),
    },
    lambda L, x, t, **p: L.F.binary_cross_entropy(L.T.sigmoid(x), L.c(t), **p),
)
op(
    "F.cosine_similarity",
    lambda r, x: None if x.ndim == 0 else {"w": _w(r, _bshape(r, x), x), "dim": -1},
    lambda L, x, w, dim: L.F.cosine_similarity(x, w, dim),
)
op(
    "F.pairwise_distance",
    lambda r, x: (
        None if x.ndim == 0 else {"w": _w(r, x.shape, x), "p": float(r.choice([1.0, 2.0]))}
    ),
    lambda L, x, w, p: L.F.pairwise_distance(x, w, p),
)
op(
    "F.gaussian_nll_loss",
    lambda r, x: {
        "t": _w(r, x.shape, x, "normal"),
        "v": r.uniform(0.1, 2, x.shape).astype(x.dtype_np),
    },
    lambda L, x, t, v: L.F.gaussian_nll_loss(x, L.c(t), L.c(v)),
)
op(
    "F.margin_ranking_loss",
    lambda r, x: {
        "w": _w(r, x.shape, x),
        "y": r.choice([-1.0, 1.0], x.shape).astype(x.dtype_np),
        "margin": float(r.choice([0.0, 0.5])),
    },
    lambda L, x, w, y, margin: L.F.margin_ranking_loss(x, w, L.c(y), margin=margin),
)
op(
    "F.hinge_embedding_loss",
    lambda r, x: {"y": r.choice([-1.0, 1.0], x.shape).astype(x.dtype_np)},
    lambda L, x, y: L.F.hinge_embedding_loss(x, L.c(y)),
)

NAMES = [name for name, _, _ in OPS]
BY_NAME = {name: (gen, fn) for name, gen, fn in OPS}
