"""Fused loss primitives. The negative log-likelihood: composing it from gather, multiply, sum
and divide costs eight graph nodes per training step for what is one scatter in backward. The
binary cross-entropy: its log is clamped at -100, and the gradient PyTorch defines at a
saturated prediction (p exactly 0 or 1) is not the derivative of any composition of clamps."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .shape import IndexAccumulate


class NllLoss(Function):
    """out_n = -w_n x[n, y_n] (``reduction='none'``), or its sum times ``scale`` (``'sum'``: 1,
    ``'mean'``: 1 / sum_n w_n, PyTorch's convention). ``w_n`` is the class weight of y_n, 0 for an
    ignored target; ``weights=None`` means w_n = 1 for all n.

    The loss is linear in x: d out / d x[n, c] = -w_n [c = y_n] (times scale), so
    dL/dx = zeros with -g w_n scale placed at (n, y_n): an index_accumulate, and the second
    derivative is 0.
    """

    name = "nll_loss"
    uses_inputs = False

    def forward(self, x, index, weights, scale, reduction):
        self.index, self.weights, self.scale = index, weights, scale
        self.shape, self.reduction = x.shape, reduction
        losses = -x[index] if weights is None else -(x[index] * weights)
        self.target_shape = losses.shape
        if reduction == "none":
            return losses
        return np.asarray(losses.sum() * x.dtype.type(scale))

    def backward(self, g):
        if self.weights is None:
            vals = g * -self.scale
            if self.reduction != "none":
                vals = vals.expand(self.target_shape)
        else:
            w = Tensor._wrap(self.weights * self.weights.dtype.type(-self.scale))
            vals = g * w if self.reduction == "none" else g.expand(w.shape) * w
        # (n, y_n) pairs are distinct, so the scatter needs no accumulation.
        return IndexAccumulate.apply(vals, index=self.index, shape=self.shape, accumulate=False)


_BCE_EPSILON = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    r"""Elementwise binary cross-entropy of probabilities p against targets y, as PyTorch::

        out = -(y max(log p, -100) + (1 - y) max(log(1 - p), -100))

    Derivation (for 0 < p < 1, where the clamps are inactive, as they are unless p is within
    e^-100 of 0 or 1): d out / dp = -y / p + (1 - y) / (1 - p) = (p - y) / (p (1 - p)), and
    d out / dy = log(1 - p) - log p. PyTorch's backward divides by max(p (1 - p), 1e-12)
    (1e-12 as a float32 constant, as PyTorch's kernel has it), so at a saturated prediction the
    gradient is finite: 0 where p = y (a correct,
    confident prediction), -+1e12 where the prediction is confidently wrong. That is what
    ``binary_cross_entropy`` training relies on, so it is the rule here:

        dL/dp = g (p - y) / max(p (1 - p), 1e-12)        dL/dy = g (log(1 - p) - log p)

    The target gradient is unclamped (+-inf at p = 0 or 1), as PyTorch's. Both are written with
    differentiable ops, so second derivatives equal PyTorch's where 1e-12 < p (1 - p); at the
    clamp, d^2 out / dp^2 is 1/1e-12 (the clamp's own derivative is 0) where PyTorch's formula
    gives (p^2 - 2 p y + y) / 1e-24. Shapes: p and y alike (the caller checks), out the same.
    """

    name = "binary_cross_entropy"

    def forward(self, p, y):
        # log1p(-p), as PyTorch: log(1 - p) loses the digits of a small p
        with np.errstate(divide="ignore"):
            return (y - 1) * np.maximum(np.log1p(-p), -100) - y * np.maximum(np.log(p), -100)

    def backward(self, g):
        from . import clamp, log, log1p

        p, y = self.inputs
        gp = gy = None
        if self.needs_input_grad[0]:
            gp = g * (p - y) / clamp(p * (1 - p), min=_BCE_EPSILON)
        if self.needs_input_grad[1]:
            gy = g * (log1p(-p) - log(p))
        return gp, gy
