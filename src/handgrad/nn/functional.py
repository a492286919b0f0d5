"""``handgrad.nn.functional`` (import as ``F``): activations, losses and layers as functions, with
PyTorch's names, signatures and defaults. Most are compositions of primitives, so their gradients
(and second derivatives) come from the primitives' hand-derived rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..ops import log_softmax, pad, relu, sigmoid, softmax, softplus, tanh  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import NllLoss
from ..random import _generator
from ..tensor import Tensor, lift

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(op: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: target shape {target.shape} must equal input shape {input.shape}"
        )


# ---- activations -------------------------------------------------------------------------------


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope x otherwise (the slope applies at 0, as in PyTorch)."""
    return ops.where(input > 0, input, input * negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2; ``approximate='tanh'``
    uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2 / math.pi)
        return input * 0.5 * (tanh(inner) + 1)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return input * 0.5 * (ops.erf(input * (1 / math.sqrt(2))) + 1)


def silu(input: Tensor) -> Tensor:
    return input * sigmoid(input)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return ops.where(input > 0, input, (ops.exp(ops.clamp(input, max=0.0)) - 1) * alpha)


def logsigmoid(input: Tensor) -> Tensor:
    return -softplus(-input, threshold=float("inf"))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Any = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (inverted
    dropout, so evaluation needs no rescaling)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = _generator(generator).random(input.shape) >= p
    return input * Tensor._wrap((keep / (1 - p)).astype(input.dtype))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    idx = lift(tensor)._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer tensor, got {idx.dtype}")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise RuntimeError(f"one_hot: class values must be in [0, {n}), got {idx.min()}..{idx.max()}")
    return Tensor._wrap((idx[..., None] == np.arange(n)).astype(np.int64))


