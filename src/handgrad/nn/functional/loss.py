"""Losses as functions (``F.nll_loss``, ``F.cross_entropy``, ...), with PyTorch's names,
signatures, defaults and reductions. Compositions of primitives (``NllLoss`` and
``BinaryCrossEntropy`` the fused ones), so their gradients (and second derivatives) come from the
primitives' hand-derived rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import ops
from ..._tensor import Tensor, lift
from ...ops import log_softmax
from ...ops.loss import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    NllLoss,
)
from ...ops.shape import EmptyConstantGradient
from ...ops.special import BinaryCrossEntropyMean, BinaryCrossEntropyWithLogitsMean, MseLoss
from ...ops.special import logsigmoid as _logsigmoid
from ...ops.special import soft_margin as _soft_margin
from .distance import pairwise_distance

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
        raise ValueError(f"{op}: target shape {target.shape} must equal input shape {input.shape}")


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of the target classes: -w[y_n] input[n, y_n]; ``mean`` divides by
    the sum of the weights of the non-ignored targets (PyTorch's convention)."""
    x, y = lift(input), lift(target)
    if y._data.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: target must hold class indices (int64), got {y.dtype}")
    unbatched = x.ndim == 1
    if unbatched:
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
    ignored = None
    if lo <= ignore_index <= hi:
        keep = yy != ignore_index
        ignored = ~keep
        yy = np.where(keep, yy, 0)
        lo, hi = (int(yy.min()), int(yy.max())) if yy.size else (0, 0)
        w = keep.astype(x.dtype)
    else:
        w = None  # every target counts with weight 1: the common case, kept cheap
    if lo < 0 or hi >= c:
        raise IndexError(
            f"nll_loss: target {hi if hi >= c else lo} is out of bounds for {c} classes"
        )
    if weight is not None:
        cw = lift(weight)._data.astype(x.dtype)[yy]
        w = cw if w is None else w * cw
    if yy.ndim == 1:
        index = (np.arange(len(yy)), yy)  # (n, y_n): the target class of each example
    else:
        grids = np.indices(yy.shape, sparse=True)
        index = (grids[0], yy) + tuple(grids[1:])  # (n, y_n, d1, ...)
    total = float(yy.size) if w is None else float(w.sum())
    if reduction != "mean":
        total = 1.0
    if unbatched and reduction == "none":
        # torch computes an unbatched loss on its reducing path, 0 - w x[y] (a sum from 0): at
        # x[y] = +-0.0 that is +0.0, where -w x[y] would be -0.0 (fuzz seed 22306694)
        return NllLoss.apply(x, index=index, weights=w, total=1.0, reduction="sum", ignored=ignored)
    return NllLoss.apply(
        x, index=index, weights=w, total=total, reduction=reduction, ignored=ignored
    )


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of softmax(input) along dim 1 with class-index or class-probability targets:
    nll_loss(log_softmax(input, 1), target). Its gradient with respect to the logits is
    softmax(input) - onehot(target), obtained here from the log_softmax and gather rules."""
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
        if reduction == "sum":  # torch negates the total (an empty batch gives -0.0)
            return -terms.sum()
        if reduction == "mean" and x.numel():
            # torch's -(sum of the terms) / (numel / C): a loss of +0 terms is -0.0, which a
            # later 1 / x tells apart (fuzz seed 757803831)
            return -terms.sum() / (x.numel() // c)
        if reduction == "mean":
            # an empty batch: torch's -(sum of the terms).fill_(nan), whose gradient (fill_'s) is
            # a constant 0 with no graph edge back to g; a mean's 0 tied to g would meet a NaN of a
            # later step in a second derivative (fuzz seed 1381923901)
            return EmptyConstantGradient.apply(-terms.sum(), shape=()) + float("nan")
        return _reduce("cross_entropy", -terms.sum(dim), reduction)
    nll = nll_loss(logp, y, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    kept = y._data != ignore_index
    keep = Tensor._wrap(kept.astype(x.dtype))
    wl = logp if wt is None else logp * _class_view(wt, x.ndim)
    # an ignored row is selected out (its logits may be -inf padding: 0 * NaN would be NaN)
    smooth = ops.where(Tensor._wrap(kept if x.ndim >= 2 else kept.reshape(())), -wl.sum(dim), 0.0)
    if reduction == "mean":
        if wt is None:
            denom = float(keep._data.sum())
        else:
            yy = np.where(keep._data > 0, y._data, 0)
            denom = float((wt._data[yy] * keep._data).sum())
        # every target ignored: the loss is NaN (0/0) and the gradient 0, as in PyTorch
        smooth = smooth.sum() / denom if denom else smooth.sum() * 0.0 + float("nan")
    else:
        smooth = _reduce("cross_entropy", smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _class_view(w: Tensor, ndim: int) -> Tensor:
    return w.reshape((-1,) + (1,) * (ndim - 2)) if ndim >= 2 else w


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input - target)^2, averaged (or summed); input and target broadcast against each other
    (torch warns and expands them), then torch's fused loss (``ops.loss.MseLoss``)."""
    x, y = lift(input), lift(target, lift(input))
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if x.shape != y.shape:
        shape = np.broadcast_shapes(x.shape, y.shape)
        x, y = x.expand(shape), y.expand(shape)
    return MseLoss.apply(x, y, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    x, y = lift(input), lift(target, lift(input))
    return _reduce("l1_loss", (x - y).abs(), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """-[p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] with p = pos_weight, written as
    (1 - y) x + (1 + (p - 1) y) softplus(-x): no log of a probability, so no overflow.
    Its gradient in x is sigmoid(x) - y (for p = 1), formed before it meets the upstream
    gradient (``ops.loss.BinaryCrossEntropyWithLogits``)."""
    x, y = lift(input), lift(target, lift(input))
    _same_shape("binary_cross_entropy_with_logits", x, y)
    pw = () if pos_weight is None else (lift(pos_weight, x),)
    if weight is None and reduction == "mean":  # torch's order of the backward's division
        return BinaryCrossEntropyWithLogitsMean.apply(x, y, *pw)
    loss = BinaryCrossEntropyWithLogits.apply(x, y, *pw)
    if weight is not None:
        loss = loss * lift(weight, x)
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-[y log p + (1 - y) log(1 - p)], each log clamped at -100 as in PyTorch, whose gradient at
    a saturated prediction (p exactly 0 or 1) it also has (``ops.loss.BinaryCrossEntropy``)."""
    p, y = lift(input), lift(target, lift(input))
    _same_shape("binary_cross_entropy", p, y)
    if p._data.size and not ((p._data >= 0) & (p._data <= 1)).all():
        bad = p._data[~((p._data >= 0) & (p._data <= 1))]
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and "
            f"1, got {bad.size} outside, e.g. {bad.flat[0]}"
        )
    if weight is None and reduction == "mean":  # torch's order of the backward's division
        return BinaryCrossEntropyMean.apply(p, y)
    loss = BinaryCrossEntropy.apply(p, y)
    if weight is not None:
        loss = loss * lift(weight, p)
    return _reduce("binary_cross_entropy", loss, reduction)


def kl_div(
    input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """KL(target || q) with ``input`` = log q: target (log target - input), 0 where target = 0.
    ``reduction='batchmean'`` divides the sum by the batch size (the true KL per example);
    ``'mean'`` divides by the number of elements, as PyTorch does."""
    x, t = lift(input), lift(target, lift(input))
    if log_target:
        terms = t.exp() * (t - x)
    else:  # torch's form: xlogy(t, t) - t x (a NaN or inf input gives NaN even where t = 0)
        terms = ops.xlogy(t, t) - t * x
    if reduction == "batchmean":
        return terms.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce("kl_div", terms, reduction)


def smooth_l1_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta otherwise (d = input - target); beta = 0
    is the L1 loss."""
    x, y = lift(input), lift(target, lift(input))
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    diff = x - y
    d = diff.abs()
    if beta == 0:
        return _reduce("smooth_l1_loss", d, reduction)
    near = d < beta
    # the quadratic reads the signed difference (its curvature survives at d = 0, where |d|'s
    # derivative is 0), and only where it is selected (a finite gradient elsewhere)
    dn = ops.where(near, diff, 0.0)
    return _reduce(
        "smooth_l1_loss", ops.where(near, dn * dn * (0.5 / beta), d - 0.5 * beta), reduction
    )


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """0.5 d^2 for |d| <= delta, delta (|d| - 0.5 delta) otherwise: delta * smooth_l1(beta =
    delta)."""
    x, y = lift(input), lift(target, lift(input))
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    diff = x - y
    d = diff.abs()
    near = d <= delta
    dn = ops.where(near, diff, 0.0)  # signed, and read only where selected (see smooth_l1_loss)
    return _reduce(
        "huber_loss", ops.where(near, dn * dn * 0.5, (d - 0.5 * delta) * delta), reduction
    )


def soft_margin_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for labels y in {-1, 1}."""
    x = lift(input)
    return _reduce("soft_margin_loss", _soft_margin(x, lift(target, x)), reduction)


def multilabel_soft_margin_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)) per class (times ``weight``), averaged over
    the classes (the last dim), then reduced over the samples: torch's formula."""
    x = lift(input)
    y = lift(target, x)
    loss = -(y * _logsigmoid(x) + (1 - y) * _logsigmoid(-x))
    if weight is not None:
        loss = loss * lift(weight, x)
    loss = loss.sum(-1) / x.shape[-1]
    return _reduce("multilabel_soft_margin_loss", loss, reduction)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """max(0, -y (x1 - x2) + margin), clamped as torch (clamp_min: a NaN gets no gradient)."""
    a = lift(input1)
    return _reduce(
        "margin_ranking_loss",
        ops.clamp(-lift(target, a) * (a - lift(input2, a)) + margin, min=0.0),
        reduction,
    )


def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1."""
    x = lift(input)
    y = lift(target, x)
    return _reduce(
        "hinge_embedding_loss",
        ops.where(y == 1, x, 0.0) + ops.where(y == -1, ops.clamp(margin - x, min=0.0), 0.0),
        reduction,
    )


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    a, b = lift(input1), lift(input2)
    eps = 1e-12  # torch's epsilon inside the norms of this loss
    cos = (a * b).sum(-1) / ops.sqrt(((a * a).sum(-1) + eps) * ((b * b).sum(-1) + eps))
    y = lift(target, cos)
    return _reduce(
        "cosine_embedding_loss",
        ops.where(y == 1, 1 - cos, 0.0) + ops.where(y == -1, ops.relu(cos - margin), 0.0),
        reduction,
    )


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with d the pairwise p-distance (``swap``: the smaller
    of d(a, n) and d(p, n))."""
    a, pos, neg = lift(anchor), lift(positive), lift(negative)
    d_ap = pairwise_distance(a, pos, p, eps)
    d_an = pairwise_distance(a, neg, p, eps)
    if swap:
        d_an = ops.minimum(d_an, pairwise_distance(pos, neg, p, eps))
    return _reduce("triplet_margin_loss", ops.relu(d_ap - d_an + margin), reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
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


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
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


__all__ = [
    "multilabel_soft_margin_loss",
    "nll_loss",
    "cross_entropy",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "kl_div",
    "smooth_l1_loss",
    "huber_loss",
    "soft_margin_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]
