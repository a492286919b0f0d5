"""Fused normalizations: ``batch_norm`` in training mode and ``layer_norm``, one node each.

Composed from primitives (mean, subtract, square, mean, rsqrt, multiply, multiply, add), a batch
normalization records about ten nodes and as many passes over the activations forward and again
backward; in the ResNet step of issue 13 that was a fifth of the time. Fused, the forward is
three passes (the mean, the centred square, the output) and the backward is the classic
three-term formula derived below.

Both normalize with the batch statistics x^ = (x - mu) / sigma, sigma = sqrt(var + eps), the
variance *biased* (divided by the count M of values each statistic is taken over), then scale
and shift: y = x^ w + b. With g = dL/dy and d = dL/dx^ = g w, the statistics depend on every x_j
of their group:

    d mu / d x_j = 1 / M,   d var / d x_j = 2 (x_j - mu) / M,   so   d x^_i / d x_j
      = ([i = j] - 1 / M) / sigma - (x_i - mu)(x_j - mu) / (M sigma^3)
      = ([i = j] - 1 / M - x^_i x^_j / M) / sigma

and summing d_i over i gives the three terms

    dL/dx_j = (d_j - mean_i d_i - x^_j mean_i (d_i x^_i)) / sigma.

The weight and bias gradients are dL/dw = sum g x^ and dL/db = sum g over everything but the
dims w and b live on.

Double backward: as in ops/rnn_cell.py, the backward formulas are handgrad operations that read
x^ and 1 / sigma; those are the forward's saved arrays when no graph of the gradient is being
recorded, and are recomputed from x with differentiable operations when one is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from . import _rows
from .elementwise import where

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

_wrap = Tensor._wrap


def _row_scale(x: np.ndarray, dims: tuple) -> np.ndarray | None:
    """Per row (statistic), 1, or a power of two 2^-k >= 1 / M where the sum of a row of finite
    values overflows (a constant row at 4.5e307 of five elements): the mean of x s, divided by
    s, is then the mean, as torch's Welford mean (which never forms the sum) gives it. Scaling
    by a power of two is exact, so the other rows' means are the plain sum / M. None when no
    row overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        over = np.isinf(x.sum(axis=dims, keepdims=True)) & np.isfinite(x).all(
            axis=dims, keepdims=True
        )
    if not over.any():
        return None
    m = x.size // over.size
    return np.where(over, 2.0 ** -int(np.ceil(np.log2(m))), 1.0).astype(x.dtype)


