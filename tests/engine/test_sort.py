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


def _check_ties(h_out, t_out, h, t, g):
    """Indices equal to torch's, and so the gradient (it goes to the index returned)."""
    np.testing.assert_array_equal(h_out.indices.numpy(), t_out.indices.numpy())
    h_out.values.backward(hg.tensor(g))
    t_out.values.backward(torch.tensor(g))
    np.testing.assert_array_equal(h.grad.numpy(), t.grad.numpy())


def test_kthvalue_among_zeros_of_both_signs_as_torch():
    # fuzz seed 64544574: torch's quickselect picks the first 0 of [0, -0, 0, -0], not the second
    a = np.array(
        [
            [[0.0, -0.0, 0.4144, -0.3164], [0.0276, -0.4023, 0.3706, -0.0]],
            [[0.0, -0.0, 0.0, -0.0], [0.0, -0.0, 0.586, -0.0]],
        ]
    )
    h, t = _both(a)
    g = np.array([[[0.3], [-0.8]], [[0.58], [-0.82]]])
    _check_ties(h.kthvalue(2, 2, True), t.kthvalue(2, 2, True), h, t, g)


def test_topk_among_ties_and_infinities_as_torch():
    # fuzz seed 64547113: nth_element then sort (not stable) decide which 0 and which inf come first
    a = np.array([0.0, 0.0, 2.0, np.inf, np.nan, np.inf, 0.0, 0.0])
    h, t = _both(a)
    g = np.array([-1.0, -0.09, -0.6, 0.4, 0.25, -0.25])
    _check_ties(h.topk(6, largest=False), t.topk(6, largest=False), h, t, g)


@st.composite
def tied_array(draw):
    n = draw(st.sampled_from([1, 2, 3, 5, 8, 17, 40, 130]))
    rows = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    a = r.choice(np.array([-1.0, -0.0, 0.0, 2.0, np.inf, np.nan]), size=(rows, n))
    return a, seed


@settings(max_examples=60, deadline=None)
@given(tied_array(), st.booleans(), st.booleans(), st.data())
def test_topk_and_kthvalue_pick_torch_index_among_ties(problem, largest, sorted_, data):
    # topk with k small against n takes torch's partial_sort path (64 k <= n), else nth_element;
    # sorted=False keeps nth_element's order
    a, seed = problem
    n = a.shape[1]
    k = data.draw(st.integers(0, n))
    g = np.random.default_rng(seed).standard_normal((a.shape[0], k))
    h, t = _both(a)
    _check_ties(h.topk(k, 1, largest, sorted_), t.topk(k, 1, largest, sorted_), h, t, g)
    k = data.draw(st.integers(1, n))
    h, t = _both(a)
    g = np.random.default_rng(seed + 1).standard_normal(a.shape[0])
    _check_ties(h.kthvalue(k, 1), t.kthvalue(k, 1), h, t, g)


def test_descending_sort_puts_nan_above_inf_and_handles_the_lowest_int():
    for a in (np.array([np.inf, np.nan, -np.inf, np.nan]), np.array([-(2**63), 0, 5, -(2**63)])):
        h = hg.sort(hg.tensor(a), descending=True)
        t = torch.sort(torch.tensor(a), descending=True, stable=True)
        np.testing.assert_array_equal(h.indices.numpy(), t.indices.numpy())
