"""Fused loss primitives. The negative log-likelihood: composing it from gather, multiply, sum
and divide costs eight graph nodes per training step for what is one scatter in backward. The
binary cross-entropy: its log is clamped at -100, and the gradient PyTorch defines at a
saturated prediction (p exactly 0 or 1) is not the derivative of any composition of clamps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..autograd.function import Function
from .elementwise import clamp, log, log1p, sigmoid, softplus, where
from .shape import IndexAccumulate

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


class NllLoss(Function):
    """out_n = -w_n x[n, y_n] (``reduction='none'``), or its sum divided by ``total`` (``'sum'``:
    1, ``'mean'``: sum_n w_n, PyTorch's convention). ``w_n`` is the class weight of y_n, 0 for an
    ignored target; ``weights=None`` means w_n = 1 for all n.

    The loss is linear in x: d out / d x[n, c] = -w_n [c = y_n] / total, so
    dL/dx = zeros with -(g / total) w_n placed at (n, y_n): an index_accumulate, and the second
    derivative is 0. Both divide, as torch's kernels do (sum / total, -(g / total) w_n): a
    multiplication by 1 / total rounds differently (-(2 w) / w gave -1.9999999999999998, not -2,
    which a later trunc turned into -1; fuzz seed 493533137).

    Ignored targets (``ignored``) contribute exactly 0 to the loss and get exactly 0 gradient,
    selected rather than multiplied by w_n = 0: an ignored row of -inf logits (masked padding)
    must not turn the loss into 0 * inf = NaN. When every target is ignored, 'mean' is 0/0 = NaN
    and the gradient is 0, as in PyTorch.
    """

    name = "nll_loss"
    uses_inputs = False

    def forward(self, x, index, weights, total, reduction, ignored=None):
        self.index, self.weights, self.total = index, weights, total
        self.shape, self.reduction, self.ignored = x.shape, reduction, ignored
        losses = -x[index] if weights is None else -(x[index] * weights)
        if ignored is not None:
            losses = np.where(ignored, x.dtype.type(0), losses)
        self.target_shape = losses.shape
        if reduction == "none":
            return losses
        with np.errstate(divide="ignore", invalid="ignore"):  # 'mean' of no weight: 0 / 0 = NaN
            return np.asarray(losses.sum() / x.dtype.type(total))

    def backward(self, g):
        if self.reduction == "mean":
            g = g / self.total  # a 0-d division, then the weights: torch's order
        if self.weights is None:
            vals = -g
            if self.reduction != "none":
                vals = vals.expand(self.target_shape)
        else:
            w = Tensor._wrap(-self.weights)
            vals = g * w if self.reduction == "none" else g.expand(w.shape) * w
            if self.ignored is not None:
                vals = where(Tensor._wrap(self.ignored), 0.0, vals)
        # (n, y_n) pairs are distinct, so the scatter needs no accumulation.
        return IndexAccumulate.apply(vals, index=self.index, shape=self.shape, accumulate=False)


_BCE_EPSILON = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    r"""Elementwise binary cross-entropy of probabilities p against targets y, as PyTorch::

        out = -(y max(log p, -100) + (1 - y) max(log(1 - p), -100))

    Derivation (for 0 < p < 1, where the clamps are inactive, as they are unless p is within
    e^-100 of 0 or 1): d out / dp = -y / p + (1 - y) / (1 - p) = (p - y) / (p (1 - p)), and
    d out / dy = log(1 - p) - log p. PyTorch's backward divides by max(p (1 - p), 1e-12)
    instead (1e-12 as a float32 constant, as its kernel has it), so at a saturated prediction
    the gradient is finite: 0 where p = y (a correct, confident prediction), -+1e12 where the
    prediction is confidently wrong. Training with ``binary_cross_entropy`` relies on that, so
    it is the rule here:

        dL/dp = g (p - y) / max(p (1 - p), 1e-12)     (``BinaryCrossEntropyBackward``)
        dL/dy = g (log(1 - p) - log p)                (unclamped: +-inf at p = 0 or 1, as torch)

    Shapes: p and y alike (the caller checks), out the same.
    """

    name = "binary_cross_entropy"

    def forward(self, p, y):
        # log1p(-p), as PyTorch: log(1 - p) loses the digits of a small p
        with np.errstate(divide="ignore"):
            return (y - 1) * np.maximum(np.log1p(-p), -100) - y * np.maximum(np.log(p), -100)

    def backward(self, g):
        p, y = self.inputs
        gp = gy = None
        if self.needs_input_grad[0]:
            gp = BinaryCrossEntropyBackward.apply(g, p, y)
        if self.needs_input_grad[1]:
            gy = g * (log1p(-p) - log(p))
        return gp, gy


class BinaryCrossEntropyBackward(Function):
    r"""The input gradient of the binary cross-entropy, g (p - y) / max(p (1 - p), 1e-12), as
    a primitive so that its own derivatives are PyTorch's at the clamp too (the derivative of
    a composition with the clamp would be 1/1e-12 there, not torch's 1/1e-24).

    Derivation, away from the clamp, with q = p (1 - p):
    d/dp [(p - y) / q] = (q - (p - y)(1 - 2p)) / q^2 = (p^2 - 2 p y + y) / q^2,
    d/dy = -1 / q, d/dg = (p - y) / q. PyTorch's double backward writes q^2 as
    (p + e)^2 (1 - p + e)^2 and q in d/dg as (p + e)(1 - p + e), e = 1e-12, and keeps
    max(q, e) in d/dy; the same forms here (each finite at p = 0 or 1):

        dL/dg = (p - y) / ((p + e)(1 - p + e)) G
        dL/dp = (p^2 - 2 p y + y) / ((p + e)^2 (1 - p + e)^2) (G g)
        dL/dy = -G g / max(p (1 - p), e)

    Written with differentiable ops, so third derivatives compose. Shapes: all alike.
    """

    name = "binary_cross_entropy_backward"

    def forward(self, g, p, y):
        q = np.maximum(p * (1 - p), p.dtype.type(_BCE_EPSILON))
        return g * (p - y) / q

    def backward(self, G):
        g, p, y = self.inputs
        e = 1e-12
        gg = gp = gy = None
        # the fraction first and the product of the gradients last, in torch's order: G g may
        # be subnormal, and multiplying it by the numerator before dividing loses its digits
        # (fuzz seed 376548274: g = -8e-45 gave 0 where torch and the exact value are -2.8e-45)
        if self.needs_input_grad[0]:
            gg = (p - y) / ((p + e) * (1 - p + e)) * G
        if self.needs_input_grad[1]:
            gp = (p * p - 2 * p * y + y) / ((p + e) ** 2 * (1 - p + e) ** 2) * (G * g)
        if self.needs_input_grad[2]:
            gy = -G * g / clamp(p * (1 - p), min=e)
        return gg, gp, gy


class BinaryCrossEntropyWithLogits(Function):
    r"""Elementwise binary cross-entropy of logits x against targets y, with an optional
    pos_weight w (broadcast), in PyTorch's form: with l = 1 + (w - 1) y,

        out = (1 - y) x + l softplus(-x),   softplus(-x) = log1p(e^-|x|) + max(-x, 0)

    d out / dx = l sigmoid(x) - w y (= sigmoid(x) - y for w = 1), d out / dy = (w - 1)
    softplus(-x) - x, d out / dw = y softplus(-x). A primitive so that the input gradient is
    g (sigmoid(x) - y), torch's order: as a composition it is g (1 - y) - g sigmoid(-x), and
    g (1 - y) overflows (float64 g = 8.5e307, y = -1.1: issue 11) where the sum is finite.
    The backward is handgrad operations, so the second derivative exists."""

    name = "binary_cross_entropy_with_logits"

    def forward(self, x, y, *pw):
        sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        lw = 1 + (pw[0] - 1) * y if pw else 1
        return ((1 - y) * x + lw * sp).astype(x.dtype, copy=False)

    def backward(self, g):
        x, y, *pw = self.inputs
        need = self.needs_input_grad
        gx = gy = gw = None
        if need[0]:
            s = sigmoid(x)
            gx = g * (s - y) if not pw else g * ((1 + (pw[0] - 1) * y) * s - pw[0] * y)
        if need[1] or (pw and need[2]):
            sp = softplus(-x, threshold=float("inf"))
            if need[1]:
                gy = g * -x if not pw else g * ((pw[0] - 1) * sp - x)
            if pw and need[2]:
                gw = g * (y * sp)
        return (gx, gy, gw) if pw else (gx, gy)
