"""The gradient of a piecewise-linear op under create_graph is, as torch's, a function of the op's
input (relu: of its result) with a zero derivative (ops/zero_derivative.py): it requires grad, and
a second ``grad`` with respect to the input gives zeros instead of raising "input was not used".
Every expected value is torch's; no ``allow_unused`` on the handgrad side."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

X = [0.5, -1.0, 2.0, 0.0, 3.0, -0.2, 1.0, -2.5, 0.7, 1.7, -0.6, 0.25]  # kinks at 0 and 1 too


def _np(t):
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.detach().numpy()


# torch's gradient of each of these requires grad under create_graph (checked in torch 2.13)
OPS = {
    "relu": lambda F, x: F.relu(x),
    "relu6": lambda F, x: F.relu6(x * 4),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 1.0),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.1),
    "threshold": lambda F, x: F.threshold(x, 0.25, -2.0),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.5),
    "softshrink": lambda F, x: F.softshrink(x, 0.5),
    "max_pool1d": lambda F, x: F.max_pool1d(x.reshape(1, 2, 6), 2),
    "max_pool2d": lambda F, x: F.max_pool2d(x.reshape(1, 1, 3, 4), 3, 2, 1, ceil_mode=True),
    "avg_pool1d": lambda F, x: F.avg_pool1d(x.reshape(2, 6), 3, 2, 1),
    "avg_pool2d": lambda F, x: F.avg_pool2d(x.reshape(1, 3, 4), 2, 1, count_include_pad=False),
    "adaptive_avg_pool2d": lambda F, x: F.adaptive_avg_pool2d(x.reshape(1, 1, 3, 4), (2, 3)),
    "adaptive_max_pool2d": lambda F, x: F.adaptive_max_pool2d(x.reshape(1, 3, 4), (2, 3)),
    "adaptive_max_pool1d": lambda F, x: F.adaptive_max_pool1d(x.reshape(2, 6), 4),
}


def _program(lib, name, x, create_graph=True):
    grad = torch.autograd.grad if lib is torch else hg.grad
    y = OPS[name](lib.nn.functional, x)
    # g a constant: the gradient reaches x only through the tie
    loss = (y * y.detach().cos()).sum()
    (gx,) = grad(loss, x, create_graph=create_graph)
    return gx


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradient_requires_grad_and_second_derivative_as_torch(name):
    got = {}
    for lib in (torch, hg):
        grad = torch.autograd.grad if lib is torch else hg.grad
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        gx = _program(lib, name, x)
        plain = _program(lib, name, x, create_graph=False)
        v = lib.tensor(np.linspace(-1, 1, len(X)), dtype=lib.float64)
        (h,) = grad((gx * v).sum(), x)
        got[lib.__name__] = (gx.requires_grad, _np(gx), _np(plain), _np(h))
    t, h = got["torch"], got["handgrad"]
    assert h[0] is True and t[0] is True, f"{name}: requires_grad {h[0]}, torch {t[0]}"
    # the value is the one computed without a graph, bit for bit
    np.testing.assert_array_equal(h[1].view(np.int64), h[2].view(np.int64), err_msg=name)
    np.testing.assert_allclose(h[1], t[1], rtol=1e-12, atol=0, err_msg=f"{name}: gradient")
    np.testing.assert_array_equal(h[3], t[3], err_msg=f"{name}: second derivative")


@pytest.mark.parametrize("name", ["relu", "max_pool1d"])
def test_an_infinite_gradient_meets_a_selected_zero(name):
    """g is inf where the op's gradient is 0 (relu's flat side, the windows' non-maxima) or
    finite: the second derivative is exactly torch's zeros, not 0 * inf = NaN."""
    got = {}
    for lib in (torch, hg):
        grad = torch.autograd.grad if lib is torch else hg.grad
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        y = OPS[name](lib.nn.functional, x)
        g = lib.tensor(np.where(_np(y) <= 0, np.inf, 1.5))
        (gx,) = grad(y, x, g, create_graph=True)
        got[lib.__name__] = [_np(gx), _np(grad(gx[gx == 0].sum(), x)[0])]
    for a, b in zip(got["handgrad"], got["torch"]):
        np.testing.assert_array_equal(a, b)


def test_relu_mlp_input_hessian_row_by_row():
    rows = {}
    for lib in (torch, hg):
        grad = torch.autograd.grad if lib is torch else hg.grad
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 1))
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        (gx,) = grad(net(x).sum(), x, create_graph=True)
        rows[lib.__name__] = [_np(grad(gx[i], x, retain_graph=True)[0]) for i in range(3)]
    for i, (a, b) in enumerate(zip(rows["handgrad"], rows["torch"])):
        np.testing.assert_array_equal(a, b, err_msg=f"Hessian row {i}")


def test_relu_gradient_is_tied_to_its_result():
    """torch's threshold_backward(g, result, 0): the second derivative reaches the result too."""
    got = {}
    for lib in (torch, hg):
        grad = torch.autograd.grad if lib is torch else hg.grad
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        h = x * 2
        r = h.relu()
        (gx,) = grad((r * r.detach()).sum(), x, create_graph=True)
        got[lib.__name__] = [_np(t) for t in grad(gx.sum(), [x, h, r])]
    for a, b in zip(got["handgrad"], got["torch"]):
        np.testing.assert_array_equal(a, b)


def test_cnn_gradient_penalty_second_derivative():
    """A gradient penalty |dL/dx|^2 through conv, relu, max_pool2d, avg_pool2d and an adaptive
    pool: its gradient with respect to the weights and to x (zeros through the ties) as torch's."""
    got: dict = {}
    weights: list = []
    for lib in (torch, hg):
        grad = torch.autograd.grad if lib is torch else hg.grad
        nn = lib.nn
        lib.manual_seed(0)
        net = nn.Sequential(
            nn.Conv2d(2, 3, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(3, 4, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.AvgPool2d(2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 2),
        ).double()
        if lib is torch:
            weights = [_np(p) for p in net.parameters()]
        else:  # torch's weights (the two generators differ)
            for p, w in zip(net.parameters(), weights):
                p.data = hg.tensor(w)
        rng = np.random.default_rng(0)
        x = lib.tensor(rng.standard_normal((2, 2, 8, 8)), requires_grad=True)
        (gx,) = grad(net(x).sum(), x, create_graph=True)
        penalty = (gx * gx).sum()
        params = list(net.parameters())[:-1]  # the last bias does not reach dL/dx
        got[lib.__name__] = [_np(t) for t in grad(penalty, [x, *params])]
    for i, (a, b) in enumerate(zip(got["handgrad"], got["torch"])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13, err_msg=f"input {i}")


def test_the_tie_is_recorded_only_under_create_graph():
    """With create_graph the gradient hangs from a tie; without, it has no graph (a plain
    backward records nothing)."""
    for create_graph in (True, False):
        x = hg.tensor(X, requires_grad=True)
        y = hg.nn.functional.hardtanh(x).relu().abs()
        (gx,) = hg.grad((y * 2.0).sum(), x, create_graph=create_graph)
        assert gx.requires_grad is create_graph
        assert (gx._ctx is not None and gx._ctx.name == "tied_gradient") is create_graph
