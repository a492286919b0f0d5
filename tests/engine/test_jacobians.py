"""hg.autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) against
torch.autograd.functional on the same functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

import handgrad as hg

AF = hg.autograd.functional
torch.set_num_threads(1)
R = np.random.default_rng(0)
A, B, V = R.standard_normal((3, 2)), R.standard_normal(2), R.standard_normal((3, 2))


def f_one(L, x):
    return (x.cumsum(0) * x.tanh()).sum(1)


def f_two(L, x, w):
    return (x @ w).exp(), (x * x).sum()


def scalar(L, x):
    return (x.sin() * x.sum(0)).sum()


def _t(L, a):
    return L.tensor(a)


def _np(t):
    if isinstance(t, tuple):
        return tuple(_np(u) for u in t)
    return t.detach().numpy()


def _close(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v)
        return
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_jacobian_one_and_several_inputs_and_outputs():
    _close(
        _np(AF.jacobian(lambda x: f_one(hg, x), _t(hg, A))),
        _np(TAF.jacobian(lambda x: f_one(torch, x), _t(torch, A))),
    )
    _close(
        _np(AF.jacobian(lambda x, w: f_two(hg, x, w), (_t(hg, A), _t(hg, B)))),
        _np(TAF.jacobian(lambda x, w: f_two(torch, x, w), (_t(torch, A), _t(torch, B)))),
    )


def test_hessian_and_products():
    _close(
        _np(AF.hessian(lambda x: scalar(hg, x), _t(hg, A))),
        _np(TAF.hessian(lambda x: scalar(torch, x), _t(torch, A))),
    )
    for ours, theirs in ((AF.vhp, TAF.vhp), (AF.hvp, TAF.hvp)):
        _close(
            _np(ours(lambda x: scalar(hg, x), _t(hg, A), _t(hg, V))),
            _np(theirs(lambda x: scalar(torch, x), _t(torch, A), _t(torch, V))),
        )
    w = R.standard_normal(3)
    _close(
        _np(AF.vjp(lambda x: f_one(hg, x), _t(hg, A), _t(hg, w))),
        _np(TAF.vjp(lambda x: f_one(torch, x), _t(torch, A), _t(torch, w))),
    )
    _close(
        _np(AF.jvp(lambda x: f_one(hg, x), _t(hg, A), _t(hg, V))),
        _np(TAF.jvp(lambda x: f_one(torch, x), _t(torch, A), _t(torch, V))),
    )


def test_jacobian_of_the_scan_is_the_lower_triangle():
    """Problem set 000, Assignment 1: d cumsum(x)_i / d x_j = [j <= i]."""
    J = AF.jacobian(lambda x: x.cumsum(0), hg.tensor(R.standard_normal(5))).numpy()
    np.testing.assert_array_equal(J, np.tril(np.ones((5, 5))))


def test_create_graph_keeps_the_result_differentiable():
    x = hg.tensor(A, requires_grad=True)
    J = AF.jacobian(lambda t: (t * t).sum(1), x, create_graph=True)
    assert J.requires_grad
    (g,) = hg.grad(J.sum(), x)
    np.testing.assert_allclose(g.numpy(), np.full(A.shape, 2.0))


def test_hessian_needs_a_scalar():
    with pytest.raises(RuntimeError, match=r"hessian: the function must return a single-element"):
        AF.hessian(lambda x: x * 2, hg.ones(3))
