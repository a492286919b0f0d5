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
