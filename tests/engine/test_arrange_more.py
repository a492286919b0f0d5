"""The second batch of rearranging, scattering, scanning and counting functions against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)


def _x(*shape):
    return R.standard_normal(shape)


CASES = [
    ("movedim", lambda L, x: L.movedim(x, (0, 1), (2, 0)), [_x(2, 3, 4)]),
    ("swapaxes", lambda L, x: L.swapaxes(x, 0, 2), [_x(2, 3, 4)]),
    ("select", lambda L, x: L.select(x, 1, -1), [_x(2, 3, 4)]),
    ("hstack", lambda L, a, b: L.hstack([a, b]), [_x(2, 3), _x(2, 1)]),
    ("hstack-1d", lambda L, a, b: L.hstack([a, b]), [_x(3), _x(2)]),
    ("vstack", lambda L, a, b: L.vstack([a, b]), [_x(3), _x(2, 3)]),
    ("dstack", lambda L, a, b: L.dstack([a, b]), [_x(2, 3), _x(2, 3)]),
    ("column_stack", lambda L, a, b: L.column_stack([a, b]), [_x(3), _x(3, 2)]),
    ("rot90", lambda L, x: L.rot90(x, 1, (0, 2)), [_x(2, 3, 4)]),
    ("rot90-3", lambda L, x: L.rot90(x, -1), [_x(2, 3)]),
    ("rot90-2", lambda L, x: L.rot90(x, 2), [_x(2, 3)]),
    ("fliplr", lambda L, x: L.fliplr(x), [_x(2, 3)]),
    ("flipud", lambda L, x: L.flipud(x), [_x(2, 3)]),
    (
        "tensor_split",
        lambda L, x: L.tensor_split(x, 3, 1)[1] * 2 + L.tensor_split(x, 3, 1)[2],
        [_x(2, 7)],
    ),
    ("tensor_split-idx", lambda L, x: L.tensor_split(x, [1, 4], 0)[1], [_x(6, 2)]),
    (
        "broadcast_tensors",
        lambda L, a, b: L.broadcast_tensors(a, b)[0] * L.broadcast_tensors(a, b)[1],
        [_x(2, 1), _x(3)],
    ),
    ("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [_x(2, 2), _x(3), _x(1, 2)]),
    ("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [_x(2), _x(3)]),
    (
        "masked_select",
        lambda L, x: L.masked_select(x, L.tensor(np.array([True, False, True]))),
        [_x(2, 3)],
    ),
    (
        "index_add",
        lambda L, x, s: L.index_add(x, 1, L.tensor([0, 2, 0]), s, alpha=0.5),
        [_x(2, 3), _x(2, 3)],
    ),
    (
        "scatter",
        lambda L, x, s: L.scatter(x, 1, L.tensor([[2, 0], [1, 2]]), s),
        [_x(2, 3), _x(2, 2)],
    ),
    ("logcumsumexp", lambda L, x: L.logcumsumexp(x * 20, 1), [_x(2, 4)]),
    ("cummax", lambda L, x: L.cummax(x, 1).values, [_x(3, 5)]),
    ("cummin", lambda L, x: L.cummin(x, 0).values, [_x(5, 3)]),
    ("var_mean", lambda L, x: L.var_mean(x, 1)[0] * L.var_mean(x, 1)[1], [_x(3, 4)]),
    ("std_mean", lambda L, x: L.std_mean(x, correction=0)[0] + L.std_mean(x)[1], [_x(3, 4)]),
]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_to_second_order(name, fn, arrays):
    compare_to_second_order(name, *run(fn, arrays))


def test_cummax_indices_as_torch_with_ties():
    a = np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0], [0.0, -1.0, 0.0, -2.0, 0.0, 1.0]])
    for f in ("cummax", "cummin"):
        h = getattr(hg, f)(hg.tensor(a), 1)
        t = getattr(torch, f)(torch.tensor(a), 1)
        np.testing.assert_array_equal(h.indices.numpy(), t.indices.numpy())
        np.testing.assert_array_equal(h.values.numpy(), t.values.numpy())


def test_counting_and_searching_as_torch():
    a = np.array([[0, 2, 2], [1, 0, 3]])
    np.testing.assert_array_equal(
        hg.count_nonzero(hg.tensor(a), 1).numpy(), torch.count_nonzero(torch.tensor(a), 1).numpy()
    )
    np.testing.assert_array_equal(
        hg.argwhere(hg.tensor(a)).numpy(), torch.argwhere(torch.tensor(a)).numpy()
    )
    np.testing.assert_array_equal(
        hg.isin(hg.tensor(a), hg.tensor([2, 3])).numpy(),
        torch.isin(torch.tensor(a), torch.tensor([2, 3])).numpy(),
    )
    v = np.array([0, 1, 1, 4])
    np.testing.assert_array_equal(
        hg.bincount(hg.tensor(v), minlength=6).numpy(),
        torch.bincount(torch.tensor(v), minlength=6).numpy(),
    )
    w = np.array([0.5, 1.0, 2.0, 0.25])
    np.testing.assert_allclose(
        hg.bincount(hg.tensor(v), hg.tensor(w)).numpy(),
        torch.bincount(torch.tensor(v), torch.tensor(w)).numpy(),
    )
    seq, vals = np.array([1.0, 3.0, 5.0, 7.0]), np.array([[3.0, 6.0], [9.0, 0.0]])
    for right in (False, True):
        np.testing.assert_array_equal(
            hg.searchsorted(hg.tensor(seq), hg.tensor(vals), right=right).numpy(),
            torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right).numpy(),
        )
        np.testing.assert_array_equal(
            hg.bucketize(hg.tensor(vals), hg.tensor(seq), right=right).numpy(),
            torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right).numpy(),
        )
    seq2 = np.sort(R.standard_normal((2, 5)), 1)
    vals2 = R.standard_normal((2, 3))
    np.testing.assert_array_equal(
        hg.searchsorted(hg.tensor(seq2), hg.tensor(vals2)).numpy(),
        torch.searchsorted(torch.tensor(seq2), torch.tensor(vals2)).numpy(),
    )
    for f in ("tril_indices", "triu_indices"):
        np.testing.assert_array_equal(
            getattr(hg, f)(3, 4, 1).numpy(), getattr(torch, f)(3, 4, 1).numpy()
        )
    assert hg.numel(hg.ones(2, 3)) == 6 and hg.is_tensor(hg.ones(1)) and not hg.is_tensor(1.0)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: hg.select(hg.ones(2, 3), 1, 3),
            IndexError,
            r"select: index 3 is out of range for dim 1 of size 3",
        ),
        (
            lambda: hg.movedim(hg.ones(2, 3), (0, 1), 0),
            RuntimeError,
            r"movedim: source \(0, 1\) and destination \(0,\) differ in length",
        ),
        (lambda: hg.rot90(hg.ones(2, 3), 1, (0, 0)), RuntimeError, r"rot90: dims must differ"),
        (
            lambda: hg.masked_select(hg.ones(2), hg.ones(2)),
            RuntimeError,
            r"masked_select: expected a boolean mask",
        ),
        (
            lambda: hg.index_add(hg.ones(2, 3), 1, hg.tensor([0, 1]), hg.ones(2, 3)),
            RuntimeError,
            r"index_add: source \(2, 3\) must match input \(2, 3\) with len\(index\) = 2 at dim 1",
        ),
        (
            lambda: hg.bincount(hg.tensor([-1, 2])),
            RuntimeError,
            r"bincount: expected a 1-D tensor of non-negative ints",
        ),
        (
            lambda: hg.tensor_split(hg.ones(3), 0),
            RuntimeError,
            r"tensor_split: number of sections must be >= 1",
        ),
        (
            lambda: hg.block_diag(hg.ones(1, 1, 1)),
            RuntimeError,
            r"block_diag: expected tensors of at most 2 dims",
        ),
    ],
)
def test_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_scatter_with_a_repeated_index_keeps_the_last_write_as_torch():
    x = np.zeros((2, 4))
    idx = np.array([[1, 1, 3], [0, 2, 0]])
    src = np.arange(6.0).reshape(2, 3) + 1
    h = hg.scatter(hg.tensor(x), 1, hg.tensor(idx), hg.tensor(src, requires_grad=True))
    t = torch.scatter(torch.tensor(x), 1, torch.tensor(idx), torch.tensor(src))
    np.testing.assert_array_equal(h.detach().numpy(), t.numpy())