def _channel_mean(x: np.ndarray, dims: tuple) -> np.ndarray:
    """The mean of x over ``dims`` (all but dim 1), keepdim, computed along memory order."""
    rows = _rows.channels_first_2d(x)
    if rows is not None:
        return rows.mean(axis=1).reshape((1, -1) + (1,) * (x.ndim - 2))
    if x.flags.c_contiguous and x.ndim > 2:  # NCHW: the spatial sums first, then the batch
        n, c = x.shape[:2]
        s = x.reshape(n, c, -1).sum(axis=2).sum(axis=0) / (x.size // c)
        return s.reshape((1, c) + (1,) * (x.ndim - 2)).astype(x.dtype, copy=False)
    return x.mean(axis=dims, keepdims=True)


def _wider(x: Tensor) -> np.dtype | None:
    """The float a normalization's recorded backward runs in for x's dtype (see
    LayerNorm.backward): float64 for float32, long double for float64 where it has a wider
    exponent (x86), else None."""
    if x.dtype == np.float32:
        return np.dtype(np.float64)
    if x.dtype == np.float64 and np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp:
        return np.dtype(np.longdouble)
    return None


class InvStd(Function):
    """out = 1 / sqrt(mean(xc^2) + eps) over ``dims`` (xc centred), the 1 / sigma that the
    backward formulas read when a graph of the gradient is recorded. Its own gradient,
    -xc g out^3 / M, is formed as ((xc out) g) out (out / -M): x^ g first, bounded by
    sqrt(M) |g|. Composed (rsqrt of a mean of squares), the chain formed g out^3 first, which
    overflows float32 under a huge g in a constant group (4.3e37 x 3.2e7 at 1 / sigma =
    1 / sqrt(eps)) and met the square's 2 xc = 0 as inf * 0 = NaN, where torch's second
    derivative is 0 (fuzz seed 22296434)."""

    name = "inv_std"
    uses_output = True

    def forward(self, xc, dims, eps):
        self.dims = dims
        return 1.0 / np.sqrt(np.mean(xc * xc, axis=dims, keepdims=True) + eps)

    def backward(self, g):
        xc, out = self.inputs[0], self.output()
        # max(M, 1): a group of no elements (M = 0) has an empty xc and so an empty gradient
        # (reached since the recorded backward of an empty layer_norm runs; fuzz seed 734335)
        m = max(xc.numel() // max(out.numel(), 1), 1)
        grad = ((xc * out) * g) * out * (out * (-1.0 / m))
        if not (out._data == 0).any():
            return grad
        # a group whose variance overflowed (1 / sigma = 0): the derivative -xc / (M sigma^3) is
        # 0 there, selected, since g is then often an overflowed sum of g' xc (inf * 0 = NaN;
        # fuzz seed 22291501, float64 values at 4.5e307: torch's second derivative is 0)
        return where(Tensor._wrap(np.broadcast_to(out._data == 0, xc.shape)), 0.0, grad)


def _per_input(fn: BatchNorm | LayerNorm, dx, dw, db) -> tuple:
    """(dx, dw, db) laid out as the node's inputs: x, then the weight and the bias where given."""
    has_b = len(fn.inputs) > 1 + fn.has_weight
    return (dx,) + ((dw,) if fn.has_weight else ()) + ((db,) if has_b else ())


def _update_running(running_mean, running_var, mean, var, momentum: float, m: int) -> None:
    """running = (1 - momentum) running + momentum stat, in place, with the unbiased variance."""
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += (momentum * mean).astype(running_mean.dtype)
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += (momentum * var * (m / (m - 1))).astype(running_var.dtype)


class NormProject(Function):
    """out = (d - mean d - x^ mean(d x^)) rstd over ``dims``: the input gradient of layer_norm
    (and of group_norm and instance_norm through it), one node, so that its own backward can
    apply the projection P(a) = a - mean a - x^ mean(a x^) first and rstd last. P is symmetric
    (x^ held), so the cotangent u of d is P(u) rstd, as torch's double backward forms it;
    composed, the chain formed u rstd first, which overflows under a huge u in a constant group
    (1 / sigma = 1 / sqrt(eps)) and made P's u rstd - mean(u rstd) an inf - inf = NaN where
    torch's is the overflowed +-inf, and the x^ and rstd terms, all multiplied by d = 0 there,
    0 * inf = NaN where torch's are 0 (fuzz seed 2030081466). The value is the composition's:
    the forward computes it in the same order."""

    name = "norm_project"

    def forward(self, d, xhat, rstd, dims):
        self.dims = dims
        with np.errstate(invalid="ignore", over="ignore"):
            return (
                d
                - d.mean(axis=dims, keepdims=True)
                - xhat * (d * xhat).mean(axis=dims, keepdims=True)
            ) * rstd

    def backward(self, u):
        d, xhat, rstd = self.inputs
        dims = self.dims
        mean_dx = (d * xhat).mean(dims, keepdim=True)
        mean_ux = (u * xhat).mean(dims, keepdim=True)
        grads = [None, None, None]
        if self.needs_input_grad[0]:
            grads[0] = (u - u.mean(dims, keepdim=True) - xhat * mean_ux) * rstd
        if self.needs_input_grad[1]:
            # d out_k / d x^_j = -rstd ([k = j] mean(d x^) + x^_k d_j / M)
            grads[1] = -(u * mean_dx + d * mean_ux) * rstd
        if self.needs_input_grad[2]:
            grads[2] = (u * (d - d.mean(dims, keepdim=True) - xhat * mean_dx)).sum(
                dims, keepdim=True
            )
        return tuple(grads)


class BatchNorm(Function):
    """Batch normalization with the batch statistics (training mode) of x (N, C, ...) per
    channel, over dims (0, 2, 3, ...), M = N x spatial size; optional weight and bias (C,).
    See the module docstring for the derivation: with d = g w broadcast per channel,

        dL/dx = (1 / sigma) (d - mean d - x^ mean(d x^)) = (w / (M sigma)) (M g - db - x^ dw)

    since sum d = w db and sum d x^ = w dw with db = sum g and dw = sum g x^ per channel: the
    bias and weight gradients are the two reductions the input gradient needs anyway.

    ``running_mean`` / ``running_var`` (arrays or None) are updated in place, as torch's
    ``batch_norm`` does: running = (1 - momentum) running + momentum batch_stat, with the
    *unbiased* variance (M / (M - 1) var) for ``running_var``.
    """

    name = "batch_norm"

    def forward(self, x, *wb, has_weight, running_mean, running_var, momentum, eps):
        self.has_weight = has_weight
        c = x.shape[1]
        m = x.size // c
        dims = (0,) + tuple(range(2, x.ndim))
        view = (1, c) + (1,) * (x.ndim - 2)
        w = wb[0] if has_weight else None
        b = wb[-1] if len(wb) == 2 or (wb and not has_weight) else None
        self.scale = None
        self.dims, self.view, self.eps = dims, view, eps
        fast = _rows.batch_norm_forward(x, w, b, eps)  # channel rows, nothing overflowing
        if fast is not None:
            out, self.xhat, mean, var, rstd = fast
            self.rstd = rstd.reshape(view)
            _update_running(running_mean, running_var, mean, var, momentum, m)
            return out
        mean = _channel_mean(x, dims)
        if not np.isfinite(mean).all():
            # a channel sum of finite values overflowed (20 float32 values at 8.5e37): torch's
            # mean is finite (fuzz seed 1980940851: its output the bias, ours was NaN), and so
            # is the mean of x s, divided by s (see _row_scale)
            self.scale = _row_scale(x, dims)
            if self.scale is not None:
                mean = (x * self.scale).mean(axis=dims, keepdims=True) / self.scale
        xhat = x - mean  # NumPy keeps x's memory order, so a convolution's layout flows through
        # the mean corrected by the mean of the residuals, as the channel-row kernel's: a float32
        # mean ulps off made x^ 2e-6 off where x - mean is small (fuzz seed 1925132378); not
        # where the residuals overflow
        with np.errstate(over="ignore", invalid="ignore"):
            s = _channel_mean(xhat, dims)
        s = np.where(np.isfinite(s), s, 0).astype(x.dtype, copy=False)
        xhat -= s
        mean = mean + s
        var = _channel_mean(xhat * xhat, dims)
        rstd = 1.0 / np.sqrt(var + eps)
        xhat *= rstd
        self.xhat, self.rstd = xhat, rstd
        _update_running(running_mean, running_var, mean.reshape(c), var.reshape(c), momentum, m)
        xo = xhat
        over = (rstd == 0) & np.isfinite(mean)
        if over.any():
            # a channel whose variance overflowed (float32 values near 3.4e38): torch's kernel
            # forms x (w rstd) + (b - mean w rstd) with rstd = 0, exactly b for every finite x,
            # where x - mean itself overflows for some (inf * 0 = NaN; fuzz seed 22289356). Its
            # gradients keep the NaN (torch's too), so only the output selects.
            with np.errstate(invalid="ignore"):
                xo = np.where(over & np.isfinite(x), 0.0, xhat).astype(x.dtype, copy=False)
        out = xo * w.reshape(view) if w is not None else xo.copy()
        # torch forms x a + (b - mean a), b = 0 without a bias: a zero is +0.0 where x - mean
        # gives -0.0 (a group of -0.0), which a later 1 / x tells apart (fuzz seed 22388894)
        out += b.reshape(view) if b is not None else 0.0
        return out

    def _saved(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if not is_grad_enabled():  # (the compiled forward's x^ formed now: _rows.Normalized)
            return _wrap(_rows.as_array(self.xhat)), _wrap(self.rstd)
        if self.scale is None or x.dtype != self.inputs[0].dtype:  # (a wider sum: no overflow)
            xc = x - x.mean(self.dims, keepdim=True)
        else:  # the forward's scaled mean
            s = _wrap(self.scale)
            xc = x - (x * s).mean(self.dims, keepdim=True) / s
        rstd = InvStd.apply(xc, dims=self.dims, eps=self.eps)
        return xc * rstd, rstd

    def backward(self, g):
        if not is_grad_enabled():  # the same formula on the channel rows, when g's layout allows
            w = self.inputs[1]._data if self.has_weight else None
            fast = _rows.batch_norm_backward(
                g._data, self.xhat, self.rstd, w, self.needs_input_grad[0]
            )
            if fast is not None:
                return _per_input(self, *(None if a is None else _wrap(a) for a in fast))
        # in a wider float where a graph is recorded, as LayerNorm.backward (fuzz seed
        # 1884927173: float32 values near 0 under a direction of 6e36, NaN for torch's 4.8e35)
        return _wide_or_narrow(self, g, self.rstd == 0, per_group_params=True)

    def _grads(self, x: Tensor, g: Tensor, w: Tensor | None) -> list:
        xhat, rstd = self._saved(x)
        m = x.numel() // x.shape[1]
        db = g.sum(self.dims, keepdim=True)
        dw = (g * xhat).sum(self.dims, keepdim=True)
        scale = rstd
        if w is not None:
            scale = rstd * w.reshape(self.view)
        dx = None
        if self.needs_input_grad[0]:
            # torch's order, g - mean g first, the mean from a float64 sum for float32 (torch's
            # accumulator), divided: a g constant along a channel leaves exactly 0 there, where
            # g - (db + x^ dw) / M left 2.3e-7 (fuzz seed 601021626, then normalize's 1 / eps)
            if g._data.dtype == np.float32:
                mean_g = (g.to(np.float64).sum(self.dims, keepdim=True) / m).to(np.float32)
            else:
                mean_g = db / m
            dx = ((g - mean_g) - xhat * (dw / m)) * scale
        return list(_per_input(self, dx, dw.reshape(-1), db.reshape(-1)))


class LayerNorm(Function):
    """Layer normalization of x (..., *S) over its last k = len(S) dims, with optional weight
    and bias of shape S, or of any shape that broadcasts against x (group_norm's per-channel
    weight, (G, C / G, 1) against x (N, G, C / G, spatial)); M = prod(S). See the module
    docstring: with d = g w,

        dL/dx = (1 / sigma) (d - mean d - x^ mean(d x^))       (means over the last k dims)
        dL/dw = sum of g x^ over the dims w is broadcast along,   dL/db = sum of g over them.

    (w varies along the normalized dims, so the batch-norm shortcut through dw and db does not
    apply here.) The affine map is part of the node, not a product after it, so that a recorded
    backward forms d = g w in its wider float: the cotangent of d in a second derivative can
    exceed the dtype's range where those of g (w times it) and of w (g times it) do not (fuzz
    seed 2113513418: float32 group_norm, P(u) / sigma = -3.8e38 cast to -inf, so the second
    derivative by the weight was -inf for torch's -8.44e31).
    """

    name = "layer_norm"

    def forward(self, x, *wb, k, has_weight, eps, overflow_is_bias=False):
        self.k, self.eps, self.has_weight = k, eps, has_weight
        self.pshape = wb[0].shape if wb else None  # the weight's and the bias's
        dims = tuple(range(x.ndim - k, x.ndim))
        self.dims = dims
        self.scale = None
        if x.size == 0:  # nothing to normalize (and no mean of an empty slice to warn about)
            self.xhat, self.rstd = x.copy(), np.ones(x.shape[: x.ndim - k] + (1,) * k, x.dtype)
            return np.empty(x.shape, x.dtype)
        w = wb[0] if has_weight else None
        b = wb[-1] if len(wb) == 2 or (wb and not has_weight) else None
        fast = _rows.layer_norm_forward(x, k, w, b, eps)
        if fast is not None:  # finite rows, nothing overflowing (see ops/_rows.py)
            out, self.xhat, self.rstd = fast
            return out
        self.scale = _row_scale(x, dims)
        if self.scale is None:
            mean = x.mean(axis=dims, keepdims=True)
        else:
            mean = (x * self.scale).mean(axis=dims, keepdims=True) / self.scale
        xhat = x - mean
        var = np.mean(xhat * xhat, axis=dims, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        xhat *= rstd
        self.xhat, self.rstd = xhat, rstd
        xo = xhat
        if overflow_is_bias and (rstd == 0).any():
            # instance_norm: torch runs it as a batch norm, exactly +0 (the bias) in a group
            # whose variance overflowed (see BatchNorm.forward), where x - mean gave -0 or NaN
            # (fuzz seed 493599119: a later 1 / x told -0 apart)
            with np.errstate(invalid="ignore"):
                over = (rstd == 0) & np.isfinite(mean) & np.isfinite(x)
            xo = np.where(over, 0.0, xhat).astype(x.dtype, copy=False)
        out = xo * w if w is not None else xo.copy()
        out += b if b is not None else 0.0  # +0.0, not -0.0, as torch (see BatchNorm.forward)
        return out

    def _saved(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if not is_grad_enabled():  # (the compiled forward's x^ formed now: _rows.Normalized)
            return _wrap(_rows.as_array(self.xhat)), _wrap(self.rstd)
        if self.scale is None or x.dtype != self.inputs[0].dtype:  # (a wider sum: no overflow)
            mean = x.mean(self.dims, keepdim=True)
        else:  # the forward's scaled mean (see _row_scale)
            s = _wrap(self.scale)
            mean = (x * s).mean(self.dims, keepdim=True) / s
        xc = x - mean
        rstd = InvStd.apply(xc, dims=self.dims, eps=self.eps)
        return xc * rstd, rstd

    def backward(self, g):
        if not is_grad_enabled():  # the same formula on arrays, when g's layout allows
            w = self.inputs[1]._data if self.has_weight else None
            nia, has_b = self.needs_input_grad, len(self.inputs) > 1 + self.has_weight
            need = (nia[0], self.has_weight and nia[1], has_b and nia[-1])
            # (a broadcast g, a sum's, is made rows: one copy, far cheaper than the graph path)
            fast = _rows.layer_norm_backward(
                np.ascontiguousarray(g._data), self.xhat, self.rstd, w, self.k, need, self.pshape
            )
            if fast is not None:
                return _per_input(self, *(None if a is None else _wrap(a) for a in fast))
        # where a graph of the gradient is recorded, its formulas run in a wider float, rounded
        # once at the end. The second derivatives under a huge direction u multiply u by
        # 1 / sigma two and three times before the terms cancel to a representable value, so
        # any order overflows somewhere in the dtype itself: torch's gave -inf for the exact
        # 5.6e307 and handgrad's NaN for -1.7e308 (fuzz seeds 376554886, 143768487, 21324175;
        # float32 22292030: NaN for 2.5e38). float64 runs in long double, float32 in float64,
        # as the float32 var and std reduce. A group whose variance overflowed in the dtype
        # (1 / sigma = 0, output the bias) keeps the dtype's gradients (torch's NaN, InvStd's
        # selected zero), and so do the weight and bias gradients, sums over the groups.
        return _wide_or_narrow(self, g, self.rstd == 0, per_group_params=False)

    def _grads(self, x: Tensor, g: Tensor, w: Tensor | None) -> list:
        xhat, rstd = self._saved(x)
        d = g * w if w is not None else g
        dx = None
        if self.needs_input_grad[0] and x.numel() == 0:
            dx = d
        elif self.needs_input_grad[0]:
            dx = NormProject.apply(d, xhat, rstd, dims=self.dims)
        dw = (g * xhat).sum_to_size(self.pshape) if self.has_weight else None
        db = g.sum_to_size(self.pshape) if len(self.inputs) > 1 + self.has_weight else None
        return list(_per_input(self, dx, dw, db))


def _wide_or_narrow(fn: BatchNorm | LayerNorm, g: Tensor, over: np.ndarray, per_group_params: bool):
    """fn's gradients (``fn._grads``) in the wider float where a graph is recorded (see
    LayerNorm.backward), the dtype's in the groups marked ``over`` (keepdim shape): for the input
    gradient selected per group; for the weight and bias, per group where they are per group
    (batch norm's channels), else the dtype's as soon as any group is marked."""
    x = fn.inputs[0]
    w = fn.inputs[1] if fn.has_weight else None
    wide = _wider(x) if is_grad_enabled() and x.numel() else None
    if wide is None:
        return tuple(fn._grads(x, g, w))
    grads = fn._grads(x.to(wide), g.to(wide), None if w is None else w.to(wide))
    grads = [None if a is None else a.to(t.dtype) for a, t in zip(grads, fn.inputs)]
    if not over.any():
        return tuple(grads)
    narrow = fn._grads(x, g, w)
    out = [None if grads[0] is None else where(_wrap(over), narrow[0], grads[0])]
    for a, b in zip(narrow[1:], grads[1:]):
        out.append(where(_wrap(over.reshape(-1)), a, b) if per_group_params else a)
    return tuple(out)


def batch_norm_train(
    x: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
) -> Tensor:
    """Training-mode batch normalization of x (N, C, ...) (``F.batch_norm(training=True)``),
    updating the running statistics in place (their version counters too)."""
    inputs = [x] + [t for t in (weight, bias) if t is not None]
    out = BatchNorm.apply(
        *inputs,
        has_weight=weight is not None,
        running_mean=None if running_mean is None else running_mean._data,
        running_var=None if running_var is None else running_var._data,
        momentum=momentum,
        eps=eps,
    )
    for t in (running_mean, running_var):
        if t is not None:
            t._version[0] += 1
    return out


def layer_norm_fused(
    x: Tensor,
    k: int,
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
    overflow_is_bias: bool = False,
) -> Tensor:
    """Layer normalization over the last k dims of x (shapes already checked by the caller).
    ``overflow_is_bias``: a group whose variance overflows outputs exactly +0 (instance_norm,
    which torch computes as a batch norm)."""
    inputs = [x] + [t for t in (weight, bias) if t is not None]
    return LayerNorm.apply(
        *inputs, k=k, has_weight=weight is not None, eps=eps, overflow_is_bias=overflow_is_bias
    )
