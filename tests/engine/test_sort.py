"""sort, argsort, topk, kthvalue and median against torch: values, indices and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import handgrad as hg

torch.set_num_threads(1)


@st.composite
def distinct_array(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    seed = draw(st.integers(0, 2**32 - 1))
    n = int(np.prod(shape))
    a = np.random.default_rng(seed).permutation(n).astype(np.float64).reshape(shape) * 0.5 - 1
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return a, dim, seed


def _both(a):
    return hg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check(h_out, t_out, h, t, seed):
    np.testing.assert_array_equal(h_out.values.detach().numpy(), t_out.values.detach().numpy())
    np.testing.assert_array_equal(h_out.indices.numpy(), t_out.indices.numpy())
    g = np.random.default_rng(seed).standard_normal(tuple(t_out.values.shape))
    h_out.values.backward(hg.tensor(g))
    t_out.values.backward(torch.tensor(g))
    np.testing.assert_array_equal(h.grad.numpy(), t.grad.numpy())


@settings(max_examples=40, deadline=None)
@given(distinct_array(), st.booleans())
def test_sort_as_torch(problem, descending):
    a, dim, seed = problem
    h, t = _both(a)
    _check(h.sort(dim, descending), t.sort(dim, descending), h, t, seed)
    np.testing.assert_array_equal(
        hg.argsort(hg.tensor(a), dim, descending).numpy(),
        torch.argsort(torch.tensor(a), dim, descending).numpy(),
    )


@settings(max_examples=40, deadline=None)
@given(distinct_array(), st.booleans(), st.data())
def test_topk_as_torch(problem, largest, data):
    a, dim, seed = problem
    k = data.draw(st.integers(0, a.shape[dim]))
    h, t = _both(a)
    _check(h.topk(k, dim, largest), t.topk(k, dim, largest), h, t, seed)


@settings(max_examples=40, deadline=None)
@given(distinct_array(), st.booleans(), st.data())
def test_kthvalue_and_median_as_torch(problem, keepdim, data):
    a, dim, seed = problem
    k = data.draw(st.integers(1, a.shape[dim]))
    h, t = _both(a)
    _check(h.kthvalue(k, dim, keepdim), t.kthvalue(k, dim, keepdim), h, t, seed)
    h, t = _both(a)
    _check(h.median(dim, keepdim), t.median(dim, keepdim), h, t, seed)
    h, t = _both(a)
    hm, tm = h.median(), t.median()
    assert hm.item() == tm.item()
    hm.backward()
    tm.backward()
    np.testing.assert_array_equal(h.grad.numpy(), t.grad.numpy())


def test_ties_and_nan_order_as_torch_stable_sort():
    a = np.array([2.0, np.nan, 1.0, 2.0, -np.inf, 1.0, np.inf])
    for descending in (False, True):
        h = hg.sort(hg.tensor(a), descending=descending)
        t = torch.sort(torch.tensor(a), descending=descending, stable=True)
        np.testing.assert_array_equal(h.indices.numpy(), t.indices.numpy())
    b = np.array([[1, 3, 3], [2, 2, 0]])
    np.testing.assert_array_equal(
        hg.sort(hg.tensor(b), descending=True).indices.numpy(),
        torch.sort(torch.tensor(b), descending=True, stable=True).indices.numpy(),
    )


def test_topk_error_names_k_and_the_size():
    with pytest.raises(RuntimeError, match=r"topk: k=4 is out of range for dimension -1 of size 3"):
        hg.ones(2, 3).topk(4)
    with pytest.raises(RuntimeError, match=r"kthvalue: k=0 is out of range"):
        hg.ones(2, 3).kthvalue(0)
    with pytest.raises(IndexError, match=r"sort: dim 2 is out of range"):
        hg.ones(2, 3).sort(2)
