"""The boolean predicates outside the core (composed/predicates.py) against torch's, over the
dtypes torch accepts, as functions and as Tensor methods."""

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
