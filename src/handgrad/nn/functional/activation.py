"""Activation functions (``F.relu``, ``F.gelu``, ...). The fused ones (relu, sigmoid, tanh,
softplus, softmax, log_softmax) are primitives in ``handgrad.ops``; the rest are compositions
whose gradients are those of where, clamp, exp and tanh. Behaviour at kinks follows PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import ops
from ..._tensor import Tensor, lift
from ...ops import log_softmax, relu, sigmoid, softmax, softplus, tanh
from ...ops.special import elu_negative as _elu_negative
from ...ops.special import gelu as _gelu
from ...ops.special import hardsigmoid_middle as _hardsigmoid_middle
from ...ops.special import hardswish_middle as _hardswish_middle
from ...ops.special import leaky_relu as _leaky_relu
from ...ops.special import logsigmoid as _logsigmoid
from ...ops.special import mish as _mish
from ...ops.special import selu as _selu
from ...ops.zero_derivative import piecewise_linear_input
from ...random import _generator


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope x otherwise (the slope applies at 0, as in PyTorch): one
    primitive (``ops.special.LeakyRelu``) whose gradient is torch's leaky_relu_backward(g, x),
    tied to x with derivative 0."""
    return _leaky_relu(lift(input), negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2; ``approximate='tanh'``
    uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). A primitive (``ops.special.Gelu``)
    with torch's backward, so that g x never overflows into a NaN at huge x."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _gelu(input, approximate)


def silu(input: Tensor) -> Tensor:
    """x sigmoid(x), a primitive (``ops.elementwise.Silu``)."""
    return ops.silu(input)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise. The exponential branch reads x only where it is
    selected (0 elsewhere), so its unselected gradient is an exact 0 even at x = +inf. torch's
    kernels branch on x <= 0, so a NaN takes the linear side: value NaN, gradient g (fuzz seed
    907696075: torch 0 at the leaf, handgrad NaN through the exponential side)."""
    x = lift(input)
    pos = ~(x <= 0)
    return ops.where(
        pos, x, _elu_negative(ops.where(pos, 0.0, x), alpha=alpha, scale=1.0, grad_scale=1.0)
    )


def logsigmoid(input: Tensor) -> Tensor:
    return _logsigmoid(input)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clamped to [min_val, max_val]. Gradient g strictly inside, 0 on the boundaries, outside
    and at NaN (torch's hardtanh_backward, unlike clamp's which passes on the boundaries; at NaN
    its vectorised body gives 0, its scalar path g: docs/differences.md). Selected, so an
    infinite g outside gives 0."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val={min_val} must not exceed max_val={max_val}")
    x = piecewise_linear_input(lift(input))
    inside = (x > min_val) & (x < max_val)  # a NaN is not inside: gradient 0, value NaN (torch)
    return ops.where(inside, x, ops.clamp(x, min_val, max_val).detach())


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x for x > 0, alpha (e^x - 1) otherwise) with the constants of Klambauer et al.
    (2017) that make zero mean and unit variance a fixed point."""
    return _selu(input)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^(x / alpha) - 1) otherwise (continuously differentiable at 0); see
    ``elu`` for the branch that reads x only where selected."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    x = lift(input)
    pos = ~(x <= 0)  # a NaN on the linear side, as torch's kernel (see elu)
    # x * (1 / alpha), as torch's celu, which calls elu with input_scale = 1 / alpha
    s, s_grad = 1.0 / alpha, 1.0 / float(np.float32(alpha))
    neg = _elu_negative(ops.where(pos, 0.0, x), alpha=alpha, scale=s, grad_scale=s_grad)
    return ops.where(pos, x, neg)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between. Gradient g / 6 strictly
    between -3 and 3 (torch's float32 sixth, ``ops.special.HardsigmoidMiddle``), else 0 (a NaN
    included), as torch's hardsigmoid_backward."""
    x = lift(input)
    inside = (x > -3) & (x < 3)
    return ops.where(inside, _hardsigmoid_middle(x), (ops.clamp(x, -3.0, 3.0) / 6 + 0.5).detach())


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6 (Howard et al. 2019): 0 up to -3, x from 3, x (x + 3) / 6 between.
    The branches and their boundaries are torch's (gradient 0 at -3, 1 at 3; a NaN takes x), so
    the gradients match on them (a NaN takes the middle: NaN gradient). The middle branch reads x
    only where selected, so its unselected
    gradient is an exact 0 even at +-inf."""
    x = lift(input)
    low, mid = x <= -3, ((x > -3) & (x < 3)) | ops.isnan(x)  # NaN: NaN value and gradient
    xm = ops.where(mid, x, 0.0)
    # up to -3 the value is x * 0 (NaN at -inf, as torch) with gradient 0 (detached)
    return ops.where(low, (x * 0.0).detach(), ops.where(mid, _hardswish_middle(xm), x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) (Misra 2019), a primitive (``ops.special.Mish``) with torch's
    backward, so that g x never overflows into a NaN at huge x."""
    return _mish(input)


