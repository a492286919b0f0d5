"""The derivation checker itself: it passes correct derivatives, catches wrong ones, names
the worst indices, and insists on float64."""

from __future__ import annotations

import numpy as np
import pytest

import handgrad as hg
from handgrad.autograd import Function


def layer(x, a, b):
    """002, Assignment 2: y_i = a (x_i + x_{i+2}) + b."""
    return a * (x[:-2] + x[2:]) + b


def correct_formula(g, x, a, b):
    gx = np.zeros_like(x)
    gx[:-2] += a * g  # x_j appears as x_i in y_j ...
    gx[2:] += a * g  # ... and as x_{i+2} in y_{j-2}
    return gx, (g * (x[:-2] + x[2:])).sum(), g.sum()


def boundary_slip_formula(g, x, a, b):
    """The solution's case split read with its last case winning at j = N-2 (1-indexed): there
    x_{N-2} gets a g_{N-4} only, dropping a g_{N-2}."""
    n = len(x)
    gx = np.zeros_like(x)
    for j in range(n):
        if j >= n - 3:
            gx[j] = a * g[j - 2]
        elif j <= 1:
            gx[j] = a * g[j]
        else:
            gx[j] = a * (g[j] + g[j - 2])
    return gx, (g * (x[:-2] + x[2:])).sum(), g.sum()


def test_check_vjp_passes_a_correct_formula():
    rng = np.random.default_rng(0)
    report = hg.check_vjp(layer, correct_formula, [rng.standard_normal(9), 1.5, -0.3])
    assert report, str(report)


def test_check_vjp_reports_the_wrong_boundary_component():
    rng = np.random.default_rng(0)
    n = 9
    report = hg.check_vjp(layer, boundary_slip_formula, [rng.standard_normal(n), 1.5, -0.3])
    assert not report
    x_report = report.inputs[0]
    assert x_report.bad_indices == [(n - 3,)]
    assert report.inputs[1].passed and report.inputs[2].passed
    assert f"({n - 3},)" in str(report)


class _WrongSquare(Function):
    """out = a^2 with a deliberately wrong backward (g a instead of 2 g a)."""

    name = ""  # not registered: a test-only primitive

    def forward(self, a):
        return a * a

    def backward(self, g):
        return g * self.inputs[0]


def test_gradcheck_catches_a_wrong_backward_rule_and_names_the_worst_index():
    x = hg.tensor(np.array([[0.5, -2.0], [1.0, 3.0]]), requires_grad=True)
    report = hg.gradcheck(lambda t: _WrongSquare.apply(t), [x])
    assert not report
    assert report.inputs[0].worst_index == (3, 3)  # d out_3 / d x_3: |3 - 6| is the largest
    assert "MISMATCH" in str(report)
    assert hg.gradcheck(lambda t: t * t, [x])


def test_fast_mode_agrees_and_catches_the_wrong_rule():
    x = hg.tensor(np.random.default_rng(1).standard_normal((20, 30)), requires_grad=True)
    assert hg.gradcheck(lambda t: (t.tanh() * t).sum(1), [x], fast_mode=True)
    assert not hg.gradcheck(lambda t: _WrongSquare.apply(t), [x], fast_mode=True)


def test_gradgradcheck_checks_second_derivatives():
    x = hg.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
    assert hg.gradgradcheck(lambda t: (t.sigmoid() * t.exp()).sum(0), [x])
    assert hg.gradgradcheck(lambda t: (t.sigmoid() * t.exp()).sum(0), [x], fast_mode=True)
    # A backward that is right to first order but not differentiable correctly: g * 2a written
    # with a detached copy of a, so its derivative in a is lost.

    class _Detached(Function):
        name = ""

        def forward(self, a):
            return a * a

        def backward(self, g):
            return g * self.inputs[0].detach() * 2

    assert hg.gradcheck(lambda t: _Detached.apply(t), [x])
    assert not hg.gradgradcheck(lambda t: _Detached.apply(t), [x])


def test_checks_insist_on_float64():
    x = hg.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck: input 0 is float32.*float64"):
        hg.gradcheck(lambda t: t * 2, [x])
    with pytest.raises(ValueError, match="gradgradcheck: input 0 is float32"):
        hg.gradgradcheck(lambda t: t * 2, [x])


def test_check_vjp_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="check_vjp: gradient 0 has shape"):
        hg.check_vjp(lambda x: x * 2, lambda g, x: np.zeros(5), [np.ones(3)])
