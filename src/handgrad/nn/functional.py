"""``handgrad.nn.functional`` (import as ``F``): activations, losses and layers as functions, with
PyTorch's names, signatures and defaults. Most are compositions of primitives, so their gradients
(and second derivatives) come from the primitives' hand-derived rules."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import ops
from ..ops import log_softmax, pad, relu, sigmoid, softmax, softplus, tanh  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import BinaryCrossEntropy, NllLoss
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
    """-[y log p + (1 - y) log(1 - p)], each log clamped at -100 as in PyTorch, whose gradient at
    a saturated prediction (p exactly 0 or 1) it also has (``ops.loss.BinaryCrossEntropy``)."""
    p, y = lift(input), lift(target, lift(input))
    _same_shape("binary_cross_entropy", p, y)
    if p._data.size and not ((p._data >= 0) & (p._data <= 1)).all():
        bad = p._data[~((p._data >= 0) & (p._data <= 1))]
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and "
                           f"1, got {bad.size} outside, e.g. {bad.flat[0]}")
    loss = BinaryCrossEntropy.apply(p, y)
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

# ---- more activations (compositions: the gradients are those of where, clamp, exp, tanh) -------


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; gradient 1 inside, 0 outside."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val={min_val} must not exceed max_val={max_val}")
    return ops.clamp(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x for x > 0, alpha (e^x - 1) otherwise) with the constants of Klambauer et al.
    (2017) that make zero mean and unit variance a fixed point."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^(x / alpha) - 1) otherwise (continuously differentiable at 0)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return ops.where(input > 0, input, (ops.exp(ops.clamp(input, max=0.0) / alpha) - 1) * alpha)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return relu6(input + 3) / 6


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x hardsigmoid(x) (Howard et al. 2019)."""
    return input * hardsigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) (Misra 2019)."""
    return input * tanh(softplus(input))


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
    return ops.where(input > lambd, input - lambd, ops.where(input < -lambd, input + lambd,
                                                            input * 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return ops.where(input.abs() > lambd, input, input * 0.0)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return ops.where(input > threshold, input, value)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit (Dauphin et al. 2017): a sigmoid(b), with a and b the two halves of the
    input along ``dim``."""
    x = lift(input)
    n = x.shape[dim] if x.ndim else 0
    if n % 2:
        raise RuntimeError(f"glu: halving dimension {dim} of shape {x.shape} needs an even size, "
                           f"got {n}")
    a, b = ops.chunk(x, 2, dim)
    return a * sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight min(0, x), with one slope or one per channel (dim 1)."""
    x, w = lift(input), lift(weight)
    if w.numel() != 1:
        c = x.shape[1] if x.ndim >= 2 else x.shape[0] if x.ndim else 1
        if w.numel() != c:
            raise RuntimeError(f"prelu: {w.numel()} slopes for an input of shape {x.shape} "
                               f"(expected 1 or {c}, the channel count)")
        w = w.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else w
    return ops.relu(x) - ops.relu(-x) * w


# ---- distances and normalisation -----------------------------------------------------------


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    x = lift(input)
    return x / ops.clamp(ops.norm(x, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / max(||x1|| ||x2||, eps) along ``dim`` (inputs broadcast)."""
    a, b = lift(x1), lift(x2)
    na, nb = ops.norm(a, 2, dim), ops.norm(b, 2, dim)
    return (a * b).sum(dim) / ops.clamp(na * nb, min=eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (eps keeps the gradient finite at x1 = x2)."""
    a, b = lift(x1), lift(x2)
    return ops.norm(a - b + eps, p, -1, keepdim)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each example over each group of C / num_groups channels and all spatial
    positions (Wu & He 2018; biased variance), then scale and shift per channel."""
    x = lift(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: {num_groups} groups need an input (N, C, ...) with C "
                           f"divisible by them, got shape {x.shape}")
    n, c = x.shape[:2]
    y, _, _ = _normalize(x.reshape(n, num_groups, -1), (2,), eps)
    y = y.reshape(x.shape)
    view = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * lift(weight, x).reshape(view)
    if bias is not None:
        y = y + lift(bias, x).reshape(view)
    return y


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each example over its spatial positions (Ulyanov et al. 2016):
    group_norm with one group per channel. Running statistics are not supported."""
    x = lift(input)
    if running_mean is not None or running_var is not None or not use_input_stats:
        raise NotImplementedError("instance_norm: running statistics are not supported "
                                  "(use_input_stats=True, no running_mean/running_var)")
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected an input (N, C, ...) with spatial dims, got "
                         f"shape {x.shape}")
    return group_norm(x, x.shape[1], weight, bias, eps)


# ---- more losses -------------------------------------------------------------------------------


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta otherwise (d = input - target); beta = 0
    is the L1 loss."""
    x, y = lift(input), lift(target, lift(input))
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    d = (x - y).abs()
    if beta == 0:
        return _reduce("smooth_l1_loss", d, reduction)
    return _reduce("smooth_l1_loss", ops.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta),
                   reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 d^2 for |d| <= delta, delta (|d| - 0.5 delta) otherwise: delta * smooth_l1(beta =
    delta)."""
    x, y = lift(input), lift(target, lift(input))
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    d = (x - y).abs()
    return _reduce("huber_loss", ops.where(d <= delta, d * d * 0.5, (d - 0.5 * delta) * delta),
                   reduction)


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dims (Zhang & Sennrich 2019), times weight; eps
    defaults to the dtype's machine epsilon, as torch."""
    x = lift(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x.shape[-k:]) != shape:
        raise RuntimeError(f"rms_norm: normalized_shape {shape} does not match the trailing dims "
                           f"of the input of shape {x.shape}")
    e = float(np.finfo(x._data.dtype).eps) if eps is None else eps
    y = x * ops.rsqrt((x * x).mean(tuple(range(x.ndim - k, x.ndim)), keepdim=True) + e)
    return y if weight is None else y * lift(weight, x)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k for weight (out, in1, in2)."""
    a, b, w = lift(input1), lift(input2), lift(weight)
    if w.ndim != 3 or a.shape[-1] != w.shape[1] or b.shape[-1] != w.shape[2]:
        raise RuntimeError(f"bilinear: inputs {a.shape} and {b.shape} do not fit weight {w.shape}")
    y = ops.einsum("...i,kij,...j->...k", a, w, b)
    return y if bias is None else y + lift(bias, y)


def _channel_dropout(op: str, input: Tensor, p: float, training: bool, nd: int) -> Tensor:
    """Zero whole channels (all positions of (n, c) together) with probability p."""
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: probability has to be between 0 and 1, but got {p}")
    x = lift(input)
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input, got shape {x.shape}")
    if not training or p == 0:
        return x
    lead = x.shape[:-nd]
    keep = _generator(None).random(lead) >= p
    scale = (keep / (1 - p)) if p < 1 else keep * 0.0
    return x * Tensor._wrap(scale.reshape(lead + (1,) * nd).astype(x.dtype))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout1d", input, p, training, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole (n, c) channels of (N, C, H, W) with probability p; torch 2.13's rules for
    other ranks: a 3-D input is taken as (N, C, L) (1-D channel dropout, with a warning that
    this will change), any other rank warns and drops each (n, c) slice (so a 2-D input gets
    element dropout), and fewer than 2 dims is an error (when training)."""
    x = lift(input)
    if x.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _feature_dropout("dropout2d", x, p, training)


def _feature_dropout(op: str, x: Tensor, p: float, training: bool) -> Tensor:
    """torch's feature_dropout: one keep/drop draw per (n, c), shared along the other dims."""
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training:
        return x
    if x.ndim < 2:
        raise RuntimeError(f"{op}: Feature dropout requires at least 2 dimensions in the input, "
                           f"got shape {x.shape}")
    if p == 0:
        return x
    lead = x.shape[:2]
    keep = _generator(None).random(lead) >= p
    scale = (keep / (1 - p)) if p < 1 else keep * 0.0
    return x * Tensor._wrap(scale.reshape(lead + (1,) * (x.ndim - 2)).astype(x.dtype))


def soft_margin_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for labels y in {-1, 1}."""
    x = lift(input)
    return _reduce("soft_margin_loss", softplus(-x * lift(target, x)), reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin)."""
    a = lift(input1)
    return _reduce("margin_ranking_loss",
                   ops.relu(-lift(target, a) * (a - lift(input2, a)) + margin), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1."""
    x = lift(input)
    y = lift(target, x)
    return _reduce("hinge_embedding_loss",
                   ops.where(y == 1, x, 0.0) + ops.where(y == -1, ops.relu(margin - x), 0.0),
                   reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    a, b = lift(input1), lift(input2)
    eps = 1e-12  # torch's epsilon inside the norms of this loss
    cos = (a * b).sum(-1) / ops.sqrt(((a * a).sum(-1) + eps) * ((b * b).sum(-1) + eps))
    y = lift(target, cos)
    return _reduce("cosine_embedding_loss",
                   ops.where(y == 1, 1 - cos, 0.0) + ops.where(y == -1, ops.relu(cos - margin),
                                                               0.0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                        reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with d the pairwise p-distance (``swap``: the smaller
    of d(a, n) and d(p, n))."""
    a, pos, neg = lift(anchor), lift(positive), lift(negative)
    d_ap = pairwise_distance(a, pos, p, eps)
    d_an = pairwise_distance(a, neg, p, eps)
    if swap:
        d_an = ops.minimum(d_an, pairwise_distance(pos, neg, p, eps))
    return _reduce("triplet_margin_loss", ops.relu(d_ap - d_an + margin), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of a Poisson count y with rate e^x (log_input) or x:
    e^x - y x, or x - y log(x + eps); ``full`` adds Stirling's y log y - y + log(2 pi y) / 2
    for y > 1."""
    x = lift(input)
    y = lift(target, x)
    loss = ops.exp(x) - y * x if log_input else x - y * ops.log(x + eps)
    if full:
        yd = y.detach()
        safe = ops.where(yd > 1, yd, 1.0)
        stirling = safe * ops.log(safe) - safe + 0.5 * ops.log(safe * (2 * math.pi))
        loss = loss + ops.where(yd > 1, stirling, 0.0)
    return _reduce("poisson_nll_loss", loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """(log max(var, eps) + (x - y)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 with ``full``):
    the negative log-likelihood of y under N(x, var), the variance clamped away from 0."""
    x = lift(input)
    y, v = lift(target, x), lift(var, x)
    if np.any(v._data < 0):
        raise ValueError("gaussian_nll_loss: var has negative entries")
    if v.ndim == x.ndim - 1 or (v.shape != x.shape and v.shape[-1:] != (1,) and v.ndim < x.ndim):
        v = v.unsqueeze(-1)
    vc = ops.clamp(v, min=eps)
    loss = (ops.log(vc) + (x - y) * (x - y) / vc) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", loss, reduction)


# ---- rearrangement -----------------------------------------------------------------------------


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j goes to pixel (h r + i,
    w r + j) of channel c (Shi et al. 2016). A reshape and a permutation."""
    x, r = lift(input), int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: input of shape {x.shape} needs >= 3 dims and a "
                           f"channel count divisible by upscale_factor^2 = {r * r}")
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    x, r = lift(input), int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-1] % r or x.shape[-2] % r:
        raise RuntimeError(f"pixel_unshuffle: input of shape {x.shape} needs >= 3 dims and "
                           f"height and width divisible by downscale_factor = {r}")
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


from .normalization import _normalize, batch_norm, layer_norm  # noqa: E402
from .sparse import embedding  # noqa: E402

__all__ += [
    "hardtanh", "relu6", "selu", "celu", "softsign", "hardsigmoid", "hardswish", "mish",
    "softmin", "tanhshrink", "softshrink", "hardshrink", "threshold", "glu", "prelu",
    "normalize", "cosine_similarity", "pairwise_distance", "group_norm", "instance_norm",
    "smooth_l1_loss", "huber_loss", "pixel_shuffle", "pixel_unshuffle", "batch_norm",
    "layer_norm", "embedding", "rms_norm", "bilinear", "dropout1d", "dropout2d",
    "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
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

from .attention import scaled_dot_product_attention  # noqa: E402

__all__ += ["scaled_dot_product_attention"]
from .sampling import affine_grid, grid_sample  # noqa: E402

__all__ += ["affine_grid", "grid_sample"]
from .misc import channel_shuffle, local_response_norm, max_unpool2d  # noqa: E402

__all__ += ["channel_shuffle", "local_response_norm", "max_unpool2d"]
from ..ops.volume import avg_pool3d, conv3d, conv_transpose3d, max_pool3d  # noqa: E402

__all__ += ["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d"]