def softmin(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``."""
    return softmax(-lift(input), dim, dtype)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - tanh(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """The soft-thresholding operator, the proximal map of lambd |x| (see hg.sparse):
    x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    x = piecewise_linear_input(lift(input))
    # inside [-lambd, lambd] and at NaN: the value x * 0 (+-0 with x's sign, or NaN) with
    # gradient 0, as torch
    return ops.where(x > lambd, x - lambd, ops.where(x < -lambd, x + lambd, (x * 0.0).detach()))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (a NaN stays NaN with gradient 0, as in torch)."""
    x = piecewise_linear_input(lift(input))
    return ops.where((x > lambd) | (x < -lambd), x, ops.abs(x * 0.0).detach())  # +0 or NaN


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value (a NaN stays NaN, as in torch)."""
    x = piecewise_linear_input(lift(input))
    return ops.where(x <= threshold, value, x)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit (Dauphin et al. 2017): a sigmoid(b), with a and b the two halves of the
    input along ``dim``."""
    x = lift(input)
    n = x.shape[dim] if x.ndim else 0
    if n % 2:
        raise RuntimeError(
            f"glu: halving dimension {dim} of shape {x.shape} needs an even size, got {n}"
        )
    a, b = ops.chunk(x, 2, dim)
    return a * sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight min(0, x), with one slope or one per channel (dim 1)."""
    x, w = lift(input), lift(weight)
    if w.numel() != 1:
        c = x.shape[1] if x.ndim >= 2 else x.shape[0] if x.ndim else 1
        if w.numel() != c:
            raise RuntimeError(
                f"prelu: {w.numel()} slopes for an input of shape {x.shape} "
                f"(expected 1 or {c}, the channel count)"
            )
        w = w.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else w
    return ops.relu(x) - ops.relu(-x) * w


def gumbel_softmax(
    logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """softmax((logits + G) / tau) with G standard Gumbel noise (-log of an Exponential(1) draw
    from handgrad's generator), as torch's. With ``hard`` the value is the one-hot of the
    argmax, and the gradient that of the soft sample (the straight-through estimator:
    y_hard - y_soft.detach() + y_soft)."""
    x = lift(logits)
    noise = -np.log(_generator(None).exponential(1.0, x.shape)).astype(x._data.dtype)
    y_soft = softmax((x + Tensor._wrap(noise)) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft._data.argmax(axis=dim)
    one_hot = np.zeros_like(y_soft._data)
    np.put_along_axis(one_hot, np.expand_dims(index, dim), 1.0, axis=dim)
    return Tensor._wrap(one_hot) - y_soft.detach() + y_soft


__all__ = [
    "gumbel_softmax",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softplus",
    "gelu",
    "silu",
    "elu",
    "logsigmoid",
    "softmax",
    "log_softmax",
    "hardtanh",
    "relu6",
    "selu",
    "celu",
    "softsign",
    "hardsigmoid",
    "hardswish",
    "mish",
    "softmin",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "threshold",
    "glu",
    "prelu",
]
