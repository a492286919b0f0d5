"""The Tensor surface a PyTorch program touches (issue 12, "The torch namespace" and "Legacy
constructors"), each against torch: devices, ``device=`` and ``size=`` on the factories, ``.to()``,
legacy constructors, ``Tensor.type``, ``multinomial``, formatting of 0-d tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)


# ---- device ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("cpu",), ("cpu:0",), ("cpu", 0), ("cpu:3",)])
def test_device_repr_str_equality_type_index_as_torch(args):
    d, t = hg.device(*args), torch.device(*args)
    assert repr(d) == repr(t)
    assert str(d) == str(t)
    assert d.type == t.type and d.index == t.index
    assert hg.device(d) == d and hash(hg.device(d)) == hash(d)


def test_device_equality_follows_torch():
    pairs = [("cpu", "cpu"), ("cpu", "cpu:0"), ("cpu:0", "cpu:0"), ("cpu:0", "cpu:1")]
    for a, b in pairs:
        assert (hg.device(a) == hg.device(b)) == (torch.device(a) == torch.device(b)), (a, b)
    assert (hg.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps", "xpu"])
def test_accelerators_raise_a_clear_error(name):
    with pytest.raises(RuntimeError, match="handgrad runs on the CPU"):
        hg.device(name)
    with pytest.raises(RuntimeError, match="handgrad runs on the CPU"):
        hg.zeros(2, device=name)
    with pytest.raises(RuntimeError, match="handgrad runs on the CPU"):
        hg.ones(2).to(name)


def test_unknown_device_string_is_refused():
    with pytest.raises(RuntimeError):
        torch.device("gpu")
    with pytest.raises(RuntimeError, match="gpu"):
        hg.device("gpu")


def test_tensor_device_and_flags():
    h, t = hg.ones(2), torch.ones(2)
    assert repr(h.device) == repr(t.device)
    assert h.device == hg.device("cpu")
    for flag in ("is_cuda", "is_xpu", "is_sparse"):
        assert getattr(h, flag) == getattr(t, flag) is False
    assert h.cpu() is h
    assert h.get_device() == t.get_device()
    with pytest.raises(RuntimeError, match="CPU"):
        h.cuda()


FACTORIES = [
    ("zeros", lambda L, **k: L.zeros(2, 3, **k)),
    ("ones", lambda L, **k: L.ones(2, 3, **k)),
    ("empty", lambda L, **k: L.empty(2, 3, **k)),
    ("full", lambda L, **k: L.full((2, 3), 1.5, **k)),
    ("rand", lambda L, **k: L.rand(2, 3, **k)),
    ("randn", lambda L, **k: L.randn(2, 3, **k)),
    ("randint", lambda L, **k: L.randint(0, 5, (2, 3), **k)),
    ("randperm", lambda L, **k: L.randperm(4, **k)),
    ("arange", lambda L, **k: L.arange(0, 6, **k)),
    ("linspace", lambda L, **k: L.linspace(0, 1, 5, **k)),
    ("eye", lambda L, **k: L.eye(3, **k)),
    ("tensor", lambda L, **k: L.tensor([[1.0, 2.0]], **k)),
    ("zeros_like", lambda L, **k: L.zeros_like(L.ones(2), **k)),
    ("ones_like", lambda L, **k: L.ones_like(L.ones(2), **k)),
    ("empty_like", lambda L, **k: L.empty_like(L.ones(2), **k)),
    ("full_like", lambda L, **k: L.full_like(L.ones(2), 3.0, **k)),
    ("rand_like", lambda L, **k: L.rand_like(L.ones(2), **k)),
    ("randn_like", lambda L, **k: L.randn_like(L.ones(2), **k)),
    ("randint_like", lambda L, **k: L.randint_like(L.ones(2), 4, **k)),
    ("new_zeros", lambda L, **k: L.ones(2).new_zeros((3,), **k)),
    ("new_ones", lambda L, **k: L.ones(2).new_ones((3,), **k)),
    ("new_empty", lambda L, **k: L.ones(2).new_empty((3,), **k)),
    ("new_full", lambda L, **k: L.ones(2).new_full((3,), 2.0, **k)),
    ("new_tensor", lambda L, **k: L.ones(2).new_tensor([1.0, 2.0], **k)),
]


@pytest.mark.parametrize("name,make", FACTORIES, ids=[n for n, _ in FACTORIES])
@pytest.mark.parametrize("device", ["cpu", "cpu:0", "device"])
def test_every_factory_accepts_device(name, make, device):
    hd = hg.device("cpu") if device == "device" else device
    td = torch.device("cpu") if device == "device" else device
    h, t = make(hg, device=hd), make(torch, device=td)
    assert h.shape == tuple(t.shape)
    assert str(h.dtype) == str(t.dtype).removeprefix("torch.")
    assert repr(h.device) == repr(t.device)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_keyword_as_torch(name):
    h = getattr(hg, name)(size=(2, 3))
    t = getattr(torch, name)(size=(2, 3))
    assert h.shape == tuple(t.shape)
    assert str(h.dtype) == str(t.dtype).removeprefix("torch.")
    with pytest.raises(TypeError):
        getattr(hg, name)(2, size=(2, 3))


# ---- .to() and dtype conversions ---------------------------------------------------------------


TO_CALLS = [
    ("dtype", lambda L, x: x.to(L.float64)),
    ("dtype-kw", lambda L, x: x.to(dtype=L.int64)),
    ("device", lambda L, x: x.to("cpu")),
    ("device-object", lambda L, x: x.to(L.device("cpu"))),
    ("device-dtype", lambda L, x: x.to("cpu", L.float64)),
    ("device-kw-dtype-kw", lambda L, x: x.to(device="cpu", dtype=L.float16)),
    ("tensor", lambda L, x: x.to(L.zeros(1, dtype=L.int32))),
    ("non_blocking", lambda L, x: x.to("cpu", non_blocking=True)),
    ("dtype-non_blocking", lambda L, x: x.to(L.float64, non_blocking=True)),
]


@pytest.mark.parametrize("name,call", TO_CALLS, ids=[n for n, _ in TO_CALLS])
def test_to_overloads_as_torch(name, call):
    data = np.array([1.5, -2.0, 3.0], np.float32)
    h, t = call(hg, hg.tensor(data)), call(torch, torch.tensor(data))
    assert str(h.dtype) == str(t.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(h.numpy(), t.numpy())


def test_to_keeps_the_tensor_when_nothing_changes_as_torch():
    h, t = hg.ones(2), torch.ones(2)
    assert (h.to("cpu") is h) == (t.to("cpu") is t) is True
    assert (h.to(hg.float32) is h) == (t.to(torch.float32) is t) is True
    assert (h.to(hg.float32, copy=True) is h) == (t.to(torch.float32, copy=True) is t) is False


def test_to_keeps_the_graph():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    (x.to("cpu", hg.float64) ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_type_string_as_torch(dtype):
    h = hg.zeros(2, dtype=getattr(hg, dtype))
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    assert h.type() == t.type()


@pytest.mark.parametrize(
    "target", ["float64", "torch.LongTensor", "IntTensor", "torch.FloatTensor"]
)
def test_type_converts_as_torch(target):
    data = np.array([1.7, -2.2], np.float32)
    if target == "float64":
        h, t = hg.tensor(data).type(hg.float64), torch.tensor(data).type(torch.float64)
    elif target == "IntTensor":
        h, t = hg.tensor(data).type(hg.IntTensor), torch.tensor(data).type(torch.IntTensor)
    else:
        h, t = hg.tensor(data).type(target), torch.tensor(data).type(target)
    assert str(h.dtype) == str(t.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(h.numpy(), t.numpy())


def test_clone_memory_format_and_formats():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    for fmt in (hg.contiguous_format, hg.preserve_format):
        y = x.clone(memory_format=fmt)
        assert y is not x and y.requires_grad
    np.testing.assert_array_equal(x.contiguous(memory_format=hg.contiguous_format).detach(), [1, 2])


def test_is_complex_and_is_floating_point_as_torch():
    for dt in ("float32", "int64", "bool"):
        h, t = hg.zeros(1, dtype=getattr(hg, dt)), torch.zeros(1, dtype=getattr(torch, dt))
        assert hg.is_complex(h) == torch.is_complex(t) == h.is_complex() == t.is_complex()
        assert hg.is_floating_point(h) == torch.is_floating_point(t) == h.is_floating_point()


# ---- legacy constructors -----------------------------------------------------------------------


LEGACY = [
    ("sizes", lambda L: L.Tensor(2, 3)),
    ("list-of-ints", lambda L: L.Tensor([[1, 2]])),
    ("list-of-floats", lambda L: L.Tensor([1.5, 2.5])),
    ("tuple-is-data", lambda L: L.Tensor((2, 3))),
    ("empty", lambda L: L.Tensor()),
    ("numpy-int", lambda L: L.Tensor(np.array([1, 2]))),
    ("device", lambda L: L.Tensor(2, device="cpu")),
    ("FloatTensor-sizes", lambda L: L.FloatTensor(2, 2)),
    ("FloatTensor-data", lambda L: L.FloatTensor([1, 2])),
    ("DoubleTensor", lambda L: L.DoubleTensor([1, 2])),
    ("LongTensor-truncates", lambda L: L.LongTensor([1.7, -2.7])),
    ("IntTensor", lambda L: L.IntTensor([3])),
    ("BoolTensor", lambda L: L.BoolTensor([1, 0])),
    ("ByteTensor", lambda L: L.ByteTensor([1, 2])),
]


@pytest.mark.parametrize("name,make", LEGACY, ids=[n for n, _ in LEGACY])
def test_legacy_constructors_as_torch(name, make):
    h, t = make(hg), make(torch)
    assert h.shape == tuple(t.shape)
    assert str(h.dtype) == str(t.dtype).removeprefix("torch.")
    if "sizes" not in name and name not in ("device", "empty"):
        np.testing.assert_array_equal(h.numpy(), t.numpy())


def test_legacy_tensor_of_a_tensor_shares_its_data_as_torch():
    h, t = hg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    h2, t2 = hg.Tensor(h), torch.Tensor(t)
    h2[0] = 5.0
    t2[0] = 5.0
    np.testing.assert_array_equal(h.numpy(), t.numpy())


def test_legacy_constructor_refuses_a_number_as_torch():
    with pytest.raises(TypeError):
        torch.Tensor(3.5)
    with pytest.raises(TypeError, match="sequence"):
        hg.Tensor(3.5)


def test_isinstance_with_legacy_classes_asks_the_dtype_as_torch():
    for dt in ("float32", "float64", "int64"):
        h, t = hg.zeros(1, dtype=getattr(hg, dt)), torch.zeros(1, dtype=getattr(torch, dt))
        for cls in ("FloatTensor", "DoubleTensor", "LongTensor"):
            assert isinstance(h, getattr(hg, cls)) == isinstance(t, getattr(torch, cls))
    assert isinstance(hg.FloatTensor(2), hg.Tensor)


# ---- formatting, alpha -------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["{:.2f}", "{:8.3e}", "{}", "{:>10}", "{:d}"])
@pytest.mark.parametrize("value", [3.14159, 2])
def test_format_of_zero_dim_tensors_as_torch(spec, value):
    h, t = hg.tensor(value), torch.tensor(value)
    try:
        want = spec.format(t)
    except (ValueError, TypeError) as e:
        with pytest.raises(type(e)):
            spec.format(h)
        return
    assert spec.format(h) == want


def test_format_with_a_spec_refuses_other_tensors_as_torch():
    with pytest.raises(TypeError):
        "{:.2f}".format(torch.tensor([1.0]))  # noqa: UP032  (str.format is what is tested)
    with pytest.raises(TypeError):
        "{:.2f}".format(hg.tensor([1.0]))  # noqa: UP032
    assert "{}".format(hg.tensor([1.0])) == repr(hg.tensor([1.0]))  # noqa: UP032


# ---- multinomial -------------------------------------------------------------------------------


def test_multinomial_without_replacement_draws_distinct_categories_of_positive_weight():
    w = hg.tensor([[0.0, 1.0, 2.0, 3.0, 0.0], [5.0, 0.0, 1.0, 1.0, 1.0]])
    g = hg.Generator().manual_seed(0)
    for _ in range(50):
        out = hg.multinomial(w, 3, generator=g)
        ref = torch.multinomial(torch.tensor(w.numpy()), 3)
        assert out.shape == tuple(ref.shape) and out.dtype == np.int64
        for row, weights in zip(out.numpy(), w.numpy()):
            assert len(set(row)) == 3 and (weights[row] > 0).all()


def test_multinomial_with_replacement_follows_the_weights():
    w = np.array([1.0, 3.0, 0.0, 6.0])
    n = 20000
    out = hg.multinomial(hg.tensor(w), n, replacement=True, generator=hg.Generator().manual_seed(1))
    assert out.shape == (n,)
    freq = np.bincount(out.numpy(), minlength=4) / n
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.015)  # about 5 standard errors
    assert freq[2] == 0


@pytest.mark.parametrize(
    "case",
    [
        ("too many without replacement", lambda L: L.multinomial(L.tensor([1.0, 1.0]), 3)),
        ("negative weight", lambda L: L.multinomial(L.tensor([1.0, -1.0]), 1)),
        ("zero sum", lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1)),
        ("3-d", lambda L: L.multinomial(L.ones(2, 2, 2), 1)),
        ("no samples", lambda L: L.multinomial(L.ones(2), 0)),
    ],
    ids=lambda c: c[0],
)
def test_multinomial_refuses_what_torch_refuses(case):
    _, call = case
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match="multinomial"):
        call(hg)
