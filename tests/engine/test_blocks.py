"""Element-wise forwards over cache-sized blocks (ops/_blocks.py): the bits of the whole-array
formula, in every memory order, the output keeping its input's."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from handgrad.autograd.function import PRIMITIVES
from handgrad.ops import _blocks

BLOCKWISE = sorted(
    name for name, cls in PRIMITIVES.items() if hasattr(cls.__dict__.get("forward"), "__wrapped__")
)


def test_the_activations_run_blockwise():
    assert {"sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "silu", "softplus"} <= set(
        BLOCKWISE
    )


@pytest.mark.parametrize("name", BLOCKWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blockwise_forward_has_the_whole_arrays_bits(monkeypatch, name, dtype):
    monkeypatch.setattr(_blocks, "_BLOCK", 64)  # 7 blocks and a part for 480 elements
    cls = PRIMITIVES[name]
    whole = cls.__dict__["forward"].__wrapped__
    arity = _arity(name)
    r = np.random.default_rng(0)
    base = [(r.standard_normal((4, 6, 20)) * 8).astype(dtype) for _ in range(arity)]
    for a in base:
        a.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30]
    layouts = {
        "C": lambda a: a,
        "F": np.asfortranarray,
        "batch innermost": lambda a: np.ascontiguousarray(a.transpose(1, 2, 0)).transpose(2, 0, 1),
    }
    for label, layout in layouts.items():
        arrays = [layout(a) for a in base]
        with np.errstate(all="ignore"):
            want = whole(cls(), *arrays)
            got = cls().forward(*arrays)
        assert got.dtype == want.dtype and got.shape == want.shape, label
        ints = np.dtype(f"u{got.itemsize}")
        bits_got = np.ascontiguousarray(got).view(ints)
        bits_want = np.ascontiguousarray(want).view(ints)
        np.testing.assert_array_equal(bits_got, bits_want, err_msg=label)
        first = arrays[0]
        kept = tuple(st // first.itemsize * got.itemsize for st in first.strides)
        assert got.strides == kept, f"{label}: the output keeps the input's memory order"


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("kept_erf", [False, True])
def test_gelu_backward_blocks_have_the_whole_arrays_bits(monkeypatch, approximate, kept_erf):
    """gelu_backward's values run blockwise (its forward keeps the erf it was given, whole, for
    its own backward): the bits of one whole-array pass, with the forward's erf cut along."""
    from handgrad.ops.special import GeluBackward, erf_array

    r = np.random.default_rng(3)
    g, a = (r.standard_normal((5, 7, 30)).astype(np.float32) * 3 for _ in range(2))
    erf = erf_array(a * np.float32(1 / np.sqrt(2))) if kept_erf else None
    fn = GeluBackward()
    want = fn.forward(g, a, approximate=approximate, erf=erf)  # one block: 1050 < 2 * 32768
    monkeypatch.setattr(_blocks, "_BLOCK", 64)
    fn = GeluBackward()
    got = fn.forward(g, a, approximate=approximate, erf=erf)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert fn.erf is erf  # kept whole for the double backward


def _arity(name: str) -> int:
    whole = PRIMITIVES[name].__dict__["forward"].__wrapped__
    return sum(
        p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
        for p in list(inspect.signature(whole).parameters.values())[1:]
    )


@pytest.mark.parametrize(
    "name", [n for n in BLOCKWISE if n.endswith("_backward") and _arity(n) == 2]
)
def test_a_broadcast_gradient_runs_blockwise_as_one_value(monkeypatch, name):
    """A sum's gradient is one value broadcast (every stride 0): the blocks take it as that
    scalar (``one_value``), with the whole-array formula's bits."""
    monkeypatch.setattr(_blocks, "_BLOCK", 64)
    cls = PRIMITIVES[name]
    whole = cls.__dict__["forward"].__wrapped__
    r = np.random.default_rng(4)
    a = (r.standard_normal((4, 6, 20)) * 4).astype(np.float32)
    g = np.broadcast_to(np.float32(-1.5), a.shape)
    used = []
    views = _blocks._flat_views
    monkeypatch.setattr(_blocks, "_flat_views", lambda *x: used.append(views(*x)) or used[-1])
    want = whole(cls(), np.ascontiguousarray(g), a)
    got = cls().forward(g, a)
    assert used and used[0] is not None, "the blocks ran"  # (the outer call: blocks nest)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_element_wise_passes_are_shared_among_the_threads(monkeypatch, dtype):
    """relu forward and backward and add over large arrays (``blas.flat_parts``): with a BLAS
    pool of two threads the pieces run on two threads, with the bits and the memory order (a
    convolution's batch-innermost) of one thread; arrays in another order run whole."""
    import threading

    import torch

    import handgrad as hg
    from handgrad.ops import blas

    from nn_helpers import blas_pool

    monkeypatch.setattr(blas, "_FLAT_PARTS_ELEMENTS", 16)
    names: set = set()
    each_part = blas.each_part

    def spying(body, size, workers):
        def named(lo, hi):
            names.add(threading.current_thread().name)
            return body(lo, hi)

        return each_part(named, size, workers)

    monkeypatch.setattr(blas, "each_part", spying)
    r = np.random.default_rng(3)
    edge = np.array([-1.5, -0.0, 0.0, 2.0, np.nan, np.inf, -np.inf], dtype)

    def inner(a):  # batch-innermost memory, as a convolution returns
        return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)

    x, y, g = (inner(r.choice(edge, size=(3, 4, 5, 6)).astype(dtype)) for _ in range(3))

    def run(threads):
        with blas_pool(threads):
            hx = hg.Tensor._wrap(x.copy(order="K")).requires_grad_(True)
            s = hx + hg.Tensor._wrap(y)
            out = hg.relu(s)
            out.backward(hg.Tensor._wrap(g))
        return s.detach().numpy(), out.detach().numpy(), hx.grad.numpy()

    one = run(1)
    assert not any(n.startswith("handgrad-conv") for n in names)
    two = run(2)
    assert any(n.startswith("handgrad-conv") for n in names)
    for a, b in zip(one, two):
        assert a.strides == b.strides == x.strides
        np.testing.assert_array_equal(a.view(f"i{a.itemsize}"), b.view(f"i{a.itemsize}"))
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t + torch.tensor(y)).backward(torch.tensor(g))
    np.testing.assert_array_equal(two[2], t.grad.numpy())
    assert blas.shared_binary(np.add, x, np.ascontiguousarray(y)) is None  # another order
