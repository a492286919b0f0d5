"""The Tensor methods outside the core (composed/methods.py): the boolean predicates, over
the dtypes torch accepts, and unflatten, as functions and as methods, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

VALUES = {
    "float32": np.array([1.0, -np.inf, np.inf, np.nan, -0.0, 0.0, -2.5], np.float32),
    "float64": np.array([[np.inf, -1.0], [np.nan, -0.0]]),
    "int64": np.array([3, -2, 0], np.int64),
    "bool": np.array([True, False]),
}


@pytest.mark.parametrize("name", ["isinf", "isposinf", "isneginf", "isreal", "signbit", "isnan"])
@pytest.mark.parametrize("dtype", list(VALUES))
def test_predicate_as_torch(name, dtype):
    a = VALUES[dtype]
    want = getattr(torch, name)(torch.tensor(a)).numpy()
    for got in (getattr(hg, name)(hg.tensor(a)), getattr(hg.tensor(a), name)()):
        assert got.dtype == hg.bool
        np.testing.assert_array_equal(got.numpy(), want)


def test_complex_signbit_is_an_error_as_torch():
    with pytest.raises(RuntimeError):
        torch.signbit(torch.tensor([1j]))
    with pytest.raises(RuntimeError, match="signbit: not supported"):
        hg.signbit(hg.tensor(np.array([1j])))


def test_logical_xor_and_equal_as_torch():
    a, b = np.array([0.0, 1.0, 2.0, 0.0]), np.array([0.0, 0.0, 3.0, 5.0])
    np.testing.assert_array_equal(
        hg.logical_xor(hg.tensor(a), hg.tensor(b)).numpy(),
        torch.logical_xor(torch.tensor(a), torch.tensor(b)).numpy(),
    )
    assert hg.tensor(a).logical_xor(hg.tensor(b)).tolist() == [False, True, False, True]
    for x, y in [(a, a), (a, b), (a, a[:3]), (np.array([np.nan]), np.array([np.nan]))]:
        assert hg.equal(hg.tensor(x), hg.tensor(y)) is torch.equal(torch.tensor(x), torch.tensor(y))
        assert hg.tensor(x).equal(hg.tensor(y)) is torch.tensor(x).equal(torch.tensor(y))


@pytest.mark.parametrize("dim, sizes", [(1, (2, -1)), (-1, (3, 2)), (0, (1, 2)), (1, (6,))])
def test_unflatten_as_torch(dim, sizes):
    a = np.arange(12.0).reshape(2, 6)
    want = torch.tensor(a).unflatten(dim, sizes)
    for got in (hg.tensor(a).unflatten(dim, sizes), hg.unflatten(hg.tensor(a), dim, sizes)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match=r"unflatten: sizes \(4, 2\) do not multiply to the"):
        hg.tensor(a).unflatten(1, (4, 2))


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_reduce_values_and_gradients_as_torch(reduce, include_self, dim):
    rng = np.random.default_rng(4)
    base = rng.integers(-2, 3, (4, 3)).astype(np.float64)  # small integers: ties happen
    src = rng.integers(-2, 3, (5, 3) if dim == 0 else (4, 5)).astype(np.float64)
    index = rng.integers(0, 3, src.shape)  # row / column 3 of input is never written along dim 0
    results = []
    for lib in (hg, torch):
        x = lib.tensor(base, requires_grad=True)
        s = lib.tensor(src, requires_grad=True)
        out = x.scatter_reduce(dim, lib.tensor(index), s, reduce, include_self=include_self)
        (out * lib.tensor(np.arange(12.0).reshape(4, 3))).sum().backward()
        results.append([out.detach().numpy(), x.grad.numpy(), s.grad.numpy()])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_scatter_reduce_refuses_prod_and_integer_inputs():
    with pytest.raises(RuntimeError, match=r"scatter_reduce: reduce must be .*'prod' is not"):
        hg.zeros(3).scatter_reduce(0, hg.tensor([0]), hg.ones(1), "prod")
    with pytest.raises(RuntimeError, match="scatter_reduce: a floating-point input is needed"):
        hg.scatter_reduce(hg.zeros(3, dtype=hg.int64), 0, hg.tensor([0]), hg.ones(1), "sum")
