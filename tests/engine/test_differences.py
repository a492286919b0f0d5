"""Each accepted difference from PyTorch (docs/differences.md, tests/fuzz/accepted.py) pinned:
the test shows torch's value and handgrad's on the same input and asserts that they differ in
exactly the documented way, so a change on either side is noticed."""

from __future__ import annotations

import math
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
    # tanh's gradient under an infinite upstream gradient: g (1 - out^2) is inf in torch;
    # handgrad's g - g out^2 is inf - inf = NaN. Both non-finite.
    t = _grad(torch, torch.tanh, [0.5], [INF])
    h = _grad(hg, hg.tanh, [0.5], [INF])
    assert np.isinf(t).all() and np.isnan(h).all()


def test_empty_batch_output_size():
    x, w = np.zeros((0, 4, 1, 4)), np.ones((4, 1, 2, 2))
    out = tF.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1)
    assert tuple(out.shape) == (0, 1, 0, 6)
    with pytest.raises(RuntimeError, match="conv_transpose2d: the output would be empty"):
        hF.conv_transpose2d(hg.tensor(x), hg.tensor(w), stride=2, padding=1)
    with pytest.raises(RuntimeError):  # torch too, for any batch but 0
        tF.conv_transpose2d(
            torch.zeros(1, 4, 1, 4, dtype=torch.float64), torch.tensor(w), stride=2, padding=1
        )


def test_conv_zero_in_channels():
    x, w, b = np.zeros((4, 0, 6)), np.zeros((1, 0, 1)), np.array([1.5])
    t = tF.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    h = hF.conv1d(hg.tensor(x), hg.tensor(w), hg.tensor(b))
    assert tuple(t.shape) == (4, 0, 6)
    assert h.shape == (4, 1, 6) and (h.numpy() == 1.5).all()  # the empty sum plus the bias


def test_nan_input_gradient():
    # torch's hardtanh gradient at NaN: 0 on its vectorised path, g on its scalar path
    many = _grad(torch, tF.hardtanh, [NAN] + [0.5] * 15)[0]
    one = _grad(torch, tF.hardtanh, NAN)
    assert many == 0 and one == 1
    assert _grad(hg, hF.hardtanh, [NAN] + [0.5] * 15)[0] == 0 and _grad(hg, hF.hardtanh, NAN) == 0


def test_torch_multiplies_by_mask():
    t = _grad(torch, torch.nan_to_num, [INF, 1.0], [INF, 1.0])
    h = _grad(hg, hg.nan_to_num, [INF, 1.0], [INF, 1.0])
    assert np.isnan(t[0]) and h[0] == 0 and t[1] == h[1] == 1


def test_limit_at_infinity():
    t = _grad(torch, lambda x: tF.soft_margin_loss(x, torch.ones(1, dtype=x.dtype)), [-INF])
    h = _grad(hg, lambda x: hF.soft_margin_loss(x, hg.ones(1, dtype=x.dtype)), [-INF])
    assert np.isnan(t).all() and np.isfinite(h).all()


def test_torch_overflows():
    t = _grad(torch, lambda x: x.norm(p=3, dim=1).sum(), [[3e20]], dtype=np.float32)
    h = _grad(hg, lambda x: x.norm(p=3, dim=1).sum(), [[3e20]], dtype=np.float32)
    assert np.isnan(t).all() and h[0, 0] == 1.0
    # second derivative of a norm at a zero vector: torch NaN, handgrad 0
    for lib in (torch, hg):
        x = lib.tensor(np.zeros(2), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (g,) = grad(x.norm(), [x], create_graph=True)
        (g2,) = grad(g.sum(), [x])
        if lib is torch:
            assert np.isnan(g2.numpy()).all()
        else:
            assert (g2.numpy() == 0).all()


def test_atan2_at_origin():
    t = _grad(torch, lambda y: torch.atan2(y, torch.zeros(1, dtype=y.dtype)), [0.0])
    h = _grad(hg, lambda y: hg.atan2(y, hg.zeros(1, dtype=y.dtype)), [0.0])
    assert t[0] == 0 and np.isnan(h[0])


def test_zero_gradient_ops_are_constants():
    t = _grad(torch, lambda x: x.sqrt().floor().sum(), [0.0, 4.0])
    assert np.isnan(t[0]) and t[1] == 0  # 0 (floor) times inf (sqrt at 0)
    x = hg.tensor([0.0, 4.0], requires_grad=True)
    assert not x.sqrt().floor().requires_grad  # a constant: no gradient at all


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


@pytest.mark.parametrize("name,alpha", [("elu", 1.0), ("celu", 1.0), ("selu", None)])
def test_kink_second_derivative_at_zero(name, alpha):
    # A kink convention (the fuzzer's class 'kink'): the second derivative at 0, between the
    # linear side (0) and the exponential side. torch takes 0, handgrad the exponential side.
    def second(lib, F):
        x = lib.tensor([0.0], dtype=lib.float64, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (g,) = grad(getattr(F, name)(x).sum(), [x], create_graph=True)
        (g2,) = grad(g.sum(), [x])
        return float(g2.detach().numpy()[0])

    assert second(torch, tF) == 0
    left = 1.0507009873554805 * 1.6732632423543772 if alpha is None else alpha
    assert second(hg, hF) == pytest.approx(left)


def test_expm1_gradient_from_its_output():
    x = [-256.0, -30.0]
    t = _grad(torch, lambda a: a.expm1().sum(), x)
    h = _grad(hg, lambda a: a.expm1().sum(), x)
    assert t[0] == 0 and abs(t[1] / math.exp(-30.0) - 1) > 1e-5  # torch's out + 1 cancels
    np.testing.assert_allclose(h, np.exp(x), rtol=1e-15)  # e^x


def test_softshrink_zero_sign():
    short, long = np.full(3, -0.5, np.float32), np.full(40, -0.5, np.float32)
    t_short = tF.softshrink(torch.tensor(short), 1.0).numpy()
    t_long = tF.softshrink(torch.tensor(long), 1.0).numpy()
    # torch: -0.0 on the scalar path (short tensors, the tail), +0.0 on the vectorised one
    assert np.signbit(t_short).all() and not np.signbit(t_long[0])
    for a in (short, long):
        assert np.signbit(hF.softshrink(hg.tensor(a), 1.0).numpy()).all()  # handgrad: -0.0
