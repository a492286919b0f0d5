"""Augmented assignment (``x += y`` and the rest of the family) against torch: in place where torch
is
in place (same object, version counter, views see it), the same errors, and the tutorial idiom
``with no_grad(): p -= lr * p.grad`` trains exactly like ``p.sub_(lr * p.grad)`` (issue 11)."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)
R = np.random.default_rng(0)

FLOAT_OPS = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
}
INT_OPS = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
}


def _both(array: np.ndarray) -> tuple[hg.Tensor, torch.Tensor]:
    return hg.tensor(array.copy()), torch.tensor(array.copy())


@pytest.mark.parametrize("op", list(FLOAT_OPS))
@pytest.mark.parametrize("other_kind", ["tensor", "scalar", "broadcast"])
def test_float_augmented_assignment_is_in_place_as_torch(op, other_kind):
    fn = FLOAT_OPS[op]
    a = R.uniform(0.5, 2.0, (3, 4))
    other = {
        "tensor": R.uniform(0.5, 2.0, (3, 4)),
        "scalar": 1.5,
        "broadcast": R.uniform(0.5, 2.0, (4,)),
    }[other_kind]
    h, t = _both(a)
    h_view, t_view = h[1], t[1]
    ho = hg.tensor(other) if isinstance(other, np.ndarray) else other
    to = torch.tensor(other) if isinstance(other, np.ndarray) else other
    h_id, t_id, version = id(h), id(t), h._version[0]
    h = fn(h, ho)
    t = fn(t, to)
    assert id(h) == h_id and id(t) == t_id  # the same object, updated
    assert h._version[0] == version + 1
    np.testing.assert_allclose(h.numpy(), t.numpy(), rtol=1e-6)
    np.testing.assert_allclose(h_view.numpy(), t_view.numpy(), rtol=1e-6)  # views see it


@pytest.mark.parametrize("op", list(INT_OPS))
def test_integer_augmented_assignment_is_in_place_as_torch(op):
    fn = INT_OPS[op]
    a = R.integers(1, 50, (2, 5))
    b = R.integers(1, 4, (2, 5))
    h, t = _both(a)
    h_id = id(h)
    h = fn(h, hg.tensor(b))
    t = fn(t, torch.tensor(b))
    assert id(h) == h_id
    assert h.dtype == np.int64
    np.testing.assert_array_equal(h.numpy(), t.numpy())


@pytest.mark.parametrize("op", ["&=", "|=", "^="])
def test_boolean_augmented_assignment_as_torch(op):
    fn = INT_OPS[op]
    a, b = R.random(6) > 0.5, R.random(6) > 0.5
    h, t = _both(a)
    h = fn(h, hg.tensor(b))
    t = fn(t, torch.tensor(b))
    np.testing.assert_array_equal(h.numpy(), t.numpy())


def test_integer_true_division_in_place_is_refused_as_in_torch():
    h, t = _both(np.array([1, 2]))
    with pytest.raises(RuntimeError):
        t /= 2
    with pytest.raises(RuntimeError, match="can't be cast"):
        h /= 2
    with pytest.raises(RuntimeError):
        t *= 1.5
    with pytest.raises(RuntimeError, match="mul_"):
        h *= 1.5
    np.testing.assert_array_equal(h.numpy(), t.numpy())  # nothing was written


def test_bitwise_augmented_assignment_on_floats_is_refused_as_in_torch():
    h, t = _both(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError):
        t &= 1
    with pytest.raises(RuntimeError):
        h &= 1


def test_in_place_result_cannot_grow_the_destination():
    h, t = _both(np.ones(3))
    with pytest.raises(RuntimeError):
        t += torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="shape"):
        h += hg.ones(2, 3, dtype=hg.float64)


def test_matmul_assignment_is_not_in_place_as_in_torch():
    a = R.standard_normal((2, 2))
    h, t = _both(a)
    h_id, t_id = id(h), id(t)
    h @= hg.tensor(a)
    t @= torch.tensor(a)
    assert id(h) != h_id and id(t) != t_id
    np.testing.assert_allclose(h.numpy(), t.numpy())


def test_leaf_that_requires_grad_refuses_in_place_update_outside_no_grad():
    h = hg.ones(3, requires_grad=True)
    t = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        t += 1
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        h += 1
    with hg.no_grad():
        h += 1
    with torch.no_grad():
        t += 1
    np.testing.assert_array_equal(h.detach().numpy(), t.detach().numpy())


def test_recorded_augmented_assignment_gives_torch_gradients():
    """On a non-leaf (``out += identity`` in a residual block) and with an operand that requires
    grad (``acc += x``) the update is recorded; gradients agree with torch's."""
    xa = R.standard_normal(4)
    results = []
    for lib in (hg, torch):
        x = lib.tensor(xa, requires_grad=True)
        h = x * 2
        h += x.exp()
        h *= 3
        acc = lib.zeros(4, dtype=lib.float64)
        acc += h
        acc -= x
        (acc**2).sum().backward()
        results.append((acc.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_in_place_update_of_a_saved_input_is_caught_at_backward():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    c = hg.tensor([3.0, 4.0])
    y = (x * c).sum()
    c += 1  # Mul saved c for x's gradient
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def _train(lib, update: str, steps: int = 25, lr: float = 0.1) -> list[np.ndarray]:
    """A two-layer regression trained by hand, the update written as ``update`` says."""
    rng = np.random.default_rng(1)
    w1 = lib.tensor(rng.standard_normal((3, 8)) * 0.5, requires_grad=True)
    b1 = lib.tensor(np.zeros(8), requires_grad=True)
    w2 = lib.tensor(rng.standard_normal((8, 1)) * 0.5, requires_grad=True)
    x = lib.tensor(rng.standard_normal((16, 3)))
    y = lib.tensor(rng.standard_normal((16, 1)))
    params = [w1, b1, w2]
    for _ in range(steps):
        loss = (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                if update == "isub":
                    p -= lr * p.grad
                else:
                    p.sub_(lr * p.grad)
    return [p.detach().numpy().copy() for p in params]


def test_manual_sgd_with_augmented_assignment_trains_like_sub_():
    by_operator = _train(hg, "isub")
    by_method = _train(hg, "sub_")
    start = _train(hg, "isub", steps=0)
    for a, b, s in zip(by_operator, by_method, start):
        np.testing.assert_array_equal(a, b)  # bit for bit
        assert not np.array_equal(a, s)  # and it did train
    for a, t in zip(by_operator, _train(torch, "isub")):
        np.testing.assert_allclose(a, t, rtol=1e-10, atol=1e-12)


def test_add_alpha_may_be_a_zero_dim_tensor():
    h, t = _both(np.array([1.0, 2.0]))
    h.add_(hg.tensor([1.0, 1.0], dtype=hg.float64), alpha=hg.tensor(-0.5))
    t.add_(torch.tensor([1.0, 1.0], dtype=torch.float64), alpha=torch.tensor(-0.5))
    np.testing.assert_array_equal(h.numpy(), t.numpy())


# ---- the in-place twins of out-of-place methods (composed/inplace_variants.py) -----------------

_X = np.array([[0.2, 0.7, 0.4], [0.9, 0.1, 0.5]])
_Y = np.array([[0.3, 0.7, 0.8], [0.4, 0.6, 0.1]])
_VARIANTS = [
    *[
        (name, _X, lambda lib: ())
        for name in (
            "acos arccos asin arcsin atan arctan cos cosh sin sinh tan tanh sigmoid relu logit erf "
            "expm1 log log10 log1p log2 reciprocal rsqrt sign sgn trunc frac deg2rad rad2deg "
            "logical_not tril triu"
        ).split()
    ],
    *[
        (name, _X, lambda lib: (lib.tensor(_Y),))
        for name in (
            "atan2 arctan2 hypot fmod xlogy true_divide eq ne lt le gt ge logical_and logical_or "
            "logical_xor"
        ).split()
    ],
    ("clamp_min", _X, lambda lib: (0.5,)),
    ("clamp_max", _X, lambda lib: (0.5,)),
    ("cumsum", _X, lambda lib: (1,)),
    ("cumprod", _X, lambda lib: (1,)),
    ("nan_to_num", np.array([np.nan, np.inf, -1.0]), lambda lib: ()),
    ("addmm", _X[:, :2], lambda lib: (lib.tensor(_X), lib.tensor(_Y.T))),
    ("index_add", _X, lambda lib: (0, lib.tensor([1, 1]), lib.tensor(_Y))),
    ("index_fill", _X, lambda lib: (1, lib.tensor([0, 2]), -1.0)),
    ("scatter", _X, lambda lib: (1, lib.tensor([[2, 0], [1, 1]]), lib.tensor(_Y))),
    ("scatter_add", _X, lambda lib: (0, lib.tensor([[1, 0, 1]]), lib.tensor(_Y))),
    ("bitwise_not", np.array([1, -2, 0]), lambda lib: ()),
]


@pytest.mark.parametrize("name,x,args", _VARIANTS, ids=[v[0] + "_" for v in _VARIANTS])
def test_inplace_variant_writes_the_out_of_place_result_as_torch(name, x, args):
    results = []
    for lib in (hg, torch):
        t = lib.tensor(x)
        version = t._version[0] if lib is hg else t._version
        out = getattr(t, name + "_")(*args(lib))
        assert out is t
        assert (t._version[0] if lib is hg else t._version) == version + 1
        results.append(t.numpy())
    assert results[0].dtype == results[1].dtype
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    "name,shape,args",
    [
        ("squeeze", (2, 1, 3), ()),
        ("unsqueeze", (2, 3), (1,)),
        ("t", (2, 3), ()),
        ("transpose", (2, 3, 4), (0, 2)),
        ("swapaxes", (2, 3), (0, 1)),
        ("swapdims", (2, 3), (1, 0)),
    ],
)
def test_inplace_view_variant_reshapes_the_same_memory(name, shape, args):
    data = np.arange(float(np.prod(shape))).reshape(shape)
    h, t = hg.tensor(data), torch.tensor(data)
    keep = h._data
    getattr(h, name + "_")(*args)
    getattr(t, name + "_")(*args)
    assert h.shape == tuple(t.shape)
    np.testing.assert_array_equal(h.numpy(), t.numpy())
    assert np.shares_memory(h._data, keep)


def test_inplace_variants_refuse_as_torch():
    leaf = hg.tensor([0.5, 0.2], requires_grad=True)
    with pytest.raises(RuntimeError, match="sigmoid_: a leaf tensor that requires grad"):
        leaf.sigmoid_()
    with hg.no_grad():
        leaf.sigmoid_()  # an optimizer-style write: allowed
    with pytest.raises(
        RuntimeError, match=r"sigmoid_: result type float\d+ can't be cast .* int64"
    ):
        hg.tensor([1, 2]).sigmoid_()
    with pytest.raises(RuntimeError, match=r"addmm_: the result of shape \(2, 2\) cannot be"):
        hg.zeros(2, 1).addmm_(hg.ones(2, 3), hg.ones(3, 2))
