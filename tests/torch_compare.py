"""Run one function in handgrad and in torch on the same float64 inputs and compare values,
gradients and second derivatives (a random direction contracted with the gradient, then
differentiated again). Shared by the tests of composed (non-primitive) functions."""

from __future__ import annotations

import numpy as np
import torch

import handgrad as hg


def run(fn, arrays):
    hs = [hg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    return fn(hg, *hs), fn(torch, *ts), hs, ts


def compare_to_second_order(name, out_h, out_t, hs, ts):
    np.testing.assert_allclose(
        out_h.detach().numpy(),
        out_t.detach().numpy(),
        rtol=1e-10,
        atol=1e-12,
        err_msg=f"{name} value",
    )
    r = np.random.default_rng(1)
    g = r.standard_normal(tuple(out_t.shape))
    gh = hg.grad(out_h, hs, hg.tensor(g), create_graph=True, allow_unused=True)
    gt = torch.autograd.grad(out_t, ts, torch.tensor(g), create_graph=True, allow_unused=True)
    for a, b in zip(gh, gt):
        b = np.zeros(1) if b is None else b.detach().numpy()
        a = np.zeros(1) if a is None else a.detach().numpy()
        np.testing.assert_allclose(
            a + 0 * b, b + 0 * a, rtol=1e-9, atol=1e-11, err_msg=f"{name} gradient"
        )
    vs = [r.standard_normal(t.shape) for t in ts]
    sh = sum((a * hg.tensor(v)).sum() for a, v in zip(gh, vs) if a is not None)
    st_ = sum((b * torch.tensor(v)).sum() for b, v in zip(gt, vs) if b is not None)
    hh = (
        hg.grad(sh, hs, allow_unused=True)
        if getattr(sh, "requires_grad", False)
        else [None] * len(hs)
    )
    tt = torch.autograd.grad(st_, ts, allow_unused=True) if st_.requires_grad else [None] * len(ts)
    for a, b in zip(hh, tt):
        a = np.zeros(1) if a is None else a.numpy()
        b = np.zeros(1) if b is None else b.numpy(force=True)
        np.testing.assert_allclose(
            a + 0 * b, b + 0 * a, rtol=1e-8, atol=1e-10, err_msg=f"{name} second derivative"
        )
