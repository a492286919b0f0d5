"""The gradient of a piecewise-linear op as a function of its input, with derivative 0.

On each piece of relu, leaky_relu, hardtanh or a pooling, the input gradient is g times a
constant chosen by the input (a mask, a slope, a window's maximum), so its derivative with
respect to the input is 0 almost everywhere. PyTorch writes such a gradient as a function of g
and the input (threshold_backward(g, result), leaky_relu_backward(g, self),
max_pool2d_with_indices_backward(g, self, ...), avg_pool2d_backward(g, self, ...)) whose
derivative with respect to the input is zeros: under ``create_graph`` the gradient requires grad
through the input, and a second ``grad`` gives zeros, where handgrad's mask, read from the data,
left the gradient without a graph to the input and the second ``grad`` raised ("input was not
used"). Ops whose torch backward does not take the input (clamp's boolean mask, max by index,
mean) stay unconnected, as torch's. So does abs (and l1_loss, norms with p = 1): torch's g *
self.sgn() is connected, but through an efficient zero that never reaches the steps before,
where a tie's real zeros met an inf as 0 * inf = NaN (fuzz seeds 1653382, 1667922, 1672083).

``tie_gradient(gi, x)`` gives gi that graph: the identity on gi's value, and a zero derivative to
x, selected (``np.zeros``), never 0 times the cotangent, which may hold inf or NaN. It records
only while a graph is being recorded (a backward under ``create_graph``) and x requires grad, so
a plain ``loss.backward()`` pays nothing. A primitive calls it in its backward; a composition
(leaky_relu is ``where(x > 0, x, x * slope)``) starts from ``piecewise_linear_input(x)``, an
identity whose backward ties the summed gradient of x.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


class TiedGradient(Function):
    """out = gi, a gradient, as a function of gi and of the op's input x: out(gi, x) = gi on the
    piece of x, so d out = d gi, and dL/dgi = g, dL/dx = 0 (zeros of x's shape, selected, not
    0 * g). The output shares gi's memory (no copy) and its version counter."""

    name = "tied_gradient"
    uses_inputs = False
    is_view = True

    def forward(self, gi, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return gi

    def backward(self, g):
        zeros = Tensor._wrap(np.zeros(self.x_shape, self.x_dtype))
        return g, zeros if self.needs_input_grad[1] else None


class PiecewiseLinearInput(Function):
    """out = x, the input of a piecewise-linear composition. dL/dx = g, tied to x with derivative
    0 (``TiedGradient``) while a graph is recorded: the composition's gradient, summed over its
    branches, is then one function of g and x, as torch's fused backward."""

    name = "piecewise_linear_input"
    uses_inputs = False
    is_view = True

    def forward(self, x):
        return x

    def backward(self, g):
        return tie_gradient(g, self.inputs[0])


def tie_gradient(gi: Tensor, x: Tensor | Function) -> Tensor:
    """gi tied to x (a tensor, or a node standing for its output: relu's backward reads its
    result) with derivative 0, when a graph is recorded and x requires grad; else gi itself."""
    if not is_grad_enabled():
        return gi
    if isinstance(x, Function):
        x = x.output()
    return TiedGradient.apply(gi, x) if x._requires_grad else gi


def piecewise_linear_input(x: Tensor) -> Tensor:
    """x, through ``PiecewiseLinearInput`` when it requires grad."""
    return PiecewiseLinearInput.apply(x) if x._requires_grad else x


__all__: list[str] = []
