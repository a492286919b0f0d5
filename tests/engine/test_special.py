"""The composed element-wise functions of handgrad.ops.special against torch (values, gradients,
second derivatives), and the gradient-free comparisons."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)
X, Y = R.standard_normal((3, 4)) * 2, R.standard_normal((3, 4)) * 2
P = R.uniform(0.05, 0.95, (3, 4))
POS = R.uniform(0.5, 3.0, (3, 4))
W = R.uniform(0, 1, (3, 4))

CASES = [
    ("log2", lambda L, a: L.log2(a), [POS]),
    ("log10", lambda L, a: L.log10(a), [POS]),
    ("logaddexp", lambda L, a, b: L.logaddexp(a, b), [X, Y]),
    ("logit", lambda L, p: L.logit(p), [P]),
    ("logit-eps", lambda L, p: L.logit(p, eps=0.1), [P]),
    ("xlogy", lambda L, a, b: L.xlogy(a, b), [X, POS]),
    ("hypot", lambda L, a, b: L.hypot(a, b), [X, Y]),
    ("lerp", lambda L, a, b, w: L.lerp(a, b, w), [X, Y, W]),
    ("addcmul", lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), [X, Y, W]),
    ("addcdiv", lambda L, a, b, c: L.addcdiv(a, b, c, value=-2.0), [X, Y, POS]),
    ("clamp_min", lambda L, a: L.clamp_min(a, 0.3), [X]),
    ("clamp_max", lambda L, a: L.clamp_max(a, 0.3), [X]),
    ("trunc", lambda L, a: L.trunc(a) * a, [X]),
    ("frac", lambda L, a: L.frac(a), [X]),
    ("fmod", lambda L, a, b: L.fmod(a, b), [X, POS]),
    ("remainder", lambda L, a, b: L.remainder(a, b), [X, POS]),
    ("deg2rad", lambda L, a: L.deg2rad(a) ** 2, [X]),
    ("rad2deg", lambda L, a: L.rad2deg(a) ** 2, [X]),
]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_to_second_order(name, fn, arrays):
    compare_to_second_order(name, *run(fn, arrays))


def test_xlogy_is_zero_where_x_is_zero_even_for_y_zero():
    x, y = np.array([0.0, 0.0, 2.0]), np.array([0.0, 3.0, 0.5])
    out = hg.xlogy(hg.tensor(x), hg.tensor(y)).numpy()
    np.testing.assert_array_equal(out, torch.xlogy(torch.tensor(x), torch.tensor(y)).numpy())


def test_nan_to_num_and_isclose_as_torch():
    a = np.array([np.nan, np.inf, -np.inf, 1.5], dtype=np.float32)
    for kw in ({}, {"nan": 2.0, "posinf": 9.0, "neginf": -9.0}):
        np.testing.assert_array_equal(
            hg.nan_to_num(hg.tensor(a), **kw).numpy(),
            torch.nan_to_num(torch.tensor(a), **kw).numpy(),
        )
    b = a + np.float32(1e-6)
    np.testing.assert_array_equal(
        hg.isclose(hg.tensor(a), hg.tensor(b), equal_nan=True).numpy(),
        torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=True).numpy(),
    )
    assert hg.allclose(hg.tensor([1.0, 2.0]), hg.tensor([1.0, 2.0 + 1e-9]))
    assert not hg.allclose(hg.tensor([1.0]), hg.tensor([1.1]))


def test_float32_stays_float32():
    x = hg.tensor(POS.astype(np.float32))
    for f in (hg.tan, hg.atan, hg.expm1, hg.log2, lambda t: hg.atan2(t, t + 1)):
        assert f(x).dtype == np.float32


def test_logit_gradient_outside_0_1_is_a_constant_nan():
    """Outside [0, 1] torch's logit gradient is NaN selected by a where: its derivatives by the
    input and by the upstream gradient are 0 (found by the fuzzer, seed 64543139: handgrad's
    derivative by the upstream gradient was NaN)."""
    out = []
    for lib, grad in ((torch, torch.autograd.grad), (hg, hg.grad)):
        p = lib.tensor(np.array([-1.2717713, 0.25, 1.5], dtype=np.float32), requires_grad=True)
        g = lib.tensor(np.array([0.7, -0.4, 0.3], dtype=np.float32), requires_grad=True)
        (gp,) = grad(lib.logit(p), [p], g, create_graph=True)
        s = (gp * lib.tensor(np.array([0.3, 0.5, -2.0], dtype=np.float32))).sum()
        d2 = grad(s, [p, g])
        out.append([np.asarray(a.detach().numpy()) for a in (gp, *d2)])
    for h, t in zip(out[1], out[0]):
        np.testing.assert_allclose(h, t, rtol=1e-6)


def test_logit_second_derivative_with_a_zero_gradient_and_a_huge_direction():
    """torch's logit backward is g / (p (1 - p)), whose second derivative at g = 0 is 0 even in a
    direction of 1e308 (fuzz seed 376525213: the composition log(p / (1 - p)) gave NaN)."""
    out = []
    for lib, grad in ((torch, torch.autograd.grad), (hg, hg.grad)):
        p = lib.tensor(np.array([0.81417, 0.25, 0.0, 1.0, -0.0]), requires_grad=True)
        g = lib.tensor(np.array([0.0, 0.0, 1.0, -2.0, 1.0]), requires_grad=True)
        (gp,) = grad(lib.logit(p), [p], g, create_graph=True)
        d2 = grad(gp, [p, g], lib.tensor(np.array([1e308, 1e308, 1.0, 1.0, 1.0])))
        out.append([np.asarray(a.detach().numpy()) for a in (lib.logit(p), gp, *d2)])
    for h, t in zip(out[1], out[0]):
        np.testing.assert_array_equal(h, t)
        np.testing.assert_array_equal(np.signbit(h), np.signbit(t))


def test_erf_through_scipy_against_math_erf(monkeypatch):
    """erf's values (``ops.special.erf_array``, GELU's too): float32 through scipy's erf in
    float64 gives the bits of ``math.erf`` rounded to float32, on a million random values and the
    edges (-0.0, inf, NaN, subnormals, the largest float32); float64 is within 3 ulps of
    ``math.erf`` with its signs, infinities and NaNs; without scipy it is ``math.erf`` per
    element."""
    import math

    from handgrad.ops import special

    pytest.importorskip("scipy")
    r = np.random.default_rng(0)
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-40, 3.4e38, 5.9, 1e-310, -27.0]
    x64 = np.concatenate([r.standard_normal(10**6) * 3, np.array(edges)])
    for x in (x64.astype(np.float32), x64):
        slow = np.vectorize(math.erf, otypes=[x.dtype])(x)
        fast = special.erf_array(x)
        assert fast.dtype == x.dtype
        assert np.array_equal(np.signbit(fast), np.signbit(slow))
        if x.dtype == np.float32:
            np.testing.assert_array_equal(fast, slow)
        else:
            np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
            finite = np.isfinite(slow)
            ulps = np.abs(fast[finite] - slow[finite]) / np.spacing(np.abs(slow[finite]))
            assert ulps.max() <= 3 and (ulps > 0).any()  # (not math.erf's bits: scipy's)
    monkeypatch.setattr(special, "_scipy_erf", lambda: None)
    for x in (x64[:1000].astype(np.float32), x64[:1000]):
        want = np.vectorize(math.erf, otypes=[x.dtype])(x)
        np.testing.assert_array_equal(special.erf_array(x), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_forms_erf_once_for_its_gradients(monkeypatch, dtype):
    """The exact GELU's erf(x / sqrt 2) is formed once, in the forward, and its backward and
    double backward read it (erf is the costly part); the gradients stay torch's."""
    from handgrad.ops import special

    calls = []
    erf = special.erf_array

    def counted(a):
        calls.append(a.shape)
        return erf(a)

    monkeypatch.setattr(special, "erf_array", counted)
    r = np.random.default_rng(3)
    x, g, u = (r.standard_normal((4, 5)).astype(dtype) * 2 for _ in range(3))
    out = []
    for lib in (torch, hg):
        hx = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.gelu(hx)
        (dx,) = lib.autograd.grad(y, hx, lib.tensor(g), create_graph=True)
        (d2,) = lib.autograd.grad(dx, hx, lib.tensor(u))
        out.append([a.detach().numpy() for a in (y, dx, d2)])
    assert calls == [(4, 5)]
    tol = 1e-6 if dtype == np.float32 else 1e-13
    for h, t in zip(out[1], out[0]):
        np.testing.assert_allclose(h, t, rtol=tol, atol=tol)
