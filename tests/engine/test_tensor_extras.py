"""The Tensor conveniences of tensor_methods/ (new_*, unfold, sum_to_size, mv, ...) against
torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)

CASES = [
    ("unfold", lambda L, x: x.unfold(1, 3, 2), [R.standard_normal((2, 8, 3))]),
    ("unfold-last", lambda L, x: x.unfold(-1, 2, 1) ** 2, [R.standard_normal((3, 4))]),
    ("sum_to_size", lambda L, x: x.sum_to_size(1, 3) ** 2, [R.standard_normal((2, 4, 3))]),
    ("mv", lambda L, a, v: a.mv(v), [R.standard_normal((3, 4)), R.standard_normal(4)]),
    (
        "addmm",
        lambda L, c, a, b: c.addmm(a, b, beta=0.5),
        [R.standard_normal((2, 2)), R.standard_normal((2, 3)), R.standard_normal((3, 2))],
    ),
    ("t", lambda L, x: x.t() * 2, [R.standard_normal((2, 3))]),
    (
        "reshape_as",
        lambda L, x: x.reshape_as(L.zeros(3, 2, dtype=x.dtype)),
        [R.standard_normal((2, 3))],
    ),
    ("true_divide", lambda L, a, b: a.true_divide(b), [R.standard_normal(3), R.uniform(1, 2, 3)]),
    ("remainder", lambda L, a: a.remainder(0.7), [R.standard_normal(5)]),
    (
        "index_fill",
        lambda L, x: x.index_fill(1, L.tensor([0, 2]), -1.0) * x,
        [R.standard_normal((2, 3))],
    ),
]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_to_second_order(name, fn, arrays):
    compare_to_second_order(name, *run(fn, arrays))


def test_queries_and_constructors_as_torch():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    h, t = hg.tensor(a), torch.tensor(a)
    assert h.stride() == t.stride() and h.stride(1) == t.stride(1)
    assert h.permute(2, 0, 1).is_contiguous() == t.permute(2, 0, 1).is_contiguous()
    assert h.element_size() == t.element_size() and h.nelement() == t.nelement()
    assert h.ndimension() == t.ndimension()
    for name, args in (
        ("new_zeros", (2, 3)),
        ("new_ones", ((2,),)),
        ("new_full", ((2,), 1.5)),
        ("new_tensor", ([1, 2],)),
    ):
        hn, tn = getattr(h, name)(*args), getattr(t, name)(*args)
        assert hn.shape == tuple(tn.shape) and hn.dtype == np.float32
        np.testing.assert_array_equal(hn.numpy(), tn.numpy())
    assert h.half().dtype == np.float16 and h.byte().dtype == np.uint8
    assert 5.0 in h and 99.0 not in h


def test_integer_and_bitwise_operators_as_torch():
    a, b = np.array([7, -7, 5, 0]), np.array([2, 2, -3, 4])
    ha, hb, ta, tb = hg.tensor(a), hg.tensor(b), torch.tensor(a), torch.tensor(b)
    for f in (
        lambda x, y: x // y,
        lambda x, y: x % y,
        lambda x, y: x.bitwise_and(y),
        lambda x, y: x.bitwise_or(y),
        lambda x, y: x ^ y,
        lambda x, y: x.bitwise_not(),
        lambda x, y: x.floor_divide(y),
    ):
        np.testing.assert_array_equal(f(ha, hb).numpy(), f(ta, tb).numpy())
    x = np.array([5.5, -5.5, 2.0])
    np.testing.assert_allclose((hg.tensor(x) // 2).numpy(), (torch.tensor(x) // 2).numpy())
    np.testing.assert_allclose((hg.tensor(x) % 2).numpy(), (torch.tensor(x) % 2).numpy())
    np.testing.assert_array_equal(
        hg.tensor([True, False]).logical_xor(hg.tensor([True, True])).numpy(),
        torch.tensor([True, False]).logical_xor(torch.tensor([True, True])).numpy(),
    )


def test_in_place_updates_as_torch_and_version_counted():
    x = R.uniform(0.5, 2.0, 4)
    for name, args in (
        ("exp_", ()),
        ("sqrt_", ()),
        ("neg_", ()),
        ("abs_", ()),
        ("square_", ()),
        ("floor_", ()),
        ("ceil_", ()),
        ("round_", ()),
        ("pow_", (2.0,)),
        ("clip_", (0.7, 1.5)),
        ("lerp_", (np.zeros(4), 0.25)),
    ):
        h, t = hg.tensor(x.copy()), torch.tensor(x.copy())
        v = h._version[0]
        getattr(h, name)(*[hg.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        getattr(t, name)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        np.testing.assert_allclose(h.numpy(), t.numpy(), err_msg=name)
        assert h._version[0] == v + 1
    h = hg.tensor(x.copy())
    h.masked_fill_(hg.tensor(x > 1), 0.0)
    np.testing.assert_array_equal(h.numpy(), np.where(x > 1, 0.0, x))
    with pytest.raises(RuntimeError, match=r"exp_: a leaf tensor that requires grad"):
        hg.tensor(x, requires_grad=True).exp_()


def test_errors():
    with pytest.raises(RuntimeError, match=r"unfold: size 5 and step 1 do not fit dim 0 of size 4"):
        hg.ones(4).unfold(0, 5, 1)
    with pytest.raises(RuntimeError, match=r"sum_to_size: size \(3,\) is not expandable"):
        hg.ones(2, 4).sum_to_size(3)
    with pytest.raises(RuntimeError, match=r"bitwise_and: needs integer or boolean tensors"):
        hg.ones(2).bitwise_and(hg.ones(2))
    with pytest.raises(RuntimeError, match=r"mv: expected a matrix and a vector"):
        hg.ones(2, 2).mv(hg.ones(2, 2))
