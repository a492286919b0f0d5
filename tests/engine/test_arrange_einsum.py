"""tril/triu/diag/diagonal/trace/outer/roll/tile/repeat_interleave/take_along_dim/diff/cross/
kron/meshgrid, einsum/tensordot/addmm/baddbmm and the linalg namespace against torch: values,
gradients and second derivatives (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import handgrad as hg

from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)


def _x(*shape):
    return R.standard_normal(shape)


CASES = [
    ("tril", lambda L, x: L.tril(x, -1), [_x(2, 3, 4)]),
    ("triu", lambda L, x: L.triu(x, 1), [_x(4, 3)]),
    ("diagonal", lambda L, x: L.diagonal(x, 1, 0, 2), [_x(3, 2, 4)]),
    ("diag-vector", lambda L, x: L.diag(x, -2), [_x(3)]),
    ("diag-vector+", lambda L, x: L.diag(x, 1), [_x(3)]),
    ("diag-matrix", lambda L, x: L.diag(x, 1), [_x(3, 4)]),
    ("trace", lambda L, x: L.trace(x) * L.trace(x), [_x(3, 3)]),
    ("outer", lambda L, a, b: L.outer(a, b), [_x(3), _x(4)]),
    ("roll", lambda L, x: L.roll(x, (1, -2), (0, 2)), [_x(3, 2, 4)]),
    ("roll-flat", lambda L, x: L.roll(x, 3), [_x(2, 4)]),
    ("tile", lambda L, x: L.tile(x, (2, 1, 3)), [_x(2, 3)]),
    ("repeat_interleave", lambda L, x: L.repeat_interleave(x, 2, dim=1), [_x(2, 3)]),
    ("repeat_interleave-flat", lambda L, x: L.repeat_interleave(x, 3), [_x(2, 2)]),
    ("take_along_dim", lambda L, x: L.take_along_dim(x, L.tensor([[0, 2], [1, 1]]), 1), [_x(2, 3)]),
    ("diff", lambda L, x: L.diff(x, 2, 0, append=x[:1] * 2), [_x(4, 3)]),
    ("cross", lambda L, a, b: L.cross(a, b, dim=1), [_x(2, 3), _x(2, 3)]),
    ("kron", lambda L, a, b: L.kron(a, b), [_x(2, 3), _x(3, 2)]),
    (
        "meshgrid-xy",
        lambda L, a, b: (
            L.meshgrid(a, b, indexing="xy")[0] * L.meshgrid(a, b, indexing="xy")[1] ** 2
        ),
        [_x(3), _x(2)],
    ),
    (
        "tensordot",
        lambda L, a, b: L.tensordot(a, b, dims=([1, 0], [0, 2])),
        [_x(2, 3, 4), _x(3, 5, 2)],
    ),
    ("tensordot-int", lambda L, a, b: L.tensordot(a, b, 1), [_x(2, 3), _x(3, 4)]),
    (
        "addmm",
        lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0),
        [_x(2, 4), _x(2, 3), _x(3, 4)],
    ),
    (
        "baddbmm",
        lambda L, c, a, b: L.baddbmm(c, a, b, alpha=0.3),
        [_x(2, 2, 4), _x(2, 2, 3), _x(2, 3, 4)],
    ),
    ("inv", lambda L, a: L.linalg.inv(a), [_x(3, 3) * 0.3 + 2 * np.eye(3)]),
    ("det", lambda L, a: L.det(a) ** 2, [_x(2, 3, 3) * 0.3 + 2 * np.eye(3)]),
    ("solve-vector", lambda L, a, b: L.linalg.solve(a, b), [_x(3, 3) * 0.3 + 2 * np.eye(3), _x(3)]),
    ("vector_norm", lambda L, a: L.linalg.vector_norm(a, 3, dim=1), [_x(2, 4)]),
]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_to_second_order(name, fn, arrays):
    compare_to_second_order(name, *run(fn, arrays))


EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ijk->", [(2, 3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("iij,jk->ik", [(3, 3, 2), (2, 4)]),
    ("ij,ij->i", [(2, 3), (2, 3)]),
    ("ij,kl", [(2, 3), (3, 2)]),
    ("bi,bj,bk->b", [(2, 3), (2, 2), (2, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("i...,i...->...", [(3, 1, 2), (3, 4, 1)]),
]


@pytest.mark.parametrize("eq, shapes", EQUATIONS, ids=[e[0] for e in EQUATIONS])
def test_einsum_matches_torch_to_second_order(eq, shapes):
    arrays = [R.standard_normal(s) for s in shapes]
    out = run(lambda L, *xs: L.einsum(eq, *xs) ** 2, arrays)
    compare_to_second_order(eq, *out)


@pytest.mark.parametrize(
    "eq, shapes",
    [
        ("...i,ij->...j", [(1,), (1, 3)]),
        ("...i,ij->...j", [(2, 1), (1, 3)]),
        ("i,j->ij", [(2,), (3,)]),
    ],
)
@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_einsum_without_a_sum_keeps_the_sign_of_zero(eq, shapes, zero):
    """With nothing to add up (the contracted letters of size 1), torch multiplies: 0 * -1.5 is
    -0.0, where a matrix product adds it to +0.0 (fuzz seeds 22398708, 22343570, 22383816)."""
    a = np.full(shapes[0], zero)
    b = np.array([1.2, -1.5, 0.0])[: shapes[1][-1]] * np.ones(shapes[1])
    t = torch.einsum(eq, torch.tensor(a), torch.tensor(b)).numpy()
    h = hg.einsum(eq, hg.tensor(a), hg.tensor(b)).numpy()
    np.testing.assert_array_equal(np.signbit(h), np.signbit(t))
    ta = torch.tensor(a, requires_grad=True)
    ha = hg.tensor(a, requires_grad=True)
    g = np.array([-0.0, 0.0, 1.0])[: shapes[1][-1]] * np.ones(t.shape)
    (gt,) = torch.autograd.grad(torch.einsum(eq, ta, torch.tensor(b)), ta, torch.tensor(g))
    (gh,) = hg.grad(hg.einsum(eq, ha, hg.tensor(b)), [ha], hg.tensor(g))
    np.testing.assert_array_equal(np.signbit(gh.numpy()), np.signbit(gt.numpy()))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_random_two_operand_einsums(data):
    letters = "abcde"
    sizes = {c: data.draw(st.integers(1, 3)) for c in letters}
    ta = "".join(data.draw(st.lists(st.sampled_from(letters), min_size=1, max_size=3, unique=True)))
    tb = "".join(data.draw(st.lists(st.sampled_from(letters), min_size=1, max_size=3, unique=True)))
    pool = sorted(set(ta + tb))
    out = "".join(data.draw(st.permutations(pool))[: data.draw(st.integers(0, len(pool)))])
    eq = f"{ta},{tb}->{out}"
    arrays = [R.standard_normal([sizes[c] for c in ta]), R.standard_normal([sizes[c] for c in tb])]
    compare_to_second_order(eq, *run(lambda L, *xs: L.einsum(eq, *xs), arrays))


def test_nonzero_and_unique_as_torch():
    a = np.array([[0, 3, 3], [1, 0, 3]])
    np.testing.assert_array_equal(
        hg.nonzero(hg.tensor(a)).numpy(), torch.nonzero(torch.tensor(a)).numpy()
    )
    for h, t in zip(
        hg.nonzero(hg.tensor(a), as_tuple=True), torch.nonzero(torch.tensor(a), as_tuple=True)
    ):
        np.testing.assert_array_equal(h.numpy(), t.numpy())
    hu = hg.unique(hg.tensor(a), return_inverse=True, return_counts=True)
    tu = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True)
    for h, t in zip(hu, tu):
        np.testing.assert_array_equal(h.numpy(), t.numpy())


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: hg.einsum("ij,jk->ik", hg.ones(2, 3), hg.ones(4, 2)),
            ValueError,
            r"einsum: letter 'j' has sizes 3 and 4",
        ),
        (
            lambda: hg.einsum("ij->ik", hg.ones(2, 3)),
            ValueError,
            r"einsum: output letter 'k' does not occur",
        ),
        (
            lambda: hg.einsum("ijk->i", hg.ones(2, 3)),
            ValueError,
            r"einsum: operand 0 term 'ijk' names 3 dims but the tensor has shape \(2, 3\)",
        ),
        (
            lambda: hg.einsum("ij,jk->ik", hg.ones(2, 3)),
            ValueError,
            r"einsum: equation 'ij,jk->ik' has 2 operands, got 1",
        ),
        (lambda: hg.linalg.inv(hg.zeros(2, 2)), RuntimeError, r"inv: the matrix .* is singular"),
        (lambda: hg.linalg.inv(hg.ones(2, 3)), RuntimeError, r"inv: expected a square matrix"),
        (
            lambda: hg.linalg.solve(hg.eye(2), hg.ones(3)),
            RuntimeError,
            r"solve: A of shape \(2, 2\) and B of shape \(3,\) do not match",
        ),
        (lambda: hg.tril(hg.ones(3)), RuntimeError, r"tril: expected a tensor with at least 2"),
        (lambda: hg.trace(hg.ones(2, 2, 2)), RuntimeError, r"trace: expected a matrix"),
        (
            lambda: hg.cross(hg.ones(2, 2), hg.ones(2, 2)),
            RuntimeError,
            r"cross: no dimension of size 3 in shape \(2, 2\)",
        ),
        (lambda: hg.roll(hg.ones(2, 2), (1, 1), 0), RuntimeError, r"roll: shifts \(1, 1\)"),
        (
            lambda: hg.repeat_interleave(hg.ones(3), hg.tensor([1, 2])),
            RuntimeError,
            r"repeat_interleave: repeats \[1, 2\] must be non-negative, one int or one per element",
        ),
        (
            lambda: hg.tensordot(hg.ones(2, 3), hg.ones(3, 2), 3),
            RuntimeError,
            r"tensordot: dims=3 for shapes \(2, 3\) and \(3, 2\)",
        ),
    ],
)
def test_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
