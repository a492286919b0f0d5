"""Parity cases for the zero-derivative ties of piecewise-linear gradients (ops/zero_derivative.py):
``tied_gradient`` (relu, max and average pooling tie their input gradient in their backward)
and ``piecewise_linear_input`` (leaky_relu, hardtanh and the adaptive pools, compositions, tie
theirs at their input).

Each case is the recorded gradient of the sum of op(x)^2 with respect to x, times x plus x: so
its first derivative goes through the tie (the identity on the gradient) and its second through
the tie's derivative with respect to x (zeros, as torch's threshold_backward and the others),
besides the op's own. The inner grad runs under ``enable_grad``: the finite differences evaluate
the case under no_grad."""

from __future__ import annotations

from hypothesis import strategies as st

from .common import Case, rng, shape, values


def F(lib):  # noqa: N802  (torch.nn.functional or handgrad.nn.functional)
    return lib.nn.functional


def _gradient_of(op):
    def fn(lib, a):
        with lib.enable_grad():
            y = op(lib, a)
            (ga,) = lib.autograd.grad((y * y).sum(), a, create_graph=True)
        return ga * a + a

    return fn


def _distinct(data):
    """Values with no ties and no kinks (0, +-1, the window maxima are unique)."""
    return [values(rng(data), shape(data), "distinct")], {}


def _image(data):
    n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    h, w = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 4))
    return [values(rng(data), (n, c, h, w), "distinct")], {}


CASES = {
    "tied_gradient": [
        Case(_gradient_of(lambda lib, x: x.relu()), _distinct),
        Case(_gradient_of(lambda lib, x: x.relu() * x), _distinct),
        Case(_gradient_of(lambda lib, x: F(lib).max_pool2d(x, 2, 1)), _image),
        Case(_gradient_of(lambda lib, x: F(lib).max_pool1d(x[0], 2)), _image),
        Case(
            _gradient_of(lambda lib, x: F(lib).avg_pool2d(x, 2, 1, padding=1) * x[..., :1, :1]),
            _image,
        ),
    ],
    "piecewise_linear_input": [
        Case(_gradient_of(lambda lib, x: F(lib).hardtanh(x)), _distinct),
        Case(_gradient_of(lambda lib, x: F(lib).hardtanh(x) * x), _distinct),
        Case(_gradient_of(lambda lib, x: F(lib).adaptive_avg_pool2d(x, (2, 1)) * x.sum()), _image),
        Case(_gradient_of(lambda lib, x: F(lib).adaptive_max_pool2d(x, (1, 2))), _image),
    ],
}
