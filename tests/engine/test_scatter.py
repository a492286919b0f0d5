"""getitem's backward scatter-add (``index_accumulate`` through ops/_scatter.py): an index along
one axis that never decreases is added by runs, with ``np.add.at``'s bits; anything else is
``np.add.at`` itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad.ops import _scatter


def _cases(seed: int, count: int):
    r = np.random.default_rng(seed)
    for _ in range(count):
        nd = int(r.integers(1, 4))
        shape = tuple(int(v) for v in r.integers(1, 6, nd))
        axis = int(r.integers(0, nd))
        n = shape[axis]
        kind = r.random()
        if kind < 0.3:  # sorted, negative indices among them
            idx = np.sort(r.integers(-n, n, int(r.integers(1, 12))))
        elif kind < 0.5:  # unsorted: np.add.at's
            idx = r.integers(-n, n, int(r.integers(1, 12)))
        elif kind < 0.7:  # sorted, non-negative
            idx = np.sort(r.integers(0, n, int(r.integers(1, 12))))
        else:  # runs of equal length (nearest upsampling): slices
            idx = np.repeat(np.arange(n), int(r.integers(1, 4)))
        g = r.standard_normal(shape[:axis] + (idx.size,) + shape[axis + 1 :]).astype(np.float32)
        g.flat[int(r.integers(0, g.size))] = -0.0
        if r.random() < 0.3:
            g.flat[int(r.integers(0, g.size))] = np.nan
        yield shape, (slice(None),) * axis + (idx,), g


def test_add_at_has_np_add_ats_bits_and_errors():
    """3,000 random indices along one axis (sorted or not, negative, runs of equal length),
    gradients with -0.0 and NaN: the bits of np.add.at; runs longer than _MAX_RUN and an index
    out of range go to np.add.at (its IndexError)."""
    for shape, index, g in _cases(0, 3000):
        want = np.zeros(shape, np.float32)
        np.add.at(want, index, g)
        got = np.zeros(shape, np.float32)
        _scatter.add_at(got, index, g)
        assert np.array_equal(got.view(np.int32), want.view(np.int32)), (shape, index)
    with pytest.raises(IndexError):
        _scatter.add_at(np.zeros((2, 3)), (slice(None), np.array([0, 3])), np.ones((2, 2)))
    long_run = np.zeros(4)
    _scatter.add_at(long_run, (np.zeros(20, np.int64),), np.arange(20.0))
    assert long_run[0] == sum(range(20)) and not long_run[1:].any()


def test_nearest_upsampling_gradient_as_torch():
    """interpolate's nearest taps scatter by runs: the gradient is torch's (torch sums a pixel's
    six contributions in another order: an ulp apart at most)."""
    r = np.random.default_rng(5)
    x = r.standard_normal((2, 3, 5, 4)).astype(np.float32)
    g = r.standard_normal((2, 3, 10, 12)).astype(np.float32)
    grads = []
    for lib in (hg, torch):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.interpolate(t, scale_factor=(2, 3), mode="nearest").backward(
            lib.tensor(g)
        )
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)
