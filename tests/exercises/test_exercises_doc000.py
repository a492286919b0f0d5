"""Problem set 000: each exercise's computed answer checked by a second, independent route
(NumPy or PyTorch instead of handgrad, a closed form against a simulation, or the reverse)."""

from __future__ import annotations

import math

import numpy as np
import torch

import handgrad as hg
import handgrad.exercises as ex
from handgrad.exercises import layers as L


def run(id, **params):
    return ex.run_one(id, **params)


def torch_support_width(layers, size):
    """Receptive field measured with PyTorch: the width of the non-zero input gradient of the
    centre output unit through all-ones convolutions (pooling windows probed as convolutions:
    max pooling would pass the gradient to one arg max only)."""
    x = torch.rand(1, 1, size, size, dtype=torch.float64) + 0.5
    x.requires_grad_(True)
    out = x
    for spec in L.parse_all(layers):
        k, s, d, p = spec["kernel"], spec["stride"], spec["dilation"], spec["padding"]
        out = torch.nn.functional.conv2d(
            out, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s, padding=p, dilation=d
        )
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    cols = np.nonzero(x.grad[0, 0].abs().sum(0).numpy())[0]
    return int(cols[-1] - cols[0] + 1)


def test_000_a1_scan_backprop():
    v = run("000-a1-scan-backprop", x=None, g=None, n=9, seed=3)
    g = np.array(v.computed["g"])
    x = np.array(v.details["x"])
    eps = 1e-6
    fd = np.array(
        [
            (g @ np.cumsum(x + eps * e) - g @ np.cumsum(x - eps * e)) / (2 * eps)
            for e in np.eye(len(x))
        ]
    )
    np.testing.assert_allclose(v.computed["dL/dx"], fd, atol=1e-8)
    assert v.verdict == "no claim"


def test_000_a2a_drawn_at_least_once():
    n = 50
    v = run("000-a2a-drawn-at-least-once", n=n, trials=500)
    sampler = hg.data.RandomSampler(
        range(n), replacement=True, num_samples=n, generator=hg.Generator().manual_seed(7)
    )
    drawn = [len(set(iter(sampler))) / n for _ in range(2000)]
    m, se = np.mean(drawn), np.std(drawn, ddof=1) / math.sqrt(len(drawn))
    assert abs(v.computed["probability"] - m) < 4 * se
    assert abs(v.computed["limit"] - (1 - (1 - 1e-8) ** 1e8)) < 1e-6


def test_000_a2b_coupon_collector():
    n = 30
    v = run("000-a2b-coupon-collector", n=n, trials=300)
    rng = np.random.default_rng(1)
    waits = []
    for _ in range(3000):
        seen, draws = set(), 0
        while len(seen) < n:
            seen.add(int(rng.integers(n)))
            draws += 1
        waits.append(draws / n)
    m, se = np.mean(waits), np.std(waits, ddof=1) / math.sqrt(len(waits))
    assert abs(v.computed["expected_epochs"] - m) < 4 * se
    euler = 0.5772156649015329
    assert abs(v.computed["expected_epochs"] - (math.log(n) + euler + 1 / (2 * n))) < 1e-3


def test_000_a3a_momentum_as_ewa():
    q, lr = 0.2, 0.3
    v = run("000-a3a-momentum-as-ewa", q=q, lr=lr)
    mu, lr_torch = v.computed["mu"], v.computed["pytorch_lr"]
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((40, 3))
    theta_t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta_t], lr=lr_torch, momentum=mu)
    theta_e, ewa = np.zeros(3), np.zeros(3)
    for g in grads:  # gradients that do not depend on theta: the two rules alone
        theta_t.grad = torch.tensor(g)
        opt.step()
        ewa = (1 - q) * ewa + q * g
        theta_e = theta_e - lr * ewa
    np.testing.assert_allclose(theta_t.detach().numpy(), theta_e, atol=1e-12)
    assert v.computed["max_trajectory_difference"] < 1e-12


def _debiased_weight_sums(q, steps):
    sums = []
    for t in range(1, steps + 1):
        qs = [q / (1 - (1 - q) ** s) for s in range(1, t + 1)]
        w = [qs[s] * np.prod([1 - qs[r] for r in range(s + 1, t)]) for s in range(t)]
        sums.append(sum(w))
    return np.array(sums)


