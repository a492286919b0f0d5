"""The negative log-likelihood loss as a fused primitive: composing it from gather, multiply,
sum and divide costs eight graph nodes per training step for what is one scatter in backward."""

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
