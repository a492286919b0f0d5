"""Fused loss primitives. The negative log-likelihood: composing it from gather, multiply, sum
and divide costs eight graph nodes per training step for what is one scatter in backward. Binary
cross-entropy: the composition's gradient is NaN at p = 0 and 1 (see ``BinaryCrossEntropy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..autograd.function import Function
from .elementwise import where
from .shape import IndexAccumulate

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


class NllLoss(Function):
    """out_n = -w_n x[n, y_n] (``reduction='none'``), or its sum times ``scale`` (``'sum'``: 1,
    ``'mean'``: 1 / sum_n w_n, PyTorch's convention). ``w_n`` is the class weight of y_n, 0 for an
    ignored target; ``weights=None`` means w_n = 1 for all n.

    The loss is linear in x: d out / d x[n, c] = -w_n [c = y_n] (times scale), so
    dL/dx = zeros with -g w_n scale placed at (n, y_n): an index_accumulate, and the second
    derivative is 0.

    Ignored targets (``ignored``) contribute exactly 0 to the loss and get exactly 0 gradient,
    selected rather than multiplied by w_n = 0: an ignored row of -inf logits (masked padding)
    must not turn the loss into 0 * inf = NaN. When every target is ignored, 'mean' is 0/0 = NaN
    and the gradient is 0, as in PyTorch.
    """

    name = "nll_loss"
    uses_inputs = False

    def forward(self, x, index, weights, scale, reduction, ignored=None):
        self.index, self.weights, self.scale = index, weights, scale
        self.shape, self.reduction, self.ignored = x.shape, reduction, ignored
        losses = -x[index] if weights is None else -(x[index] * weights)
        if ignored is not None:
            losses = np.where(ignored, x.dtype.type(0), losses)
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
            if self.ignored is not None:
                vals = where(Tensor._wrap(self.ignored), 0.0, vals)
        # (n, y_n) pairs are distinct, so the scatter needs no accumulation.
        return IndexAccumulate.apply(vals, index=self.index, shape=self.shape, accumulate=False)


class BinaryCrossEntropy(Function):
    """out = -[y log p + (1 - y) log(1 - p)] element-wise, each log clamped at -100 (PyTorch's
    convention, so p = 0 or 1 gives a finite loss).

    dL/dp = g (p - y) / max(p (1 - p), 1e-12) and dL/dy = g (log(1 - p) - log p) (not clamped,
    so +-inf at p = 0 or 1): PyTorch's formulas. A fused primitive because the composition's
    gradient at p = 0 or 1 is the clamp's selected 0 divided by log's p = 0: 0 / 0 = NaN, where
    torch's is finite (a sigmoid saturated to exactly 1 is everyday input)."""

    name = "binary_cross_entropy"

    def forward(self, p, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = np.maximum(np.log(p), -100)
            lq = np.maximum(np.log1p(-p), -100)
        return -(y * lp + (1 - y) * lq)

    def backward(self, g):
        from .elementwise import clamp, log, log1p  # (elementwise imports this module's users)

        p, y = self.inputs
        np_, ny = self.needs_input_grad
        gp = g * ((p - y) / clamp(p * (1 - p), min=1e-12)) if np_ else None
        gy = None
        if ny:
            gy = g * (log1p(-p) - log(p))  # not clamped: torch's target gradient
        return gp, gy
