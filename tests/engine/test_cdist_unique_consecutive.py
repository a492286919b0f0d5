"""torch.cdist, torch.pdist and torch.unique_consecutive against torch: values, gradients (0 at
equal rows), shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

R = np.random.default_rng(11)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf")])
def test_cdist_matches_torch_with_equal_rows(p):
    a, b = R.standard_normal((2, 4, 3)), R.standard_normal((1, 5, 3))  # batch dims broadcast
    b[0, 1] = a[0, 2]  # a zero distance: gradient 0 in both
    grads = []
    for lib in (hg, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        d = lib.cdist(x, y, p=p)
        (d * lib.tensor(np.arange(40.0).reshape(2, 4, 5))).sum().backward()
        grads.append([d.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    for h, t in zip(*grads):
        np.testing.assert_allclose(h, t, rtol=1e-12, atol=1e-14)


def test_pdist_matches_torch():
    x = R.standard_normal((5, 3))
    x[3] = x[1]
    runs = []
    for lib in (hg, torch):
        t = lib.tensor(x, requires_grad=True)
        d = lib.pdist(t)
        d.sum().backward()
        runs.append([d.detach().numpy(), t.grad.numpy()])
    for h, t in zip(*runs):
        np.testing.assert_allclose(h, t, rtol=1e-12, atol=1e-14)


def test_cdist_and_pdist_errors():
    with pytest.raises(RuntimeError, match=r"cdist: x1 \(2, 3\) and x2 \(2, 4\)"):
        hg.cdist(hg.ones(2, 3), hg.ones(2, 4))
    with pytest.raises(RuntimeError, match="pdist: expected a 2-D input"):
        hg.pdist(hg.ones(3))


@pytest.mark.parametrize(
    "x,dim",
    [
        ([1, 1, 2, 2, 3, 1], None),
        ([], None),
        ([[1, 2], [1, 2], [3, 4], [1, 2]], 0),
        ([[1, 2], [1, 2], [3, 4], [1, 2]], 1),
        ([[1, 1], [2, 2]], None),
        ([5.0], None),
    ],
)
def test_unique_consecutive_matches_torch(x, dim):
    t = torch.unique_consecutive(torch.tensor(x), return_inverse=True, return_counts=True, dim=dim)
    h = hg.unique_consecutive(hg.tensor(x), return_inverse=True, return_counts=True, dim=dim)
    for a, b in zip(h, t):
        assert a.tolist() == b.tolist()
    assert hg.unique_consecutive(hg.tensor(x), dim=dim).tolist() == t[0].tolist()


def test_unique_consecutive_names_a_dim_out_of_range():
    with pytest.raises(IndexError, match="unique_consecutive: dim 2 is out of range"):
        hg.unique_consecutive(hg.ones(2, 3), dim=2)