def test_000_a3b1_debiased_ewa_unbiased():
    v = run("000-a3b1-debiased-ewa-unbiased", steps=12, trials=4000)
    np.testing.assert_allclose(
        v.computed["weights_sum"], _debiased_weight_sums(0.1, 12), atol=1e-12
    )
    assert np.all(np.abs(np.array(v.computed["simulated_mean"]) - 1.0) < 0.15)
    assert v.verdict == "agree"


def test_000_a3b2_bias_corrected_ewa():
    q = 0.3
    v = run("000-a3b2-bias-corrected-ewa", q=q, steps=10, trials=1000)
    g = np.random.default_rng(5).standard_normal(10)
    vhat, vt = 0.0, 0.0
    for t, gt in enumerate(g, 1):
        vhat = (1 - q) * vhat + q * gt
        qt = q / (1 - (1 - q) ** t)
        vt = (1 - qt) * vt + qt * gt
        assert abs(vhat / (1 - (1 - q) ** t) - vt) < 1e-12
    assert v.computed["coincides_with_v_t"] and v.verdict == "agree"


def test_000_a3b3_adam_ewa():
    beta1 = 0.8
    v = run("000-a3b3-adam-ewa", beta1=beta1)
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.0, betas=(beta1, 0.999))
    q, vt = 1 - beta1, np.zeros(2)
    for t, g in enumerate(np.random.default_rng(2).standard_normal((15, 2)), 1):
        p.grad = torch.tensor(g)
        opt.step()
        qt = q / (1 - (1 - q) ** t)
        vt = (1 - qt) * vt + qt * g
        np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy() / (1 - beta1**t), vt, atol=1e-12)
    assert v.computed["q"] == q and v.computed["max_difference_from_debiased_ewa"] < 1e-12


def _bilinear_shift(x, dy, dx):
    """out[i, j] = x(i - dy, j - dx) by explicit bilinear interpolation, 0 outside."""
    h, w = x.shape
    out = np.zeros_like(x)
    for i in range(h):
        for j in range(w):
            u, s = i - dy, j - dx
            i0, j0 = math.floor(u), math.floor(s)
            fu, fs = u - i0, s - j0
            for di, wi in ((0, 1 - fu), (1, fu)):
                for dj, wj in ((0, 1 - fs), (1, fs)):
                    a, b = i0 + di, j0 + dj
                    if 0 <= a < h and 0 <= b < w:
                        out[i, j] += wi * wj * x[a, b]
    return out


def _correlate(x, k):
    kh, kw = k.shape
    return np.array(
        [
            [np.sum(x[i : i + kh, j : j + kw] * k) for j in range(x.shape[1] - kw + 1)]
            for i in range(x.shape[0] - kh + 1)
        ]
    )


def test_000_a4a_subpixel_equivariance():
    dy, dx = 0.7, 1.25
    v = run("000-a4a-subpixel-equivariance", dy=dy, dx=dx, size=14, seed=4)
    rng = np.random.default_rng(4)
    x, k = rng.standard_normal((14, 14)), rng.standard_normal((3, 3))
    a = _bilinear_shift(_correlate(x, k), dy, dx)
    b = _correlate(_bilinear_shift(x, dy, dx), k)
    (r0, r1), (c0, c1) = v.computed["interior"]
    assert np.abs(a - b)[r0 : r1 + 1, c0 : c1 + 1].max() < 1e-12
    assert abs(np.abs(a - b).max() - v.computed["max_border_difference"]) < 1e-9
    assert v.verdict == "agree"


def test_000_a4b_receptive_field():
    for layers in (
        [[5, 1, 1], [3, 1, 2], [3, 2, 1]],
        [[3, 2, 1], [5, 1, 1], [3, 1, 3]],
        [{"kind": "maxpool", "kernel": 2}, [3, 1, 1], [3, 2, 2]],
    ):
        v = run("000-a4b-receptive-field", layers=layers)
        assert v.computed["receptive_field"] == torch_support_width(layers, L.min_size(layers))
        assert v.computed["per_layer"] == L.textbook_rf(layers)