# ---- losses ------------------------------------------------------------------------------------


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target classes: -w[y_n] input[n, y_n]; ``mean`` divides by
    the sum of the weights of the non-ignored targets (PyTorch's convention)."""
    x, y = lift(input), lift(target)
    if y._data.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: target must hold class indices (int64), got {y.dtype}")
    if x.ndim == 1:
        x, y = x.unsqueeze(0), y.reshape(1)
    if x.ndim < 2 or y.shape != (x.shape[0],) + x.shape[2:]:
        raise ValueError(
            f"nll_loss: expected target of shape {(x.shape[0],) + x.shape[2:]} for input of shape "
            f"{x.shape}, got {y.shape}"
        )
    c = x.shape[1]
    if reduction not in _REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    yy = y._data
    lo, hi = (int(yy.min()), int(yy.max())) if yy.size else (0, 0)
    if lo <= ignore_index <= hi:
        keep = yy != ignore_index
        yy = np.where(keep, yy, 0)
        lo, hi = (int(yy.min()), int(yy.max())) if yy.size else (0, 0)
        w = keep.astype(x.dtype)
    else:
        w = None  # every target counts with weight 1: the common case, kept cheap
    if lo < 0 or hi >= c:
        raise IndexError(f"nll_loss: target {hi if hi >= c else lo} is out of bounds for {c} classes")
    if weight is not None:
        cw = lift(weight)._data.astype(x.dtype)[yy]
        w = cw if w is None else w * cw
    if yy.ndim == 1:
        index = (np.arange(len(yy)), yy)  # (n, y_n): the target class of each example
    else:
        grids = np.indices(yy.shape, sparse=True)
        index = (grids[0], yy) + tuple(grids[1:])  # (n, y_n, d1, ...)
    total = float(yy.size) if w is None else float(w.sum())
    scale = 1.0 if reduction != "mean" else (1.0 / total if total else float("nan"))
    return NllLoss.apply(x, index=index, weights=w, scale=scale, reduction=reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of softmax(input) along dim 1 with class-index or class-probability targets:
    nll_loss(log_softmax(input, 1), target). Its gradient with respect to the logits is
    softmax(input) - onehot(target) (problem set 004, question 2), obtained here from the
    log_softmax and gather rules."""
    x, y = lift(input), lift(target)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    dim = 1 if x.ndim >= 2 else 0
    logp = log_softmax(x, dim)
    c = x.shape[dim]
    wt = None if weight is None else lift(weight, x)
    if y._data.dtype.kind == "f":  # class probabilities
        _same_shape("cross_entropy", x, y)
        if label_smoothing:
            y = y * (1 - label_smoothing) + label_smoothing / c
        terms = logp * y if wt is None else logp * y * _class_view(wt, x.ndim)
        return _reduce("cross_entropy", -terms.sum(dim), reduction)
    nll = nll_loss(logp, y, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    keep = Tensor._wrap((y._data != ignore_index).astype(x.dtype))
    wl = logp if wt is None else logp * _class_view(wt, x.ndim)
    smooth = -wl.sum(dim) * (keep if x.ndim >= 2 else keep.reshape(()))
    if reduction == "mean":
        if wt is None:
            denom = float(keep._data.sum())
        else:
            yy = np.where(keep._data > 0, y._data, 0)
            denom = float((wt._data[yy] * keep._data).sum())
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce("cross_entropy", smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _class_view(w: Tensor, ndim: int) -> Tensor:
    return w.reshape((-1,) + (1,) * (ndim - 2)) if ndim >= 2 else w


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input - target)^2, averaged (or summed)."""
    x, y = lift(input), lift(target, lift(input))
    d = x - y
    return _reduce("mse_loss", d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    x, y = lift(input), lift(target, lift(input))
    return _reduce("l1_loss", (x - y).abs(), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """-[p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] with p = pos_weight, written as
    (1 - y) x + (1 + (p - 1) y) softplus(-x): no log of a probability, so no overflow.
    Its gradient in x is sigmoid(x) - y (for p = 1)."""
    x, y = lift(input), lift(target, lift(input))
    _same_shape("binary_cross_entropy_with_logits", x, y)
    sp = softplus(-x, threshold=float("inf"))
    if pos_weight is not None:
        loss = (1 - y) * x + (1 + (lift(pos_weight, x) - 1) * y) * sp
    else:
        loss = (1 - y) * x + sp
    if weight is not None:
        loss = loss * lift(weight, x)
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-[y log p + (1 - y) log(1 - p)], each log clamped at -100 as in PyTorch."""
    p, y = lift(input), lift(target, lift(input))
    _same_shape("binary_cross_entropy", p, y)
    if p._data.size and (p._data.min() < 0 or p._data.max() > 1):
        raise RuntimeError("binary_cross_entropy: all elements of input should be in [0, 1]")
    loss = -(y * ops.clamp(ops.log(p), min=-100.0) + (1 - y) * ops.clamp(ops.log(1 - p), min=-100.0))
    if weight is not None:
        loss = loss * lift(weight, p)
    return _reduce("binary_cross_entropy", loss, reduction)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || q) with ``input`` = log q: target (log target - input), 0 where target = 0.
    ``reduction='batchmean'`` divides the sum by the batch size (the true KL per example);
    ``'mean'`` divides by the number of elements, as PyTorch does."""
    x, t = lift(input), lift(target, lift(input))
    if log_target:
        terms = t.exp() * (t - x)
    else:
        positive = t > 0
        safe = ops.where(positive, t, 1.0)
        terms = ops.where(positive, t * (ops.log(safe) - x), 0.0)
    if reduction == "batchmean":
        return terms.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce("kl_div", terms, reduction)


__all__ = [
    "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu", "silu", "elu", "logsigmoid",
    "softmax", "log_softmax", "pad", "linear", "dropout", "one_hot", "nll_loss", "cross_entropy",
    "mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy", "kl_div",
]

from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d  # noqa: E402
from ..ops.pool import (  # noqa: E402
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d,
    avg_pool1d, avg_pool2d, lp_pool1d, lp_pool2d, max_pool1d, max_pool2d,
)
from ..ops.resample import fold, interpolate, translate, unfold  # noqa: E402

__all__ += [
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "interpolate",
    "translate", "unfold", "fold",
]
