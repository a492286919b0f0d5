"""Each accepted difference from PyTorch (docs/differences.md, tests/fuzz/accepted.py) pinned:
the test shows torch's value and handgrad's on the same input and asserts that they differ in
exactly the documented way, so a change on either side is noticed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import handgrad as hg
import handgrad.nn.functional as hF

from fuzz import accepted

INF, NAN = float("inf"), float("nan")


def _grad(lib, fn, x, g=None, dtype=np.float64):
    t = lib.tensor(np.asarray(x, dtype=dtype), requires_grad=True)
    out = fn(t)
    gg = lib.tensor(np.ones(tuple(out.shape), dtype) if g is None else np.asarray(g, dtype))
    grad = torch.autograd.grad if lib is torch else hg.grad
    (d,) = grad(out, [t], gg)
    return d.detach().numpy()


def test_every_accepted_difference_is_documented_and_pinned():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "differences.md").read_text()
    names = [fn.__name__ for fn in accepted.ACCEPTED]
    for name in names:
        assert f"`{name}`" in doc, f"{name} is not in docs/differences.md"
        assert f"test_{name}" in globals(), f"{name} has no pinning test here"


def test_nonfinite_either_way():
    # gelu at +inf in float32: torch's x (1 + erf(x / sqrt 2)) / 2 is NaN there, handgrad's
    # inf. Both non-finite. (tanh's gradient under an infinite g, the example before, is
    # torch's g (1 - out^2) in handgrad now.) 64 elements: torch's vectorized kernel gives the
    # NaN (its scalar tail gives inf)
    x = np.full(64, np.inf, np.float32)
    t = tF.gelu(torch.tensor(x)).numpy()
    h = hF.gelu(hg.tensor(x)).numpy()
    assert np.isnan(t).all() and np.isinf(h).all()


def test_conv_transpose_empty_output():
    """Not a predicate (torch's refusals are skipped): an output with an empty spatial dim is the
    empty tensor in handgrad for every dtype and batch, as in torch's float32 kernel and for a
    batch of 0; torch's float64 kernel refuses it; a negative size is an error in both."""
    x, w = np.ones((2, 3, 3, 2)), np.ones((3, 2, 2, 1))
    for dtype in (np.float32, np.float64):
        hx = hg.tensor(x.astype(dtype), requires_grad=True)
        hw = hg.tensor(w.astype(dtype), requires_grad=True)
        h = hF.conv_transpose2d(hx, hw, padding=1)
        assert h.shape == (2, 2, 2, 0)
        h.sum().backward()
        assert (hx.grad.numpy() == 0).all() and (hw.grad.numpy() == 0).all()
    t = tF.conv_transpose2d(
        torch.tensor(x, dtype=torch.float32), torch.tensor(w).float(), padding=1
    )
    assert tuple(t.shape) == (2, 2, 2, 0)
    with pytest.raises(RuntimeError, match="too small"):
        tF.conv_transpose2d(torch.tensor(x), torch.tensor(w), padding=1)
    x0, w0 = np.zeros((0, 4, 1, 4)), np.ones((4, 1, 2, 2))
    t = tF.conv_transpose2d(torch.tensor(x0), torch.tensor(w0), stride=2, padding=1)
    h = hF.conv_transpose2d(hg.tensor(x0), hg.tensor(w0), stride=2, padding=1)
    assert tuple(t.shape) == h.shape == (0, 1, 0, 6)
    for F_, T in ((tF, torch.tensor), (hF, hg.tensor)):
        with pytest.raises(RuntimeError):
            F_.conv_transpose2d(T(np.ones((0, 3, 1, 1))), T(np.ones((3, 2, 1, 1))), padding=2)


def test_conv_zero_in_channels():
    x, w, b = np.zeros((4, 0, 6)), np.zeros((1, 0, 1)), np.array([1.5])
    t = tF.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    h = hF.conv1d(hg.tensor(x), hg.tensor(w), hg.tensor(b))
    assert tuple(t.shape) == (4, 0, 6)
    assert h.shape == (4, 1, 6) and (h.numpy() == 1.5).all()  # the empty sum plus the bias


def test_conv_weight_grad_skips_padding():
    """torch's float32 oneDNN weight gradient skips the padding; its float64 kernel (and its
    float32 one for a single channel) multiplies it by the infinite gradient: NaN on the taps
    that read padding. handgrad skips it in every dtype."""
    r = np.random.default_rng(0)
    x, w = r.standard_normal((2, 3, 5, 5)), r.standard_normal((4, 3, 3, 3))
    g = np.ones((2, 4, 5, 5))
    g[0, 0, 0, 0] = INF  # the first output's window reads the top-left padding

    def weight_grad(lib, fn, dtype):
        wt = lib.tensor(w.astype(dtype), requires_grad=True)
        fn(lib.tensor(x.astype(dtype)), wt, padding=1).backward(lib.tensor(g.astype(dtype)))
        return wt.grad.numpy()

    t32 = weight_grad(torch, tF.conv2d, np.float32)
    t64 = weight_grad(torch, tF.conv2d, np.float64)
    h64 = weight_grad(hg, hF.conv2d, np.float64)
    assert np.isfinite(t32[0, 0, 0, 0]) and np.isnan(t64[0, 0, 0, 0])
    np.testing.assert_allclose(h64, t32, rtol=1e-5)


def test_nan_input_gradient():
    # torch's hardtanh gradient at NaN: 0 on its vectorised path, g on its scalar path
    many = _grad(torch, tF.hardtanh, [NAN] + [0.5] * 15)[0]
    one = _grad(torch, tF.hardtanh, NAN)
    assert many == 0 and one == 1
    assert _grad(hg, hF.hardtanh, [NAN] + [0.5] * 15)[0] == 0 and _grad(hg, hF.hardtanh, NAN) == 0


def test_torch_zero_second_derivative_meets_nonfinite():
    # fuzz seed 493493940: diagonal, linear with an inf weight, relu, relu. torch's relu double
    # backward sends zeros_like back through linear, 0 * inf = NaN; with relu written as a
    # selection (where, no edge back to its input: its exact derivative) torch gives the exact
    # value. handgrad's relu now ties its gradient to its result as torch's threshold_backward
    # (ops/zero_derivative.py), so its zero derivative meets the inf weight as torch's: the same
    # NaN. The predicate still accepts the exact value (``ref``) for a step without the edge
    x = np.array([[0.20913823209939483], [1.3002169389332303]])
    w, b = np.array([[-5e-324], [-5e-324], [INF]]), np.array([NAN, NAN, INF])
    g = np.array([-2.141030145292518, -0.9466355741180815, -0.9224841923007182])
    vs = [np.array([[-1.15485342], [0.88758946]]), np.array([[-0.0738], [1.3216], [-0.1035]])]
    vs.append(np.array([1.49144211, 0.07448342, 0.27831603]))

    def second(L, relu):
        grad = torch.autograd.grad if L is torch else hg.grad
        ts = [L.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = relu(relu(L.nn.functional.linear(ts[0].diagonal(), ts[1], ts[2])))
        gs = grad(out, ts, L.tensor(g), create_graph=True)
        s = sum((a * L.tensor(v)).sum() for a, v in zip(gs, vs))
        return grad(s, ts[0])[0].detach().numpy()

    t = second(torch, torch.relu)
    h = second(hg, hg.relu)
    ref = second(torch, lambda a: torch.where(a.detach() <= 0, 0.0, a))  # relu(NaN) = NaN
    assert np.isnan(t[0, 0]) and ref[0, 0] == pytest.approx(-0.99757568, rel=1e-4)
    np.testing.assert_array_equal(h, t)  # NaN where torch's is
    bad = np.array([[True], [False]])
    args = ("<program>", {"frozen": ref}, x, "grad2")
    assert accepted.torch_zero_second_derivative_meets_nonfinite(*args, ref, t, bad)
    assert not accepted.torch_zero_second_derivative_meets_nonfinite(*args, ref + 1e-3, t, bad)
    assert not accepted.torch_zero_second_derivative_meets_nonfinite(
        *args[:1], {}, x, "grad2", h, t, bad
    )


def test_torch_zero_second_derivative_meets_an_overflow():
    # fuzz seed 754061838: x^2.5 then leaky_relu, then max. x^2.5 overflows at 4.5e307 (and at
    # inf), so its first derivative 2.5 x^1.5 is inf; leaky_relu's zero second derivative, a
    # tensor in torch, meets it (NaN). The second derivative 3.75 x^0.5 g u is finite at 4.5e307
    # and inf at inf: torch gives both with leaky_relu as a selection. handgrad's leaky_relu now
    # ties its gradient to x as torch's leaky_relu_backward (ops/zero_derivative.py): torch's
    # NaN. The predicate still accepts the exact values (``ref``) for a step without the edge
    x = np.array([4.4942328371557893e307, INF, 2.0])
    g, u = 0.5, np.array([-0.634, -0.645, 0.3])

    def second(L, act):
        grad = torch.autograd.grad if L is torch else hg.grad
        xt = L.tensor(x, requires_grad=True)
        (gx,) = grad(act(xt**2.5), [xt], L.tensor(np.full(3, g)), create_graph=True)
        return grad((gx * L.tensor(u)).sum(), [xt])[0].detach().numpy()

    t = second(torch, lambda a: torch.nn.functional.leaky_relu(a, 0.01))
    h = second(hg, lambda a: hg.nn.functional.leaky_relu(a, 0.01))
    ref = second(torch, lambda a: torch.where(a.detach() < 0, 0.01 * a, a))
    exact = 3.75 * np.sqrt(x[0]) * g * u[0]
    assert np.isnan(t[:2]).all() and t[2] == pytest.approx(ref[2])
    assert ref[0] == pytest.approx(exact, rel=1e-12) and ref[1] == -INF
    np.testing.assert_allclose(h, t, rtol=1e-12)  # NaN where torch's is
    bad = np.array([True, True, False])
    args = ("<program>", {"frozen": ref}, x, "grad2")
    assert accepted.torch_zero_second_derivative_meets_nonfinite(*args, ref, t, bad)
    # an inf alone, or one that the frozen run does not give, is not enough
    only_inf = np.array([False, True, False])
    assert not accepted.torch_zero_second_derivative_meets_nonfinite(*args, ref, t, only_inf)
    other = np.where(np.isinf(ref), INF, ref)
    assert not accepted.torch_zero_second_derivative_meets_nonfinite(*args, other, t, bad)


def test_torch_zero_second_derivative_meets_nonfinite_through_norm_p1():
    # fuzz seed 1337346712: mse_loss to a target of -inf (sum: inf), then norm(p=1), sum |x|,
    # piecewise linear. torch's double backward forms the zero derivative of its sgn(x) g and
    # sends it back into mse_loss's 2 (x - w) = inf: 0 * inf = NaN. The exact value, 2 g u
    # (norm's sgn(inf) g = g), is handgrad's, and torch's with norm written as |x|.sum()
    x, w = np.array([5e-324, 1.286018]), np.array([-1.1717, -INF])
    g, u = np.array(0.7), np.array([0.3, 1.1])

    def second(L, norm1):
        grad = torch.autograd.grad if L is torch else hg.grad
        xt = L.tensor(x, requires_grad=True)
        out = norm1(L.nn.functional.mse_loss(xt, L.tensor(w), reduction="sum"))
        (gx,) = grad(out, [xt], L.tensor(g), create_graph=True)
        return grad((gx * L.tensor(u)).sum(), [xt])[0].detach().numpy()

    t = second(torch, lambda a: torch.norm(a, p=1.0, dim=0, keepdim=True).reshape(()))
    h = second(hg, lambda a: hg.norm(a, p=1.0, dim=0, keepdim=True).reshape(()))
    ref = second(torch, lambda a: torch.where(a.detach() < 0, -a, a))
    assert np.isnan(t[1]) and t[0] == pytest.approx(h[0])
    np.testing.assert_allclose(h, 2 * g * u, rtol=1e-12)
    np.testing.assert_allclose(h, ref, rtol=1e-12)
    args = ("<program>", {"frozen": ref}, x, "grad2")
    assert accepted.torch_zero_second_derivative_meets_nonfinite(*args, h, t, np.isnan(t))


def test_torch_one_element_reduction_cancels():
    # fuzz seed 1002543439 (after its amax): norm over one element, tanh, mul by -2.6e18, in
    # float32. The exact second derivative by x is g w v tanh''(x) + g v_w tanh'(x) = 0.1538;
    # torch's norm double backward cancels terms of size g w v / x = 1e38 and gives 0
    x, w = np.array([8.953472e-20], np.float32), np.array([-2.617185944414978e18], np.float32)
    g, vx, vw = np.float32(1.670166254043579), np.float32(1.7934743), np.float32(-0.74845014)

    def second(L, norm):
        grad = torch.autograd.grad if L is torch else hg.grad
        xt, wt = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
        out = L.tanh(norm(xt)) * wt
        gx, gw = grad(out, [xt, wt], L.tensor(np.array([g])), create_graph=True)
        s = (gx * float(vx)).sum() + (gw * float(vw)).sum()
        return grad(s, xt)[0].detach().numpy()

    t = second(torch, lambda a: a.norm(p=2, dim=0, keepdim=True))
    h = second(hg, lambda a: a.norm(p=2, dim=0, keepdim=True))
    ref = second(torch, lambda a: a.abs())  # the same function over one element
    x64, th = float(x[0]), np.tanh(float(x[0]))
    exact = float(g) * float(w[0]) * float(vx) * (-2 * th * (1 - th * th))
    exact += float(g) * float(vw) * (1 - th * th)
    assert t[0] == 0 and x64 > 0
    assert h[0] == pytest.approx(exact, rel=1e-5) and ref[0] == pytest.approx(exact, rel=1e-5)
    args = ("<program>", {"one_element": ref}, x, "grad2")
    bad = np.array([True])
    assert accepted.torch_one_element_reduction_cancels(*args, h, t, bad)
    assert not accepted.torch_one_element_reduction_cancels(*args, h * 1.1, t, bad)
    # the norm alone (fuzz seed 168009476): p = 3 over a dim of one element is |x|, whose second
    # derivative is exactly 0; torch's is rounding noise (256 at x = 3e-5) and NaN where x^3 is
    # subnormal (8.8e-15 in float32)
    x = np.array([[2.9502002e-05, 8.7830456e-15]], np.float32)
    g = np.array([[-1.6417873, -0.33778563]], np.float32)
    u = np.array([[2.574027e04, -4.4331595e13]], np.float32)

    def alone(L, norm):
        grad = torch.autograd.grad if L is torch else hg.grad
        xt = L.tensor(x, requires_grad=True)
        (gx,) = grad(norm(xt), [xt], L.tensor(g), create_graph=True)
        if not gx.requires_grad:  # handgrad: |x|'s gradient g sign(x) is constant in x
            return np.zeros(x.shape, np.float32)
        d = grad((gx * L.tensor(u)).sum(), [xt])[0].detach()
        return d.numpy(force=True) if L is torch else d.numpy()  # torch's abs: a ZeroTensor

    t = alone(torch, lambda a: a.norm(p=3, dim=0, keepdim=True))
    h = alone(hg, lambda a: a.norm(p=3, dim=0, keepdim=True))
    ref = alone(torch, lambda a: a.abs())
    assert t[0, 0] != 0 and np.isnan(t[0, 1]) and (h == 0).all() and (ref == 0).all()
    args = ("<program>", {"one_element": ref}, x, "grad2")
    assert accepted.torch_one_element_reduction_cancels(*args, h, t, np.ones(x.shape, bool))


def test_torch_one_element_logsumexp_cancels():
    # fuzz seed 1299885683: reciprocal, then logsumexp over a dim of one element (the identity),
    # in float32. The exact second derivative is 2 g u / x^3: -2.94e32 at x = -1.9e-11, beyond
    # the largest float at x = -3.7e-15. torch's double backward of g exp(x - out) gives -0 for
    # both; handgrad the exact value and the overflow, as torch with the identity in its place
    x = np.array([[-1.894773e-11], [-3.709116e-15], [0.5]], np.float32)

    def second(L, lse):
        grad = torch.autograd.grad if L is torch else hg.grad
        xt = L.tensor(x, requires_grad=True)
        (gx,) = grad(lse(L.reciprocal(xt)).sum(), [xt], create_graph=True)
        return grad(gx.sum(), [xt])[0].detach().numpy().ravel()

    t = second(torch, lambda a: torch.logsumexp(a, dim=1))
    h = second(hg, lambda a: hg.logsumexp(a, dim=1))
    ref = second(torch, lambda a: (a * 1).reshape(-1))  # the same function over one element
    exact = 2 / x.astype(np.float64).ravel() ** 3
    assert t[0] == 0 and t[1] == 0 and t[2] == 16
    assert h[0] == pytest.approx(exact[0], rel=1e-6) and h[1] == -INF and h[2] == 16
    assert (ref == h).all()
    args = ("<program>", {"one_element": ref}, x.ravel(), "grad2")
    bad = np.array([True, True, False])
    assert accepted.torch_one_element_reduction_cancels(*args, h, t, bad)
    assert not accepted.torch_one_element_reduction_cancels(*args, h * 1.1, t, bad)


def test_torch_multiplies_by_mask():
    t = _grad(torch, torch.nan_to_num, [INF, 1.0], [INF, 1.0])
    h = _grad(hg, hg.nan_to_num, [INF, 1.0], [INF, 1.0])
    assert np.isnan(t[0]) and h[0] == 0 and t[1] == h[1] == 1
    # summed over a broadcast exponent (fuzz seed 1110273552): the inf g at base 0 meets the
    # derivative 0^b log 0 := 0; torch multiplies (NaN), handgrad selects and sums the rest
    base, g = np.array([0.0, 0.9694, 1.2462]), np.array([INF, 0.3, 0.2])
    got = []
    for lib in (torch, hg):
        w = lib.tensor(np.array([0.5244]), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        got.append(grad(lib.pow(lib.tensor(base), w), [w], lib.tensor(g))[0].numpy())
    rest = (g[1:] * base[1:] ** 0.5244 * np.log(base[1:])).sum()
    assert np.isnan(got[0]).all() and np.allclose(got[1], rest, rtol=1e-15)
    # the direction of a second derivative (fuzz seed 376538762): norm(p=inf)'s gradient g mask
    # contracted with u = [NaN, 0.3, 0.2]; its derivative w.r.t. g is u at the maximum, 0.2
    x, u = np.array([[0.0], [2.0], [5.0]]), np.array([[NAN], [0.3], [0.2]])
    got = []
    for lib in (torch, hg):
        a = lib.tensor(x, requires_grad=True)
        gg = lib.tensor(np.array([1.5]), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(lib.norm(a, p=INF, dim=0), [a], gg, create_graph=True)
        got.append(grad((d * lib.tensor(u)).sum(), [gg])[0].detach().numpy())
    assert np.isnan(got[0]).all() and got[1][0] == 0.2
    args = ("norm", {"dim": 0, "keepdim": False, "p": INF, "u": u}, x, "grad2")
    assert accepted.torch_multiplies_by_mask(*args, got[1], got[0], np.ones(1, bool), np.ones(1))
    # along a middle dim (fuzz seed 493556798): u is inf off the maximum of each row
    x = np.array([[[6.7e153], [0.0]], [[1.59], [0.0]]])
    u = np.array([[[2.4e-155], [INF]], [[0.079], [-INF]]])
    got = []
    for lib in (torch, hg):
        a = lib.tensor(x, requires_grad=True)
        gg = lib.tensor(np.array([[1e-154], [0.1]]), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(lib.norm(a, p=INF, dim=1), [a], gg, create_graph=True)
        got.append(grad((d * lib.tensor(u)).sum(), [gg])[0].detach().numpy())
    assert np.isnan(got[0]).all() and (got[1] == u[:, 0]).all()
    args = ("norm", {"dim": 1, "keepdim": False, "p": INF, "u": u}, x, "grad2")
    bad = np.ones((2, 1), bool)
    assert accepted.torch_multiplies_by_mask(*args, got[1], got[0], bad, np.ones((2, 1)))


def test_limit_at_infinity():
    t = _grad(torch, lambda x: tF.soft_margin_loss(x, torch.ones(1, dtype=x.dtype)), [-INF])
    h = _grad(hg, lambda x: hF.soft_margin_loss(x, hg.ones(1, dtype=x.dtype)), [-INF])
    assert np.isnan(t).all() and np.isfinite(h).all()


def test_limit_at_infinity_of_a_reduced_loss():
    # fuzz seed 304171695: soft_margin_loss(reduction="sum") with x = inf at y = -1.25; the
    # derivative of sum(u grad_x) by g is sum u (-y sigmoid(-y x)), whose term there is 0 * 1.25
    # (u = 0); torch's -y e^(-y x) / (1 + e^(-y x)) is inf / inf = NaN, which the sum carries
    x = np.array([[2.6719, INF], [1.3933, 2.8266]])
    y = np.array([[-2.2493, -1.2506], [-0.0486, 0.7897]])
    u = np.array([[-0.30703899, 0.0], [-0.01688448, -0.73059909]])
    res = {}
    for lib in (torch, hg):
        xt, g = lib.tensor(x, requires_grad=True), lib.tensor(np.array(0.5), requires_grad=True)
        out = lib.nn.functional.soft_margin_loss(xt, lib.tensor(y), reduction="sum")
        grad = torch.autograd.grad if lib is torch else hg.grad
        (gx,) = grad(out, [xt], g, create_graph=True)
        res[lib.__name__] = grad((gx * lib.tensor(u)).sum(), [g])[0].detach().numpy()
    h, t = res["handgrad"], res["torch"]
    z = np.array([-y[0, 0] * x[0, 0], -y[1, 0] * x[1, 0], -y[1, 1] * x[1, 1]])
    exact = sum(
        np.array([u[0, 0], u[1, 0], u[1, 1]])
        * -np.array([y[0, 0], y[1, 0], y[1, 1]])
        / (1 + np.exp(-z))
    )
    assert np.isnan(t) and h == pytest.approx(exact, rel=1e-12)
    args = ("F.soft_margin_loss", {"w": y, "reduction": "sum"}, x, "grad2", h, t, np.array(True))
    assert accepted.limit_at_infinity(*args)
    args = ("F.soft_margin_loss", {"w": y, "reduction": "none"}, x, "grad2", h, t, np.array(True))
    assert not accepted.limit_at_infinity(*args)


def test_torch_overflows():
    t = _grad(torch, lambda x: x.norm(p=3, dim=1).sum(), [[3e20]], dtype=np.float32)
    h = _grad(hg, lambda x: x.norm(p=3, dim=1).sum(), [[3e20]], dtype=np.float32)
    assert np.isnan(t).all() and h[0, 0] == 1.0
    # hardswish(x) = x from 3 up: torch's x * 6 / 6 overflows above max / 6 (float32 1e38)
    x = np.array([1e38, -1e38, 3e38], np.float32)
    t = tF.hardswish(torch.tensor(x)).numpy()
    h = hF.hardswish(hg.tensor(x)).numpy()
    assert t.tolist() == [INF, 0.0, INF] and h.tolist() == [x[0], 0.0, x[2]]
    assert accepted.torch_overflows("F.hardswish", {}, x, "forward", h, t, t != h)


def _second(lib, fn, arrays, g=None, v=None, wrt=0, dtype=np.float64):
    """The gradient w.r.t. input ``wrt`` of sum(v_i * dL/dx_i) for L = sum(fn(*xs) * g)."""
    xs = [lib.tensor(np.asarray(a, dtype), requires_grad=True) for a in arrays]
    out = fn(*xs)
    gg = np.ones(tuple(out.shape), dtype) if g is None else np.asarray(g, dtype)
    grad = torch.autograd.grad if lib is torch else hg.grad
    gs = grad(out, xs, lib.tensor(gg), create_graph=True)
    vs = [1.0] * len(xs) if v is None else v
    s = sum((d * w).sum() for d, w in zip(gs, vs))
    return grad(s, [xs[wrt]])[0].detach().numpy()


def test_norm_second_derivative_at_zero():
    # a zero vector, and float32 subnormals whose squares underflow: torch NaN, handgrad 0
    for x, dtype in (([0.0, 0.0], np.float64), ([0.0, -1e-45], np.float32)):
        t = _second(torch, lambda a: a.norm(), [x], dtype=dtype)
        h = _second(hg, lambda a: a.norm(), [x], dtype=dtype)
        assert np.isnan(t).all() and (h == 0).all()


def test_std_second_derivative_at_zero():
    # fuzz seed 22374447: a dim of one element with correction 0 (std 0): the input gradient is
    # 0 in both; its derivative w.r.t. the upstream gradient is torch NaN, handgrad 0
    res = []
    for L in (torch, hg):
        x = L.tensor(np.array([[-1.0324], [0.5]]), requires_grad=True)
        g = L.tensor(np.array([0.7, -0.2]), requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        (gx,) = grad(L.std(x, -1, correction=0), [x], g, create_graph=True)
        (gg,) = grad((gx * 0.3).sum(), [g])
        res.append(gg.detach().numpy())
    t, h = res
    assert np.isnan(t).all() and (h == 0).all()
    x = np.array([[-1.0324], [0.5]])
    assert accepted.std_second_derivative_at_zero(
        "std", {"dim": -1, "keepdim": False, "correction": 0}, x, "grad2", h, t, np.isnan(t)
    )


def test_std_two_element_noise():
    # fuzz seed 761278818: std of two elements is |x1 - x0| / sqrt(2), linear: the second
    # derivative is 0, and both libraries return cancellation noise of size eps g u / std
    x, g, u = [-5.96573591180904e-158, -3.5089880589115744e-122], 1.0340871655892214e63, None
    u = np.array([-2.8984868888728834, 1.485946763664562])
    t = _second(torch, lambda a: a.std(-1), [x], g=g, v=[torch.tensor(u)])
    h = _second(hg, lambda a: a.std(-1), [x], g=g, v=[hg.tensor(u)])
    noise = 32 * np.finfo(np.float64).eps * g * 2.9 / np.std(x, ddof=1)
    assert (t != 0).all() and (h != t).all() and (np.abs(h) <= noise).all()
    params = {"dim": -1, "keepdim": False, "correction": 1, "u": u}
    args = ("std", params, np.array(x), "grad2", h, t, np.ones(2, bool), np.array(g))
    assert accepted.std_two_element_noise(*args)


def test_torch_std_rounds_to_zero():
    # fuzz seed 757840382: two values an ulp apart, reduced over an outer dim beside other
    # columns: torch's std is 0 there (contiguous, 7.9e-17 as handgrad's), so it masks the NaN g
    a = 0.6931471805599453
    x = np.full((2, 1, 8), 1.5)
    x[:, 0, 0] = [a, np.nextafter(a, 1.0)]
    x[1, 0, 1:] = np.arange(7.0)
    g = np.full((1, 8), np.nan)
    res = {}
    for lib in (torch, hg):
        xt = lib.tensor(x, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        out = lib.std(xt, 0, correction=0)
        (gx,) = grad(out, [xt], lib.tensor(g))
        res[lib.__name__] = (out.detach().numpy()[0, 0], gx.numpy())
    (ts, t), (hs, h) = res["torch"], res["handgrad"]
    assert ts == 0 and hs == torch.tensor(x[:, 0, 0].copy()).std(correction=0).item() > 0
    assert (t[:, 0, 0] == 0).all() and np.isnan(h[:, 0, 0]).all()
    bad = np.zeros(x.shape, bool)
    bad[:, 0, 0] = True
    params = {"dim": 0, "keepdim": False, "correction": 0}
    assert accepted.torch_std_rounds_to_zero("std", params, x, "grad", h, t, bad)


def test_torch_norm_one_element_noise():
    # fuzz seed 1988569769: group_norm over groups of one element; the input gradient is 0 for
    # every x and g, so sum(gx u + gw vw + gb vb)'s derivative by g is vb: handgrad's exactly,
    # torch's cancelling terms of size |u| / sqrt(eps) leave noise
    x = np.array([[[-12.019209], [3.5], [-88.59307]], [[0.5], [2.0], [-1.0]]])
    w, b = np.array([-1.580507, 0.810524, 0.387538]), np.array([1.882181, -1.164557, -0.413229])
    gg = np.array([[[0.3], [-0.7], [0.19522]], [[0.1], [0.2], [0.3]]])
    u = np.array([[[1.0], [1.458237e17], [-1.557221e50]], [[1.0], [2.0], [3.0]]])
    vw, vb = np.array([0.907392, 0.907092, -1.648204]), np.array([-1.95861, 0.910212, 1.415785])
    res = {}
    for lib in (torch, hg):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        g = lib.tensor(gg, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        out = lib.nn.functional.group_norm(xt, 3, wt, bt)
        gx, gw, gb = grad(out, [xt, wt, bt], g, create_graph=True)
        s = (gx * lib.tensor(u)).sum() + (gw * lib.tensor(vw)).sum() + (gb * lib.tensor(vb)).sum()
        (dg,) = grad(s, [g])
        res[lib.__name__] = dg.detach().numpy()
    t, h = res["torch"], res["handgrad"]
    np.testing.assert_array_equal(h, np.broadcast_to(vb.reshape(1, 3, 1), x.shape))
    bad = h != t
    assert bad[0, 2, 0] and abs(t[0, 2, 0] - h[0, 2, 0]) > 1e3
    params = {"g": 3, "w": w, "wb": b, "u": u}
    assert accepted.torch_norm_one_element_noise("F.group_norm", params, x, "grad2", h, t, bad, gg)
    assert not accepted.torch_norm_one_element_noise(
        "F.group_norm", {**params, "u": u * 1e-45}, x, "grad2", h, t, bad, gg
    )


def test_torch_norm_one_element_noise_first_order():
    # fuzz seed 84635871: float32 group_norm over groups of one element; x^ = 0, so the input and
    # weight gradients are exactly 0 (handgrad's); torch's kernels leave noise
    x = np.array([[-0.61163574], [1.0763307], [-0.8697511], [0.0039673]], np.float32)
    gg = np.array([[0.8386537], [0.47859895], [1.1390414], [0.33803016]], np.float32)
    w, b = np.array([1.141], np.float32), np.array([-0.4471], np.float32)
    res = {}
    for lib in (torch, hg):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.group_norm(xt, 1, wt, lib.tensor(b))
        out.backward(lib.tensor(gg))
        res[lib.__name__] = (xt.grad.numpy(), wt.grad.numpy())
    (tx, tw), (hx, hw) = res["torch"], res["handgrad"]
    assert (hx == 0).all() and (hw == 0).all()
    assert (tx != 0).any() or (tw != 0).any()  # torch's noise
    p = {"g": 1, "w": w, "wb": b}
    for h, t in ((hx, tx), (hw, tw)):
        bad = h != t
        if bad.any():
            assert accepted.torch_norm_one_element_noise(
                "F.group_norm", p, x, "grad_plain", h, t, bad, gg
            )
    # a value of another size is no noise
    big = np.full(x.shape, 0.1, np.float32)
    assert not accepted.torch_norm_one_element_noise(
        "F.group_norm", p, x, "grad", hx, big, big != 0, gg
    )


def test_fmod_quotient_overflows():
    a, b = np.full(8, 0.3287), np.full(8, 5e-324)  # one vector of 8 (a 9th takes the scalar path)
    t = torch.fmod(torch.tensor(a), torch.tensor(b)).numpy()  # the vectorised kernel
    t1 = torch.fmod(torch.tensor(a[0]), torch.tensor(b[0])).item()  # its scalar path
    h = hg.fmod(hg.tensor(a), hg.tensor(b)).numpy()
    assert np.isnan(t).all() and t1 == 0 and (h == 0).all() and (np.fmod(a, b) == 0).all()
    assert accepted.fmod_quotient_overflows("fmod", {"w": b}, a, "forward", h, t, np.isnan(t))


def test_cosine_one_element_noise():
    # fuzz seed 376623273: along a dim of one element cosine_similarity is sign(x) sign(w) (x / eps
    # times sign(w) below eps), whose second derivatives are exactly 0; the noise differs
    x = np.array([[[[-0.11999]], [[-1.4013e-45]]]], np.float32).reshape(1, 1, 2, 1)
    w = np.array([[[[-1.1752]]]], np.float32)
    g = np.array([[[0.7, -1.3]]], np.float32)
    res = {}
    for lib in (torch, hg):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.cosine_similarity(a, b, dim=-1)
        grad = torch.autograd.grad if lib is torch else hg.grad
        da, db = grad(out, [a, b], lib.tensor(g), create_graph=True)
        s = (da * 0.6).sum() + (db * -0.4).sum()
        res[lib.__name__] = grad(s, [b])[0].detach().numpy()
    h, t = res["handgrad"], res["torch"]
    assert h != t and abs(h) < 1e-6 and abs(t) < 1e-6
    args = ("F.cosine_similarity", {"w": w, "dim": -1}, x, "grad2")
    assert accepted.cosine_one_element_noise(*args, h, t, np.ones(w.shape, bool), g)
    # a value beyond the noise (here 32 eps |g| / (1e-8 |w|) = 420) is not accepted
    assert not accepted.cosine_one_element_noise(*args, h + 1e3, t, np.ones(w.shape, bool), g)
    # fuzz seed 101208941: a huge direction u at x scales the cancelling terms
    x, w = np.array([[0.38054]], np.float32), np.array([-0.4295], np.float32)
    g, u, v = np.array([1.05833], np.float32), np.float32(-7.9176e36), np.float32(1.52246)
    for lib in (torch, hg):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.cosine_similarity(a, b, dim=-1)
        grad = torch.autograd.grad if lib is torch else hg.grad
        da, db = grad(out, [a, b], lib.tensor(g), create_graph=True)
        res[lib.__name__] = grad((da * float(u)).sum() + (db * float(v)).sum(), [a])[0]
    h, t = res["handgrad"].detach().numpy(), res["torch"].detach().numpy()
    bad = h != t
    assert bad.any() and np.abs(h).max() < 1e32 and np.abs(t).max() < 1e32
    seen = {"w": w, "dim": -1, "u": np.full(x.shape, u), "vs": [np.full(w.shape, v)]}
    assert accepted.cosine_one_element_noise("F.cosine_similarity", seen, x, "grad2", h, t, bad, g)
    # the same values with no direction given are beyond the noise of a unit direction
    seen1 = {"w": w, "dim": -1}
    assert not accepted.cosine_one_element_noise(
        "F.cosine_similarity", seen1, x, "grad2", h, t, bad, g
    )


def test_cosine_constant_operand_noise():
    # fuzz seed 1709521005: tanh's saturated rows against a 0-d w = 1, broadcast along dim: cos
    # is sign(w) sum(x) / (|x| sqrt(n)) whatever |w|, so every derivative by w is exactly 0
    # (mpmath needs no say); under g = 9.1e15 (log1p at cos = -1 + 2e-16) both libraries leave
    # noise of a few eps |g|, handgrad the nearer to 0
    r = -0.9640275800758169
    x, w = np.array([[r, r], [r, -r]]), np.array(1.0)
    g, v = np.array([9.059650657650726e15, -0.0]), np.array(-1.2549428928464263)
    u = np.array([[-0.30418988, 0.29605332], [-0.11520967, 0.20353925]])
    res = {}
    for lib in (torch, hg):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.cosine_similarity(a, b, dim=-1)
        grad = torch.autograd.grad if lib is torch else hg.grad
        da, db = grad(out, [a, b], lib.tensor(g), create_graph=True)
        assert float(db) == 0.0  # the first derivative by w
        s = (da * lib.tensor(u)).sum() + (db * lib.tensor(v)).sum()
        res[lib.__name__] = grad(s, [b])[0].detach().numpy()
    h, t = res["handgrad"], res["torch"]
    assert h != t and abs(h) < abs(t) <= 16  # -6 and -8
    seen = {"w": w, "dim": -1, "u": u, "vs": [v], "leaf": 1}
    args = ("F.cosine_similarity", seen, x, "grad2")
    assert accepted.cosine_one_element_noise(*args, h, t, np.array(True), g)
    # beyond 32 eps |g| (1 / |x| + 1 / |w|)^2 (1 + |u| + |v|), summed over the row: about 640
    assert not accepted.cosine_one_element_noise(*args, h + 1e3, t, np.array(True), g)
    # x's derivatives are not 0 there, nor w's where w varies along dim
    assert not accepted.cosine_one_element_noise(
        *args[:1], {**seen, "leaf": 0}, *args[2:], h, t, np.array(True), g
    )
    w2 = {**seen, "w": np.array([1.0, 1.0])}
    assert not accepted.cosine_one_element_noise(
        *args[:1], w2, *args[2:], h, t, np.ones(2, bool), g
    )


def test_cosine_one_element_noise_inside_a_program():
    # fuzz seed 2055508332: inside a program the value compared at x is the cotangent there,
    # which adds the second pass's cotangent c at the output times the first derivative, 0 along
    # one element but formed from terms of size |c| / |x|; logit's 1 / x before it amplified
    # handgrad's -3e138 (from g = -9.8e141, u = 3.7e162 at a clamped w = 6.6e-154) against
    # torch's 0 to -8e300, and torch's -1.1e-19 against handgrad's 0 to -1.2e88
    x, w = np.array([[-374.0]]), np.array([[1.5]])
    g, c = np.array([1e-30]), np.array([2.0])
    h, t = np.array([[3e-17]]), np.array([[0.0]])
    seen = {"w": w, "dim": -1, "u": np.ones((1, 1)), "vs": [np.ones((1, 1))], "leaf": 0}
    args = ("F.cosine_similarity", {**seen, "c": c}, x, "grad2", h, t, np.array([[True]]), g)
    assert accepted.cosine_one_element_noise(*args)  # within 32 eps |c| / |x| = 3.8e-17
    args = ("F.cosine_similarity", seen, x, "grad2", h, t, np.array([[True]]), g)
    assert not accepted.cosine_one_element_noise(*args)


def test_pow_second_derivative_at_zero_base():
    # d^2 (0^b) / db^2 = 0 for b = 2: torch NaN (0 * log 0 inside), handgrad 0
    t = _second(torch, torch.pow, [[0.0], [2.0]], v=[0.0, 1.0], wrt=1)
    h = _second(hg, hg.pow, [[0.0], [2.0]], v=[0.0, 1.0], wrt=1)
    assert np.isnan(t).all() and (h == 0).all()


def test_zero_gradient_ops_are_constants():
    t = _grad(torch, lambda x: x.sqrt().floor().sum(), [0.0, 4.0])
    assert np.isnan(t[0]) and t[1] == 0  # 0 (floor) times inf (sqrt at 0)
    x = hg.tensor([0.0, 4.0], requires_grad=True)
    assert not x.sqrt().floor().requires_grad  # a constant: no gradient at all


def test_interpolate_scale_factor_backward():
    # nearest at scale_factor 1.07 on 3 pixels: 3 outputs reading pixels 0, 0, 1 (both)
    x = np.array([[[1.0, 2.0, 4.0]]])
    g = np.array([[[1.0, 10.0, 100.0]]])
    out = []
    for lib, F in ((torch, tF), (hg, hF)):
        t = lib.tensor(x, requires_grad=True)
        y = F.interpolate(t, scale_factor=1.07, mode="nearest")
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(y, [t], lib.tensor(g))
        out.append((y.detach().numpy(), d.detach().numpy()))
    (yt, dt), (yh, dh) = out
    np.testing.assert_array_equal(yt, [[[1.0, 1.0, 2.0]]])
    np.testing.assert_array_equal(yh, yt)
    np.testing.assert_array_equal(dt, g)  # torch: a copy, although pixel 2 is never read
    np.testing.assert_array_equal(dh, [[[11.0, 100.0, 0.0]]])  # the forward's gradient
    assert (yh * g).sum() == (x * dh).sum() != (x * dt).sum()  # the adjoint test


def test_mish_exp_overflow():
    # the second derivative of mish at x = 100 (float32: exp(100) overflows), and at 1e5 in
    # float64: torch's log1p(exp(x)) gives 0 * inf = NaN, handgrad the finite value 0
    for x, dtype in ((100.0, np.float32), (1e5, np.float64)):
        out = []
        for lib, mish in ((torch, tF.mish), (hg, hF.mish)):
            t = lib.tensor(np.array([x, 3.0], dtype), requires_grad=True)
            grad = torch.autograd.grad if lib is torch else hg.grad
            (g,) = grad(mish(t).sum(), [t], create_graph=True)
            (g2,) = grad(g.sum(), [t])
            out.append(g2.detach().numpy())
        t2, h2 = out
        assert np.isnan(t2[0]) and h2[0] == 0
        np.testing.assert_allclose(h2[1], t2[1], rtol=1e-4)  # below the overflow: the same
        assert accepted.mish_exp_overflow(
            "F.mish", {}, np.array([x, 3.0], dtype), "grad2", h2, t2, np.array([True, False])
        )


def test_unstable_sort_ties():
    # fuzz seed 1920945186: 54 elements with ties; torch's default sort does not keep their order
    a = np.array([1.0, 2.0] * 20)
    t = torch.sort(torch.tensor(a)).indices.numpy()
    h = hg.sort(hg.tensor(a)).indices.numpy()
    stable = torch.sort(torch.tensor(a), stable=True).indices.numpy()
    np.testing.assert_array_equal(h, stable)
    np.testing.assert_array_equal(a[t], a[h])  # the same values; only which tie went where
    x, bad = a, np.ones(a.shape, bool)
    assert accepted.unstable_sort_ties("sort", {"dim": -1}, x, "grad", x, x, bad)
    assert not accepted.unstable_sort_ties("sort", {"dim": -1}, x[:16], "grad", x, x, bad[:16])
    # the second derivative by the upstream gradient g (fuzz seed 5586674) is the direction u
    # at the sorted positions: ties sit together there (34-39 here), wherever they came from
    a = np.linspace(2.0, 1.0, 40)
    a[[3, 13, 27]], a[[5, 31]], a[17] = 5e-324, 0.0, -0.0
    u = np.random.default_rng(0).standard_normal(40)
    res = {}
    for lib in (torch, hg):
        xt, g = lib.tensor(a, requires_grad=True), lib.tensor(np.ones(40), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (gx,) = grad(lib.sort(xt, descending=True).values, [xt], g, create_graph=True)
        (res[lib],) = (d.detach().numpy() for d in grad((gx * lib.tensor(u)).sum(), [g]))
    bad, seen = res[torch] != res[hg], {"dim": -1, "descending": True, "leaf": 1}
    assert not bad[:34].any()  # elsewhere the same
    assert accepted.unstable_sort_ties("sort", seen, a, "grad2", res[hg], res[torch], bad)
    ties = np.arange(40) >= 34
    assert accepted.unstable_sort_ties("sort", seen, a, "grad2", res[hg], res[torch], ties)
    assert not accepted.unstable_sort_ties("sort", seen, a, "grad2", res[hg], res[torch], ~ties)


def test_limit_at_infinity_of_an_operand():
    # pairwise_distance to -inf along a dim of one element (fuzz seed 64565178): torch's
    # self * (g / norm) is inf * 0; handgrad's |x - w| has the limit gradient sign = 1
    x, w = np.array([[-0.90833765]], np.float32), np.array([[-INF]], np.float32)
    t = _grad(torch, lambda a: tF.pairwise_distance(a, torch.tensor(w)), x, dtype=np.float32)
    h = _grad(hg, lambda a: hF.pairwise_distance(a, hg.tensor(w)), x, dtype=np.float32)
    assert np.isnan(t).all() and (h == 1).all()
    assert accepted.limit_at_infinity(
        "F.pairwise_distance", {"w": w, "p": 2.0}, x, "grad", h, t, np.ones(x.shape, bool)
    )


def test_torch_norm_cancels():
    # a group of one element (fuzz seed 64608592): the normalized value is exactly 0, so the
    # output is the bias; torch's x a + (bias - mean a) cancels two terms of 1e146
    x = np.array([[-727.96, 4.9e-39], [1.5777e85, 1.304024902e144]])
    w, b = np.array([2.2241, -1.6385]), np.array([0.6525, 0.7144])
    t = tF.group_norm(torch.tensor(x), 2, torch.tensor(w), torch.tensor(b)).numpy()
    h = hF.group_norm(hg.tensor(x), 2, hg.tensor(w), hg.tensor(b)).numpy()
    np.testing.assert_array_equal(h, np.broadcast_to(b, x.shape))  # exact
    assert abs(t[1, 1]) > 1e100
    bad = ~np.isclose(h, t, rtol=1e-7)
    assert (bad == [[False, False], [True, True]]).all()
    assert accepted.torch_norm_cancels("F.group_norm", {"g": 2}, x, "forward", h, t, bad)
    # a constant row (seed 64591007): the gradient is exactly (d - mean d) / sqrt(eps), which
    # torch gets at 1.0 but not at 3.7e36 (its d a + x c + e cancels to 0)
    g, w2 = np.array([0.0, 0.00981131]), np.array([0.18753024, 0.00108242])
    exact = (g * w2 - (g * w2).mean()) / np.sqrt(1e-5)
    for v in (1.0, 3.704138e36):
        x = np.array([v, v])
        t = _grad(torch, lambda a: tF.layer_norm(a, (2,), torch.tensor(w2)), x, g)
        h = _grad(hg, lambda a: hF.layer_norm(a, (2,), hg.tensor(w2)), x, g)
        np.testing.assert_allclose(h, exact, rtol=1e-12)
        if v == 1.0:
            np.testing.assert_allclose(t, exact, rtol=1e-9)
        else:
            assert (t == 0).all()
            assert accepted.torch_norm_cancels("F.layer_norm", {"n": 1}, x, "grad", h, t, h != t)
    # a constant row at 1.69 (seed 757807016): exactly 0; torch's x a + b leaves -5.2e-14,
    # within eps (|x| + |mean|) / sqrt(eps) but relatively all of it
    x = np.full((1, 2, 3), 1.6931471805599454)
    x[0, 0] = [0.0, 9.3888662346904791e83, 1.0]
    t = tF.instance_norm(torch.tensor(x)).numpy()
    h = hF.instance_norm(hg.tensor(x)).numpy()
    assert (h[0, 1] == 0).all() and (t[0, 1] != 0).all() and (np.abs(t[0, 1]) < 1e-13).all()
    bad = np.zeros(x.shape, bool)
    bad[0, 1] = True
    assert accepted.torch_norm_cancels("F.instance_norm", {}, x, "forward", h, t, bad)
    assert not accepted.torch_norm_cancels("F.instance_norm", {}, x, "forward", h, t + 1e-11, bad)


def test_normalize_0d_overflows():
    x = np.array(4.4942328371557893e307)
    t = tF.normalize(torch.tensor(x), dim=0).numpy()
    h = hF.normalize(hg.tensor(x), dim=0).numpy()
    assert t == 0 and h == 1
    assert tF.normalize(torch.tensor(x[None]), dim=0).numpy()[0] == 1  # along a dim of one
    assert accepted.normalize_0d_overflows(
        "F.normalize", {"p": 2.0, "dim": 0}, x, "forward", h, t, np.array(True)
    )
    t = _grad(torch, lambda a: a.norm(p=2.0, dim=0, keepdim=True), x, 0.5)
    h = _grad(hg, lambda a: a.norm(p=2.0, dim=0, keepdim=True), x, 0.5)
    assert t == 0 and h == 0.5
    assert accepted.normalize_0d_overflows(
        "norm", {"p": 2.0, "dim": 0}, x, "grad", h, t, np.array(True), np.array(0.5)
    )
    # fuzz seed 22326478: the 3-norm of a 0-d 8.7e146, whose cube overflows in torch
    x = np.array(8.72339e146)
    t = _grad(torch, lambda a: a.norm(p=3.0, dim=-1), x, 0.94)
    h = _grad(hg, lambda a: a.norm(p=3.0, dim=-1), x, 0.94)
    assert t == 0 and h == 0.94
    assert _grad(torch, lambda a: a.norm(p=3.0, dim=-1), x[None], 0.94) == 0.94  # a dim of one
    assert accepted.normalize_0d_overflows(
        "norm", {"p": 3.0, "dim": -1}, x, "grad", h, t, np.array(True), np.array(0.94)
    )
    # fuzz seed 761282044: the derivative of norm's gradient w.r.t. g in a direction u = -3
    x = np.array(4.4942e307)
    got = []
    for lib in (torch, hg):
        a = lib.tensor(x, requires_grad=True)
        gg = lib.tensor(np.array(0.5), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(lib.norm(a, p=2.0, dim=-1), [a], gg, create_graph=True)
        got.append(grad(d * -3.0, [gg])[0].detach().numpy())
    t, h = got
    assert t == 0 and h == -3.0
    params = {"p": 2.0, "dim": -1, "u": np.array(-3.0)}
    args = ("norm", params, x, "grad2", h, t, np.array(True), np.array(0.5))
    assert accepted.normalize_0d_overflows(*args)
    # fuzz seed 1408740951: the 3-norm of a 0-d -5e-324, whose cube underflows in torch
    x = np.array(-5e-324)
    for g in (0.94, np.nan):
        t = _grad(torch, lambda a: a.norm(p=3.0, dim=-1), x, g)
        h = _grad(hg, lambda a: a.norm(p=3.0, dim=-1), x, g)
        assert t == 0 and (h == -g or np.isnan(h) and np.isnan(g))
        args = ("norm", {"p": 3.0, "dim": -1}, x, "grad", h, t, np.array(True), np.array(g))
        assert accepted.normalize_0d_overflows(*args)
    assert torch.tensor(x).norm(p=3.0, dim=-1) == 0  # torch's pow(pow(|x|, 3), 1 / 3)
    assert torch.tensor(x[None]).norm(p=3.0, dim=-1) == 5e-324  # a dim of one: |x|
    assert not accepted.normalize_0d_overflows(
        "norm", {"p": 3.0, "dim": -1}, np.array(1e-50), "grad", h, t, np.array(True), np.array(g)
    )


def test_torch_norm_at_zero_vector():
    # fuzz seed 64575349: normalize along a dim of one element at 0 and -0
    x = np.array([[0.0, -0.0]], np.float32)
    res = {}
    for lib, F in ((torch, tF), (hg, hF)):
        a = lib.tensor(x, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (g,) = grad(F.normalize(a, dim=-2).sum(), [a], create_graph=True)
        (g2,) = grad(g.sum(), [a])
        res[lib] = g2.detach().numpy()
    assert np.isnan(res[torch]).all() and (res[hg] == 0).all()
    p = {"p": 2.0, "dim": -2}
    assert accepted.torch_norm_at_zero_vector(
        "F.normalize", p, x, "grad2", res[hg], res[torch], np.ones(x.shape, bool)
    )
    # cosine_similarity: w a zero vector; the cross term d2/dx dw is finite in handgrad
    x, w = np.array([[1.0, 2.0]]), np.array([[-0.0]])
    for lib, F in ((torch, tF), (hg, hF)):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        ga, gb = grad(F.cosine_similarity(a, b, dim=-1).sum(), [a, b], create_graph=True)
        (g2,) = grad(ga.sum() + gb.sum(), [b])
        res[lib] = g2.detach().numpy()
    assert np.isnan(res[torch]).all() and np.isfinite(res[hg]).all()
    assert accepted.torch_norm_at_zero_vector(
        "F.cosine_similarity", {"w": w, "dim": -1}, x, "grad2", res[hg], res[torch], w == 0
    )


def test_torch_norm_double_backward_differs():
    # fuzz seed 1197233188: group_norm over the group (8.7e130, 2.0e3), x^ = +-1; the second
    # derivative by w[1] is g1 (J u)[1], terms g1 u0 / sigma = 2.9e24 cancelling to -7.5e-243
    from tests.fuzz.runner import _group_norm_composed

    x = np.array([[8.74344977e130, 1.98848427e003]])
    w, wb = np.array([-2.31409353, 0.08567751]), np.array([-0.26729984, 0.56303452])
    g = np.array([[0.0, 2563.59451451]])
    u = np.array([[4.90501327e151, -1.69204686e-162]])

    def second(lib, fn):
        a, ww = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        gx, gw = lib.autograd.grad(fn(a, ww), (a, ww), lib.tensor(g), create_graph=True)
        return lib.autograd.grad((gx * lib.tensor(u)).sum(), ww)[0].numpy()

    class T:  # torch as the fuzzer's library object for the composed formula
        T = torch

    t = second(torch, lambda a, ww: tF.group_norm(a, 1, ww, torch.tensor(wb)))
    ref = second(torch, lambda a, ww: _group_norm_composed(T, a, 1, ww, torch.tensor(wb)))
    h = second(hg, lambda a, ww: hF.group_norm(a, 1, ww, hg.tensor(wb)))
    terms = 2563.59451451 * 4.90501327e151 / 4.37e130
    assert abs(t[1]) > 1e23 and abs(ref[1]) < 1e10 and abs(h[1]) < 1e10
    bad = np.array([False, True])
    ok = accepted.torch_norm_double_backward_differs
    p = {"composed": ref, "terms": terms}
    assert ok("F.group_norm", p, x, "grad2", h, t, bad)
    assert not ok("F.group_norm", p, x, "grad2", h + terms * bad, t, bad)  # a term too many


def test_soft_margin_double_backward_overflows():
    # fuzz seed 1558880683: e^(-y x) = 0 at x = 7.5e-95, y = 3.0e129; a second-pass cotangent of
    # 1e93 (a sqrt's derivative before it) times y^2 overflows in torch before the 0 comes
    x, y = np.array([7.49414e-95, 0.5]), np.array([3.0169e129, 2.0])
    u = np.array([1e93, 1.0])

    def second(lib, F):
        a = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(F.soft_margin_loss(a, lib.tensor(y)), a, create_graph=True)
        return lib.autograd.grad(g, a, lib.tensor(u))[0].numpy()

    t, h = second(torch, tF), second(hg, hF)
    assert np.isnan(t[0]) and h[0] == 0 and np.isclose(h[1], t[1])
    bad = np.array([True, False])
    ok = accepted.soft_margin_double_backward_overflows
    assert ok("F.soft_margin_loss", {"w": y}, x, "grad2", h, t, bad)
    assert not ok("F.soft_margin_loss", {"w": y * 1e-130}, x, "grad2", h, t, bad)  # z = 1


def test_soft_margin_exp_overflows():
    # fuzz seed 64571960: -y x = 3.4e5, e^(-y x) overflows in torch; the limit is -y
    x, y = np.array([-9.51547515e-50]), np.array([3.56201569e54])
    t = _grad(torch, lambda a: tF.soft_margin_loss(a, torch.tensor(y), reduction="sum"), x)
    h = _grad(hg, lambda a: hF.soft_margin_loss(a, hg.tensor(y), reduction="sum"), x)
    assert np.isnan(t).all() and h[0] == -y[0]
    assert accepted.soft_margin_exp_overflows(
        "F.soft_margin_loss", {"w": y}, x, "grad", h, t, np.ones(1, bool)
    )
    # fuzz seed 841020463: the value there, log(1 + e^(-y x)) = -y x = 1.12e97; torch inf
    x, y = np.array([-0.0381]), np.array([2.9513e98])
    t = tF.soft_margin_loss(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    h = hF.soft_margin_loss(hg.tensor(x), hg.tensor(y), reduction="none").numpy()
    assert np.isposinf(t).all() and h[0] == -x[0] * y[0]
    p = {"w": y, "reduction": "none"}
    assert accepted.soft_margin_exp_overflows("F.soft_margin_loss", p, x, "forward", h, t, t != h)
    # fuzz seed 21207570: the mean over elements one of which overflows in torch (float32)
    x, y = np.array([1.0, 0.0, 2.0], np.float32), np.array([-1e10, 3.0, 0.5], np.float32)
    t = tF.soft_margin_loss(torch.tensor(x), torch.tensor(y)).numpy()
    h = hF.soft_margin_loss(hg.tensor(x), hg.tensor(y)).numpy()
    assert np.isposinf(t) and np.isclose(h, (1e10 + np.log(2) + np.log1p(np.exp(-1.0))) / 3)
    p = {"w": y, "reduction": "mean"}
    assert accepted.soft_margin_exp_overflows("F.soft_margin_loss", p, x, "forward", h, t, t != h)
    assert not accepted.soft_margin_exp_overflows(  # a wrong finite value is not accepted
        "F.soft_margin_loss", p, x, "forward", h * 2, t, t != h
    )


def test_zero_gradient_ops_are_constants_inside_a_gradient():
    # fmod's gradient by its divisor is -g trunc(x / w): torch differentiates it by x to an
    # exact 0 (which a later inf turns into NaN), handgrad's trunc is a constant there too
    out = []
    for lib, grad in ((torch, torch.autograd.grad), (hg, hg.grad)):
        x = lib.tensor(np.array([2.5]), requires_grad=True)
        w = lib.tensor(np.array([0.75]), requires_grad=True)
        (gw,) = grad(lib.fmod(x, w).sum(), [w], create_graph=True)
        out.append(grad(gw.sum(), [x])[0].numpy() if gw.requires_grad else None)
    assert out[0].tolist() == [0.0] and out[1] is None


def test_torch_sigmoid_exp_overflows():
    # float32 sigmoid(-102): e^-102 = 5.1e-45, the subnormal 5.6e-45; torch's 1 / (1 + e^102) = 0
    x = np.full(3, -102.0, np.float32)
    t = torch.sigmoid(torch.tensor(x)).numpy()
    h = hg.sigmoid(hg.tensor(x)).numpy()
    assert (t == 0).all() and (h == np.float32(5.605194e-45)).all()
    assert accepted.torch_sigmoid_exp_overflows("sigmoid", {}, x, "forward", h, t, h != t)
    # fuzz seed 1002536437: mish's gradient at -744.44 (float64) is e^x (1 + x) = -3.7e-321
    x = np.array([-744.4401])
    t = _grad(torch, tF.mish, x)
    h = _grad(hg, hF.mish, x)
    assert t[0] == 5e-324 and h[0] == pytest.approx(-3.67e-321, rel=1e-2)
    assert accepted.torch_sigmoid_exp_overflows("F.mish", {}, x, "grad", h, t, h != t, np.ones(1))
    # not above the overflow (sigmoid(-80) is a normal float32 in both)
    y = np.full(3, -80.0, np.float32)
    assert not accepted.torch_sigmoid_exp_overflows("sigmoid", {}, y, "forward", y, y * 0, y < 0)


def test_bce_through_torch_sigmoid_underflow():
    # fuzz seed 1778756927: BCE(sigmoid(x)) at float64 x = -744.44, target 0.27, g = 0.072;
    # sigmoid(x) is the subnormal 4.9e-324 (torch 0), and the gradient through torch's clamp
    # max(p (1 - p), 1e-12) is g (p - target) 1e12 p (1 - p): handgrad -9.7e-314, torch -0
    x, tgt, g = (
        np.array([-744.44007192, 2.69430774]),
        np.array([0.27232714, 0.15041947]),
        0.07208714,
    )

    def f(L, F):
        return lambda v: F.binary_cross_entropy(L.sigmoid(v), L.tensor(tgt), reduction="sum")

    t = _grad(torch, f(torch, tF), x, g)
    h = _grad(hg, f(hg, hF), x, g)
    assert t[0] == 0 and h[0] == pytest.approx(-9.699e-314, rel=1e-3)
    assert h[1] == pytest.approx(t[1], rel=1e-12)
    p = {"t": tgt, "reduction": "sum"}
    bad = h != t
    assert accepted.bce_through_torch_sigmoid_underflow(
        "F.binary_cross_entropy", p, x, "grad", h, t, bad, np.array(g)
    )
    # not where sigmoid is a normal float (x = -700): there the two must agree
    assert not accepted.bce_through_torch_sigmoid_underflow(
        "F.binary_cross_entropy", p, x + 44.44, "grad", h, t, bad, np.array(g)
    )


def test_logsigmoid_second_derivative_cancels():
    # d^2 logsigmoid / dx^2 = -e^-x (1 + e^-x)^-2; at x = 289.4 torch's (sigmoid(x) - 1) sigmoid(x)
    # is 0, handgrad's the exact value (fuzz seed 493495444)
    x, g, u = 289.435, 1.1, 3e125
    t = _second(torch, tF.logsigmoid, [[x]], [g], v=[u])
    h = _second(hg, hF.logsigmoid, [[x]], [g], v=[u])
    exact = -g * u * np.exp(-x)
    assert t[0] == 0 and h[0] == pytest.approx(exact, rel=1e-12)
    args = ("F.logsigmoid", {"u": np.array([u])}, np.array([x]), "grad2", h, t, h != t)
    assert accepted.logsigmoid_second_derivative_cancels(*args, np.array([g]))
    # not for values that are not the exact one (torch's own at x = 20 is 2e-9 g u there)
    args = ("F.logsigmoid", {"u": np.array([1.0])}, np.array([20.0]), "grad2", h, t, h != t)
    assert not accepted.logsigmoid_second_derivative_cancels(*args, np.array([g]))


def test_logsigmoid_second_derivative_loses_digits():
    # fuzz seed 928203272: below the point where sigmoid(x) rounds to 1, torch's
    # (sigmoid(x) - 1) sigmoid(x) keeps only the digits of 1 - sigmoid(x) = 3.6e-15 that
    # sigmoid's rounding leaves: 2.7% off at x = 33.2, handgrad exact (mpmath)
    import mpmath

    x, g, u = 33.24420228146524, 82145213086.29294, 6.847155168637012
    t = _second(torch, tF.logsigmoid, [[x]], [g], v=[u])
    h = _second(hg, hF.logsigmoid, [[x]], [g], v=[u])
    with mpmath.workdps(50):
        e = mpmath.exp(-mpmath.mpf(x))
        exact = float(-mpmath.mpf(g) * mpmath.mpf(u) * e / (1 + e) ** 2)
    assert h[0] == pytest.approx(exact, rel=1e-14)
    assert abs(t[0] / exact - 1) > 0.02 and abs(t[0] - exact) <= 2 * 2.3e-16 * g * u
    args = ("F.logsigmoid", {"u": np.array([u])}, np.array([x]), "grad2", h, t, h != t)
    assert accepted.logsigmoid_second_derivative_cancels(*args, np.array([g]))
    # inside a program the cotangent c at the output adds c e^-x / (1 + e^-x)
    c = 2.527372944e9
    first = c * float(e / (1 + e))
    seen = {"u": np.array([u]), "c": np.array([c])}
    args = ("F.logsigmoid", seen, np.array([x]), "grad2", h + first, t + first, h != t)
    assert accepted.logsigmoid_second_derivative_cancels(*args, np.array([g]))
    args = ("F.logsigmoid", {"u": np.array([u])}, np.array([x]), "grad2", h + first, t, h != t)
    assert not accepted.logsigmoid_second_derivative_cancels(*args, np.array([g]))


def test_torch_tanh_last_bit():
    # tanhshrink(x) = x - tanh(x) near 0: where torch's tanh is an ulp off the correctly rounded
    # value, x - tanh(x) shows it (3.5e-11 relative at x = -0.004186 on an AVX2 machine)
    import mpmath

    mpmath.mp.prec = 120
    # which inputs torch's tanh is an ulp off at depends on its kernel, so on the CPU: the first
    # point of a fixed grid from -0.004186 where it is, and handgrad's tanhshrink is the nearer
    # (that point itself where it was found; on a Xeon model 207 VM none before -0.08, where
    # x - tanh(x) amplifies the ulp less). handgrad's tanh is the correctly rounded one at each.
    for x0 in -np.geomspace(0.004186188760954446, 0.3, 4000):
        x = np.array([x0])
        exact_tanh = float(mpmath.tanh(mpmath.mpf(float(x[0]))))
        if torch.tanh(torch.tensor(x)).numpy()[0] == exact_tanh:
            continue
        assert hg.tanh(hg.tensor(x)).numpy()[0] == exact_tanh, x
        t = tF.tanhshrink(torch.tensor(x)).numpy()
        h = hF.tanhshrink(hg.tensor(x)).numpy()
        exact = float(x[0] - mpmath.tanh(mpmath.mpf(float(x[0]))))
        if abs(h[0] - exact) < abs(t[0] - exact):
            break
    else:
        pytest.skip("torch's tanh is correctly rounded on the whole grid on this CPU")
    assert accepted.torch_tanh_last_bit("F.tanhshrink", {}, x, "forward", h, t, h != t)
    # not where both tanh values are correctly rounded (x = 0.3: they agree)
    y = np.array([0.3])
    assert not accepted.torch_tanh_last_bit("F.tanhshrink", {}, y, "forward", y, y, y > 0)


def test_softshrink_zero_sign():
    short, long = np.full(3, -0.5, np.float32), np.full(40, -0.5, np.float32)
    t_short = tF.softshrink(torch.tensor(short), 1.0).numpy()
    t_long = tF.softshrink(torch.tensor(long), 1.0).numpy()
    # torch: -0.0 on the scalar path (short tensors, the tail), +0.0 on the vectorised one
    assert np.signbit(t_short).all() and not np.signbit(t_long[0])
    for a in (short, long):
        assert np.signbit(hF.softshrink(hg.tensor(a), 1.0).numpy()).all()  # handgrad: -0.0


def test_minmax_zero_sign():
    # fuzz seed 1002546310: minimum(+0.0, -0.0) in 9 float32 elements, then 1 / x
    for fn in ("minimum", "maximum"):
        for n in (9, 40):
            a, b = np.zeros(n, np.float32), np.full(n, -0.0, np.float32)
            t = getattr(torch, fn)(torch.tensor(a), torch.tensor(b)).numpy()
            h = getattr(hg, fn)(hg.tensor(a), hg.tensor(b)).numpy()
            # torch: a (+0.0) on the scalar path, b (-0.0) on the vectorised one; handgrad: b
            assert np.signbit(t[0]) == (n == 40) and np.signbit(h).all()
            bad = np.signbit(t) != np.signbit(h)  # (for 40, the scalar path's tail of 8)
            assert bad.any() and accepted.minmax_zero_sign(fn, {"w": b}, a, "forward", h, t, bad)
    # not where the operands are not a +0.0 / -0.0 tie
    a, b = np.zeros(3, np.float32), np.zeros(3, np.float32)
    assert not accepted.minmax_zero_sign("minimum", {"w": b}, a, "forward", -a, a, a == 0)


def test_torch_norm_grad_overflows():
    # fuzz seed 1110259507: float32 group (0, 1) has sigma 0.43 and one upstream gradient of
    # 1.6e38; torch's db rstd = 4.6e38 overflows, handgrad's gradient is torch's float64 one
    x = np.array([[[0.5, -0.25, 1.0, 0.0], [0.0, 1.0188534, 0.47979239, 0.0]]], np.float32)
    g = np.array([[[0.1, 0.2, -0.3, 0.4], [-0.26571199, -0.2190094, 1.6232598e38, -0.15]]])
    w, b = np.array([-1.3844724, 1.1894882]), np.array([-1.5356741, -0.9697944])

    def grad(lib, dtype):
        wb = [lib.tensor(a.astype(dtype)) for a in (w, b)]
        return _grad(lib, lambda a: lib.nn.functional.group_norm(a, 2, *wb), x, g, dtype)

    t, h, t64 = grad(torch, np.float32), grad(hg, np.float32), grad(torch, np.float64)
    assert not np.isfinite(t[0, 1]).any()
    np.testing.assert_allclose(h, t64, rtol=1e-5)
    bad = ~np.isclose(h, t, rtol=2e-3)
    assert bad[0, 1].all() and not bad[0, 0].any()
    p = {"g": 2, "w": w.astype(np.float32), "wb": b.astype(np.float32)}
    g32 = g.astype(np.float32)
    assert accepted.torch_norm_grad_overflows("F.group_norm", p, x, "grad", h, t, bad, g32)
    # not in the group whose upstream gradient is ordinary
    other = np.zeros_like(bad)
    other[0, 0, 0] = True
    assert not accepted.torch_norm_grad_overflows("F.group_norm", p, x, "grad", h, t, other, g32)


def test_torch_norm_grad_overflows_before_the_weight():
    # fuzz seed 2030066975, a row of it: float64 layer_norm with a weight, g = -1.1e308 at
    # x = 1.68; torch forms g x (inf) before it multiplies by w = 0.33: NaN in the whole row.
    # handgrad's gradient is the exact one (mpmath: 1.248149672668e307, ...); torch itself,
    # given g w and no weight, is finite there
    x = np.array([[1.401354, 1.681198, 1.343057, 2.320062, 0.57587]])
    g = np.array([[0.6482076, -1.103455e308, -3.535995, -2.732606, -2.964422]])
    w = np.array([-1.227661, 0.33299, 0.387909, 0.584455, -1.12566])
    b = np.array([2.258621, -1.599376, 0.038757, 1.261891, -0.94037])

    def grad(lib, gg, weight):
        wb = [lib.tensor(weight), lib.tensor(b)]
        return _grad(lib, lambda a: lib.nn.functional.layer_norm(a, (5,), *wb), x, gg)

    t, h = grad(torch, g, w), grad(hg, g, w)
    t_no_weight = grad(torch, g * w, np.ones(5))
    assert np.isnan(t).all()
    exact = [1.248149672668125e307, -5.023719291494369e307, 1.196206487326485e307]
    np.testing.assert_allclose(h[0, :3], exact, rtol=1e-5)
    np.testing.assert_allclose(h, t_no_weight, rtol=1e-5)
    bad = np.ones(x.shape, bool)
    p = {"n": 1, "w": w, "wb": b}
    assert accepted.torch_norm_grad_overflows("F.layer_norm", p, x, "grad", h, t, bad, g)
    # an ordinary g: no intermediate overflows
    g1 = np.where(np.abs(g) > 1e300, 1.0, g)
    assert not accepted.torch_norm_grad_overflows("F.layer_norm", p, x, "grad", h, t, bad, g1)


def test_normalize_one_element_noise():
    # fuzz seed 1110233347: normalize along a dim of one element is sign(x), whose second
    # derivative is exactly 0; both libraries leave noise of about eps |g| / x^2
    x = np.array([[-0.009744149], [0.0049756276], [0.8279725]], np.float32)
    g = np.array([[-1.9982853], [-0.15126419], [0.1879512]], np.float32)
    v = np.array([[0.7], [-1.3], [0.4]], np.float32)
    res = {}
    for lib in (torch, hg):
        a = lib.tensor(x, requires_grad=True)
        out = lib.nn.functional.normalize(a, p=2.0, dim=1)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(out, [a], lib.tensor(g), create_graph=True)
        (d2,) = grad((d * lib.tensor(v)).sum(), [a])
        res[lib.__name__] = d2.detach().numpy()
    h, t = res["handgrad"], res["torch"]
    noise = 32 * np.finfo(np.float32).eps * np.abs(g.astype(np.float64)) / x.astype(np.float64) ** 2
    assert (np.abs(h) <= noise).all() and (np.abs(t) <= noise).all()
    bad = ~np.isclose(h, t, rtol=2e-3, atol=1e-7)
    assert accepted.normalize_one_element_noise(
        "F.normalize", {"p": 2.0, "dim": 1}, x, "grad2", h, t, bad | True, g
    )
    # a value beyond the noise is not accepted
    assert not accepted.normalize_one_element_noise(
        "F.normalize", {"p": 2.0, "dim": 1}, x, "grad2", h + 1.0, t, bad | True, g
    )
    # seed 376526011: a 0-d x is one element along dim 0; handgrad -0.25, torch 0, both noise
    x0, g0, v0 = np.float32(-0.000443507), np.float32(-0.7), np.float32(0.9)
    res = {}
    for lib in (torch, hg):
        a = lib.tensor(np.array(x0), requires_grad=True)
        out = lib.nn.functional.normalize(a, p=2.0, dim=0)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(out, [a], lib.tensor(np.array(g0)), create_graph=True)
        (d2,) = grad((d * lib.tensor(np.array(v0))).sum(), [a])
        res[lib.__name__] = d2.detach().numpy()
    h, t = res["handgrad"], res["torch"]
    assert h != t
    args = ("F.normalize", {"p": 2.0, "dim": 0}, np.array(x0), "grad2")
    assert accepted.normalize_one_element_noise(*args, h, t, np.array(True), np.array(g0))
    assert not accepted.normalize_one_element_noise(
        *args, h + np.float32(20.0), t, np.array(True), np.array(g0)
    )


def test_normalize_one_element_noise_scales_with_the_direction():
    # fuzz seed 1778829917: a 0-d float32 x = 1.2951583e12, g = -0.5255783, in the direction
    # u = 2.8201195e35 (rsqrt's gradient of a tiny x before it): the terms u g / x^2 cancel,
    # and both libraries leave 16384 for the exact 0; inside the program handgrad's cotangent
    # there is -8192, torch's 0
    x, g, u = np.float32(1.2951583e12), np.float32(-0.5255783), np.float32(2.8201195e35)
    res = {}
    for lib in (torch, hg):
        a = lib.tensor(np.array(x), requires_grad=True)
        out = lib.nn.functional.normalize(a, p=1.0, dim=0)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(out, [a], lib.tensor(np.array(g)), create_graph=True)
        (d2,) = grad(d * lib.tensor(np.array(u)), [a])
        res[lib.__name__] = d2.detach().numpy()
    assert res["handgrad"] == res["torch"] == np.float32(16384.0)
    params = {"p": 1.0, "dim": 0, "u": np.array(u)}
    args = ("F.normalize", params, np.array(x), "grad2")
    h, t, every = np.float32(-8192.0), np.float32(0.0), np.array(True)
    assert accepted.normalize_one_element_noise(*args, h, t, every, np.array(g))
    # without the direction the bound is eps |g| / x^2, far below: not accepted
    no_u = ("F.normalize", {"p": 1.0, "dim": 0}, np.array(x), "grad2")
    assert not accepted.normalize_one_element_noise(*no_u, h, t, every, np.array(g))
    assert not accepted.normalize_one_element_noise(*args, h * 100, t, every, np.array(g))


def test_median_along_an_expanded_dim():
    # fuzz seed 376524968: torch 2.13 reads past the data along a stride-0 dim; the fuzzer
    # compares with torch's median of the contiguous copy (docs/differences.md, "Not compared")
    a = np.arange(6.0).reshape(3, 2)
    e = torch.tensor(a).expand(3, 3, 2)
    t = e.median(0).values.numpy()
    ref = e.contiguous().median(0).values.numpy()
    h = hg.tensor(a).expand(3, 3, 2).median(0).values.numpy()
    np.testing.assert_array_equal(h, a)
    np.testing.assert_array_equal(ref, a)
    # torch's median reads the data shifted (its last element from past the end): its first
    # element, read inside the data, is 1 where the median is 0
    assert t[0, 0] == 1


def test_batch_norm_channels_last_upstream():
    # fuzz seeds 754049548, 130550826: torch 2.13's CPU batch-norm backward, given an upstream
    # gradient whose strides look channels-last (a transpose after the norm, size-1 dims) and a
    # contiguous input, reads the input as channels-last: a wrong gradient. The fuzzer makes
    # torch's upstream gradient contiguous (docs/differences.md, "Not compared")
    r = np.random.default_rng(0)
    x, g = r.standard_normal((1, 5, 3, 1)), r.standard_normal((1, 3, 5, 1))
    tx = torch.tensor(x, requires_grad=True)
    y = tF.batch_norm(tx, None, None, training=True)
    (t,) = torch.autograd.grad(y.transpose(-2, 1), tx, torch.tensor(g), retain_graph=True)
    (ref,) = torch.autograd.grad(y, tx, torch.tensor(g).transpose(-2, 1).contiguous())
    hx = hg.tensor(x, requires_grad=True)
    hy = hF.batch_norm(hx, None, None, training=True).transpose(-2, 1)
    (h,) = hg.grad(hy, [hx], hg.tensor(g))
    np.testing.assert_allclose(h.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)
    # the exact gradient sums to 0 over each channel; torch's strided one is not that gradient
    np.testing.assert_allclose(h.numpy().sum(axis=(0, 2, 3)), 0.0, atol=1e-12)
    assert np.abs(t.numpy() - ref.numpy()).max() > 0.1


def test_lp_pool_one_element_noise():
    # fuzz seed 683984405: lp_pool with a kernel of one element is |x|, whose exact second
    # derivative is 0; both libraries form it through pow, avg_pool and pow(1/p), whose terms
    # of size |g u| / |x| cancel (float32 x = 3.2e-10: handgrad -256, torch 0 in the program)
    x = np.array([[[3.15591e-10, -4.74681e-10, 1.5, 2e-3]]], np.float32)
    g, u = np.array([[[0.7, -1.3, 2.0, 0.4]]]), [np.array([[[1.1, -0.6, 0.9, 1.7]]])]
    res = {}
    for lib in (torch, hg):
        a = lib.tensor(x, requires_grad=True)
        out = lib.nn.functional.lp_pool1d(a, 2.0, 1, 1)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(out, [a], lib.tensor(g.astype(np.float32)), create_graph=True)
        res[lib] = grad((d * lib.tensor(u[0].astype(np.float32))).sum(), [a])[0].detach().numpy()
    t, h = res[torch], res[hg]
    bound = 32 * np.finfo(np.float32).eps * 3 * np.abs(g * u[0]) / np.abs(x)
    assert (np.abs(t) <= bound).all() and (np.abs(h) <= bound).all()
    params = {"norm_type": 2.0, "kernel_size": 1, "stride": 1, "u": u[0], "leaf": 0}
    bad = np.ones(x.shape, bool)
    args = ("F.lp_pool1d", params, x, "grad2")
    assert accepted.lp_pool_one_element_noise(*args, h, t, bad, g.astype(np.float32))
    # beyond the noise of its element (here 32 eps 3 |g u| / |x| = 0.0014 at x = 1.5): not
    assert not accepted.lp_pool_one_element_noise(*args, h + 0.01, t, bad, g.astype(np.float32))
    # a kernel of two elements is not one-element: never accepted here
    two = dict(params, kernel_size=2)
    assert not accepted.lp_pool_one_element_noise("F.lp_pool1d", two, x, "grad2", h, t, bad, g)


def test_interpolate_fma_zero_sign():
    # fuzz seed 1625022174: halfway between -5e-324 and 0, torch's fused multiply-add rounds the
    # exact -2.5e-324 to -0.0; handgrad's separately rounded products add to +0.0
    x = np.array([[[-4.4942e307, -5e-324, 0.0, 0.0]]])
    kw = {"size": [5], "mode": "linear", "align_corners": True}
    t = tF.interpolate(torch.tensor(x), **kw).numpy()
    h = hF.interpolate(hg.tensor(x), **kw).numpy()
    bad = np.signbit(t) != np.signbit(h)
    assert bad.any() and (t[bad] == 0).all() and (h[bad] == 0).all()
    np.testing.assert_array_equal(t, h)  # the values are the same
    assert accepted.interpolate_fma_zero_sign("F.interpolate", kw, x, "forward", h, t, bad)
    # without a subnormal in the input: not this
    x1 = np.where(np.abs(x) < 1e-300, 0.0, x)
    assert not accepted.interpolate_fma_zero_sign("F.interpolate", kw, x1, "forward", h, t, bad)


def test_hypot_second_derivative_noise():
    # fuzz seed 504936061, smaller: w (1, 2) broadcast over x (3, 3, 2) holding zeros, where
    # hypot(0, w) = |w| is linear; its second derivative by w sums terms g v / |w| = 1e15 that
    # cancel, and the two autograd engines sum them over the broadcast dims in other orders
    z, m = 0.0, -1.5
    x = np.array([[z, m], [m, z], [m, z], [z, m], [m, m], [m, z], [m, m], [m, m], [z, z]], "f4")
    x = x.reshape(3, 3, 2)
    g = [0.2, 0.7, -0.6, 0.4, 0, 1.6, -0.7, 1, -0.6, -1, -0.7, -1.2, 0.1, 1, 0.2, 0.6, 1.6, 0.3]
    g = np.array(g, "f4").reshape(3, 3, 2)
    w, v, u = np.array([[-1.7e-15, -4.4e-15]], "f4"), np.array([[-1.5, 1.1]], "f4"), 0 * x

    def second(L):
        grad = torch.autograd.grad if L is torch else hg.grad
        xt, wt = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
        dx, dw = grad(L.hypot(xt, wt), [xt, wt], L.tensor(g), create_graph=True)
        s = (dx * L.tensor(u)).sum() + (dw * L.tensor(v)).sum()
        return grad(s, [wt])[0].detach().numpy()

    t, h = second(torch), second(hg)
    # the exact value: g v a^2 / r^3 summed (u = 0), 0 from the rows where x = 0
    a, b = x.astype(np.float64), np.broadcast_to(w.astype(np.float64), x.shape)
    exact = (g * v.astype(np.float64) * a * a / np.hypot(a, b) ** 3).sum((0, 1))
    assert np.abs(exact).max() < 10 and t[0, 1] != h[0, 1] and np.abs(t - h).max() > 1e6
    params = {"w": w, "u": u, "vs": [v], "leaf": 1}
    bad = np.ones(w.shape, bool)
    assert accepted.hypot_second_derivative_noise("hypot", params, x, "grad2", h, t, bad, g)
    assert not accepted.hypot_second_derivative_noise(
        "hypot", params, x, "grad2", h * 1e3, t, bad, g
    )


def test_torch_std_grad_overflows():
    # fuzz seed 1554068287: float32 std of three values under g = 1.43e38; torch's
    # g / ((N - 1) std) overflows, handgrad gives the float64 value 7.9136e37
    x, g = np.array([0.24199565, -0.03099764, -0.14366902], np.float32), 1.4295810e38
    t = _grad(torch, lambda v: torch.std(v), x, g, np.float32)
    h = _grad(hg, lambda v: hg.std(v), x, g, np.float32)
    assert np.isinf(t).all() and h[0] == pytest.approx(7.91363966e37, rel=1e-6)
    p = {"dim": None, "keepdim": False, "correction": 1}
    assert accepted.torch_std_grad_overflows("std", p, x, "grad", h, t, h != t, np.array(g))
    # not where handgrad is not the float64 value
    assert not accepted.torch_std_grad_overflows("std", p, x, "grad", h * 2, t, h != t, np.array(g))


def test_torch_pnorm_grad_overflows():
    # fuzz seed 693030598: float32 3-norm over one element 0.818 under g = 2.49e38; torch's
    # g / norm^2 overflows, handgrad's gradient is g sign(x) exactly
    x, g = np.array([[0.8184923]], np.float32), np.array([2.4933032e38], np.float32)
    t = _grad(torch, lambda v: torch.norm(v, p=3.0, dim=1), x, g, np.float32)
    h = _grad(hg, lambda v: hg.norm(v, p=3.0, dim=1), x, g, np.float32)
    assert np.isinf(t).all() and h[0, 0] == pytest.approx(2.4933032e38, rel=1e-6)
    p = {"dim": 1, "keepdim": False, "p": 3.0}
    assert accepted.torch_pnorm_grad_overflows("norm", p, x, "grad", h, t, h != t, g)
    assert not accepted.torch_pnorm_grad_overflows("norm", p, x, "grad", h / 2, t, h != t, g)


def test_torch_plain_backward_differs():
    # group_norm over groups of one element: the weight's gradient is exactly 0 (x^ = 0); torch
    # with a graph gives 0, torch's fused kernel without one rounding noise (fuzz seed 1412443311)
    x = np.array([[[21.169561]], [[46.193916]]], np.float32)
    g = np.array([[[1.2006987]], [[0.8388079]]], np.float32)
    w, b = np.array([-0.6054], np.float32), np.array([0.6438], np.float32)

    def weight_grad(lib, create_graph):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        out = (tF if lib is torch else hF).group_norm(xt, 1, wt, lib.tensor(b))
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(out, [wt], lib.tensor(g), create_graph=create_graph)
        return d.detach().numpy()

    torch_plain, torch_graph = weight_grad(torch, False), weight_grad(torch, True)
    assert torch_graph[0] == 0 and abs(torch_plain[0]) > 1e-5  # torch's two answers
    assert weight_grad(hg, False)[0] == 0 and weight_grad(hg, True)[0] == 0
    bad = np.array([True])
    assert (
        accepted.match(
            "F.group_norm",
            {"graph": torch_graph},
            x,
            "grad_plain",
            np.zeros(1, np.float32),
            torch_plain,
            bad,
        )
        == "torch_plain_backward_differs"
    )
    # a handgrad value that equals neither torch's plain nor its graph value is not accepted
    assert not accepted.torch_plain_backward_differs(
        "F.group_norm",
        {"graph": torch_graph},
        x,
        "grad_plain",
        np.ones(1, np.float32),
        torch_plain,
        bad,
    )


def test_torch_batch_norm_layout_overflow():
    # fuzz seed 1312314633: a float32 channel whose variance (4.8e51) exceeds float32's range.
    # torch on channel-first memory normalizes (double statistics), on contiguous memory it
    # returns the bias (0 here); handgrad gives the contiguous value on either layout
    m = np.array([[1.6829e26, 27.238, -2.143e-26, 7.825e25]] * 2, np.float32)
    x = np.stack([m, m, m])  # (3, 2, 4): an odd batch, which the fuzzer lays out channel-first
    xc = np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)
    t_cf = tF.batch_norm(torch.tensor(xc), None, None, training=True)
    t_c = tF.batch_norm(torch.tensor(x), None, None, training=True)
    assert np.isfinite(t_cf.numpy()).all() and np.abs(t_cf.numpy()).max() > 0.5
    assert not t_c.numpy().any()
    for a in (x, xc):
        h = hF.batch_norm(hg.tensor(a), None, None, training=True).numpy()
        np.testing.assert_array_equal(h, t_c.numpy())
    b = np.ones(x.shape, bool)
    ok = accepted.torch_batch_norm_layout_overflow
    p = {"w": None, "wb": None}
    assert ok("F.batch_norm", p, x, "forward", t_c.numpy(), t_cf.numpy(), b)
    assert not ok("F.batch_norm", p, x / 1e10, "forward", t_c.numpy(), t_cf.numpy(), b)
    assert not ok("F.batch_norm", p, x[:2], "forward", t_c.numpy()[:2], t_cf.numpy()[:2], b[:2])
    # an inf in another channel (fuzz seed 123491146): channel 0 is still accepted
    x2 = np.concatenate([x, np.full((3, 1, 4), np.inf, np.float32)], axis=1)
    h2 = hF.batch_norm(hg.tensor(x2), None, None, training=True).numpy()
    b2 = np.zeros(x2.shape, bool)
    b2[:, 0] = True
    assert ok("F.batch_norm", p, x2, "forward", h2, h2 + 1, b2)
    # fuzz seed 1337287556: values near 1e19, whose variance is finite in float32 but whose sum
    # of squared deviations is not: torch's contiguous kernel still returns the bias
    x3 = np.zeros((3, 2, 4, 4), np.float32)
    x3[:, 1, 1, :], x3[:, 1, 2, :] = 9.2234e18, 1.3044e19
    assert np.var(x3.astype(np.float64)) < np.finfo(np.float32).max
    x3c = np.ascontiguousarray(x3.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    t3_cf = tF.batch_norm(torch.tensor(x3c), None, None, training=True).numpy()
    t3_c = tF.batch_norm(torch.tensor(x3), None, None, training=True).numpy()
    h3 = hF.batch_norm(hg.tensor(x3c), None, None, training=True).numpy()
    assert np.abs(t3_cf[:, 1]).max() > 0.5 and not t3_c[:, 1].any()
    np.testing.assert_array_equal(h3, t3_c)
    b3 = np.zeros(x3.shape, bool)
    b3[:, 1] = True
    assert ok("F.batch_norm", p, x3, "forward", h3, t3_cf, b3)


@pytest.mark.parametrize("name", ["softshrink", "hardshrink", "hardtanh"])
def test_torch_shrink_nan_gradient_path(name):
    # fuzz seeds 1312314823, 218307537 (hardtanh): torch's gradient at NaN is g on its scalar
    # path (the tail: the last element of 17) and 0 on its vectorised body (the first 16);
    # handgrad gives 0 everywhere
    x = np.full(17, 0.25, np.float32)
    x[0] = x[-1] = np.nan
    g = np.ones(17, np.float32)
    args = () if name == "hardtanh" else (1.0,)
    tx = torch.tensor(x, requires_grad=True)
    (t,) = torch.autograd.grad(getattr(tF, name)(tx, *args), tx, torch.tensor(g))
    assert t[0] == 0 and t[-1] == 1
    hx = hg.tensor(x, requires_grad=True)
    getattr(hF, name)(hx, *args).backward(hg.tensor(g))
    assert hx.grad.numpy()[0] == 0 and hx.grad.numpy()[-1] == 0
    b = np.array([False] * 16 + [True])
    h, tn = hx.grad.numpy(), t.numpy()
    ok = accepted.torch_shrink_nan_gradient_path
    assert ok("<program>", {"vectorised": h.copy()}, x, "grad", h, tn, b)
    assert not ok("<program>", {"vectorised": tn.copy()}, x, "grad", h, tn, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_torch_plain_backward_differs_amplified_by_a_later_step():
    # fuzz seed 196103326: group_norm over one-element groups after asin at +-1; torch's fused
    # kernel without a graph leaves noise where the derivative is 0, asin's infinite derivative
    # makes it -inf, torch's graph 0 * inf = NaN, and handgrad gives the graph's NaN either way
    a = np.array([[1.0, -1.0], [0.0, -0.0], [1.0, -1.0]], np.float32)
    w = np.array([0.94401, -0.7070534], np.float32)
    b = np.array([0.031271044, -0.98638874], np.float32)
    g = np.array([[-0.1727634, 1.4054717], [2.074964, 1.2986522], [0.20281048, 0.26018792]])

    def input_grad(lib, create_graph):
        at = lib.tensor(a, requires_grad=True)
        F = tF if lib is torch else hF
        out = F.group_norm(at.asin(), 2, lib.tensor(w), lib.tensor(b)).sigmoid()
        grad = torch.autograd.grad if lib is torch else hg.grad
        (d,) = grad(out, [at], lib.tensor(g.astype(np.float32)), create_graph=create_graph)
        return d.detach().numpy()

    torch_plain, torch_graph = input_grad(torch, False), input_grad(torch, True)
    assert np.isinf(torch_plain).any() and not np.isinf(torch_graph).any()  # torch's two answers
    for create_graph in (False, True):
        np.testing.assert_array_equal(input_grad(hg, create_graph), torch_graph)
    bad = np.isinf(torch_plain)
    h = input_grad(hg, False)
    assert accepted.torch_plain_backward_differs(
        "<program>", {"graph": torch_graph}, a, "grad_plain", h, torch_plain, bad
    )


def test_transformer_fast_path_all_padding():
    # Not compared by the fuzzer (docs/differences.md, "Not compared"): a sequence whose keys are
    # all padding. torch's TransformerEncoderLayer in eval mode under no_grad takes its fast path
    # (_transformer_encoder_layer_fwd) and gives NaN; its training path (SDPA's _safe_softmax)
    # gives attention weights 0. handgrad has the one path and gives the latter in both modes.
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    h_layer = hg.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    hg.load_torch_state_dict(h_layer, t_layer.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 8)).astype(np.float32)
    pad = np.array([[True, True, True], [False, False, True]])
    for layer in (t_layer, h_layer):
        layer.eval()
    with torch.no_grad():
        t_eval = t_layer(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).numpy()
    t_layer.train()
    t_train = t_layer(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).detach().numpy()
    with hg.no_grad():
        h_eval = h_layer(hg.tensor(x), src_key_padding_mask=hg.tensor(pad)).numpy()
    assert np.isnan(t_eval[0]).all() and np.isfinite(t_train).all()
    np.testing.assert_allclose(h_eval, t_train, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_eval[1], t_eval[1], rtol=1e-5, atol=1e-6)


def test_matmul_fma_zero_sign():
    # 4.9e-316 times -4.9e-324 is -2.4e-639, below the smallest float64: torch's fused
    # multiply-add rounds it once, to -0.0; the BLAS's product rounds to -0.0 and the sum with
    # +0.0 is +0.0 (on a machine whose BLAS fuses it too, both give -0.0 and nothing parts)
    x = np.array([[4.94065646e-316]])
    w = np.array([[-4.94065646e-324, 6.65792253e-001]])
    t = (torch.tensor(x) @ torch.tensor(w)).numpy()
    h = (hg.tensor(x) @ hg.tensor(w)).numpy()
    assert h[0, 0] == 0 and t[0, 0] == 0 and h[0, 1] == t[0, 1]
    bad = np.signbit(h) != np.signbit(t)
    if bad.any():
        assert accepted.matmul_fma_zero_sign("matmul", {"w": w}, x, "forward", h, t, bad)
    # not where the exact product is zero itself (-2.4e-80 times 0 is -0.0 exactly: no rounding)
    z = np.array([[-2.4e-80]])
    h0, t0 = np.array([[0.0, 1.0]]), np.array([[-0.0, 1.0]])
    args = ("matmul", {"w": np.array([[0.0, 1.0]])}, z, "forward", h0, t0)
    assert not accepted.matmul_fma_zero_sign(*args, np.array([[True, False]]))
