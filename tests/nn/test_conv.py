"""Convolution beyond the parity cases: the worked example of problem set 004 (question 5), the
layers (PyTorch's constructors, parameter names, initialisation, outputs), the memory layout,
skipped gradients, and the error messages for bad input."""

from __future__ import annotations

import math
import multiprocessing
import os
import threading

import numpy as np
import pytest
import torch

import handgrad as hg
import handgrad.ops.blas as blas_ops
import handgrad.ops.conv as conv_ops
from handgrad.nn import functional as F

from nn_helpers import blas_pool

torch.set_num_threads(1)

# 004_35d4f772405e03c8.txt, question 5: a 5x5 image and a 3x3 kernel, bias zero.
IMAGE = [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]]
KERNEL = [[4, 3, 3], [5, 5, 5], [2, 4, 3]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_004_question5_forward_and_input_gradient_match_torch(dtype):
    x = hg.tensor(np.array(IMAGE, dtype)[None, None], requires_grad=True)
    w = hg.tensor(np.array(KERNEL, dtype)[None, None])
    out = F.conv2d(x, w)
    out.backward(hg.ones(*out.shape, dtype=dtype))  # the upstream gradient: a 3x3 of ones

    xt = torch.tensor(np.array(IMAGE, dtype)[None, None], requires_grad=True)
    ref = torch.nn.functional.conv2d(xt, torch.tensor(np.array(KERNEL, dtype)[None, None]))
    ref.backward(torch.ones_like(ref))
    assert out.shape == (1, 1, 3, 3)  # (a): 9 values
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    # The input gradient is the full correlation of the ones with the kernel: at the centre
    # every tap contributes, so it is the kernel's sum.
    assert x.grad.numpy()[0, 0, 2, 2] == np.sum(KERNEL)


# ---- layers -----------------------------------------------------------------------------------

LAYERS = [
    (
        "Conv1d",
        dict(
            in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, dilation=2, groups=2
        ),
        (2, 4, 11),
    ),
    (
        "Conv2d",
        dict(
            in_channels=3,
            out_channels=4,
            kernel_size=(3, 2),
            stride=(1, 2),
            padding=(1, 0),
            dilation=1,
        ),
        (2, 3, 7, 8),
    ),
    (
        "Conv2d",
        dict(in_channels=2, out_channels=4, kernel_size=3, padding="same", bias=False),
        (1, 2, 6, 5),
    ),
    (
        "ConvTranspose1d",
        dict(
            in_channels=4,
            out_channels=2,
            kernel_size=3,
            stride=2,
            padding=1,
            output_padding=1,
            groups=2,
        ),
        (2, 4, 5),
    ),
    (
        "ConvTranspose2d",
        dict(
            in_channels=3,
            out_channels=4,
            kernel_size=(2, 3),
            stride=(2, 1),
            padding=(0, 1),
            dilation=(1, 2),
        ),
        (2, 3, 4, 5),
    ),
]


@pytest.mark.parametrize(
    "name,kwargs,shape", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)]
)
def test_layer_matches_torch_layer(name, kwargs, shape):
    mine = getattr(hg.nn, name)(**kwargs).double()
    ref = getattr(torch.nn, name)(**kwargs).double()
    assert list(mine.state_dict()) == list(ref.state_dict())
    for (n1, p1), (n2, p2) in zip(mine.named_parameters(), ref.named_parameters()):
        assert n1 == n2 and p1.shape == tuple(p2.shape)
        with torch.no_grad():
            p2.copy_(torch.tensor(p1.detach().numpy()))
    assert repr(mine) == repr(ref)
    x = np.random.default_rng(0).standard_normal(shape)
    xh, xt = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, want = mine(xh), ref(xt)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for p1, p2 in zip(mine.parameters(), ref.parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_initialisation_is_pytorchs_uniform_with_fan_in_bound():
    hg.manual_seed(0)
    for layer, fan_in in [
        (hg.nn.Conv2d(16, 32, 3, groups=2), 8 * 9),
        (hg.nn.ConvTranspose2d(16, 32, 3, groups=4), 8 * 9),
        (hg.nn.Conv1d(5, 64, 7), 5 * 7),
    ]:
        bound = 1 / math.sqrt(fan_in)
        w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        assert w.dtype == np.float32 and np.abs(w).max() <= bound
        assert np.abs(b).max() <= bound
        # U(-b, b) has standard deviation b / sqrt(3).
        assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_conv_transpose_output_size_picks_the_output_padding():
    layer = hg.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = hg.randn(1, 2, 4, 5)
    assert layer(x).shape == (1, 3, 7, 9)
    assert layer(x, output_size=(8, 10)).shape == (1, 3, 8, 10)
    with pytest.raises(ValueError, match="between 7 and 8"):
        layer(x, output_size=(9, 10))


# ---- layout and skipped work ------------------------------------------------------------------


def test_results_do_not_depend_on_the_memory_layout_of_the_input():
    """Conv outputs are batch-innermost views; feeding them (or any strided view) on must give
    the same values and gradients as contiguous arrays, through conv, ReLU, pooling and a
    transposed convolution."""
    r = np.random.default_rng(1)
    x = r.standard_normal((3, 2, 9, 8))
    w1, w2, w3 = (
        r.standard_normal((4, 2, 3, 3)),
        r.standard_normal((3, 4, 2, 2)),
        r.standard_normal((3, 2, 3, 3)),
    )

    def run(lib, xa, *ws):
        f = lib.nn.functional
        h = f.relu(f.conv2d(xa, ws[0], padding=1))
        h = f.max_pool2d(f.conv2d(h, ws[1], stride=1), 2)
        return f.conv_transpose2d(h, ws[2], stride=2)

    strided = np.asfortranarray(x)  # same values, another memory order
    hs = [hg.tensor(a, requires_grad=True) for a in (x, w1, w2, w3)]
    hs[0] = hg.from_numpy(strided).requires_grad_()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w1, w2, w3)]
    out, want = run(hg, *hs), run(torch, *ts)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = r.standard_normal(want.shape)
    out.backward(hg.tensor(g))
    want.backward(torch.tensor(g))
    for a, b in zip(hs, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_gradients_are_only_computed_for_inputs_that_need_them(monkeypatch):
    """The first layer's image needs no gradient: no input gradient is computed. The weight
    gradient builds its im2col bands again rather than keeping the forward's (ops/conv.py:
    ``_BAND_BYTES``), so every product reads a band that is still in cache."""
    calls = {"transpose": 0, "windows": 0}
    real_t, real_windows = conv_ops.ConvTranspose2d.forward, conv_ops._windows

    def count_t(self, *a, **k):
        calls["transpose"] += 1
        return real_t(self, *a, **k)

    def count_windows(*a, **k):
        calls["windows"] += 1
        return real_windows(*a, **k)

    monkeypatch.setattr(conv_ops.ConvTranspose2d, "forward", count_t)
    monkeypatch.setattr(conv_ops, "_windows", count_windows)
    x = hg.randn(2, 16, 8, 8)
    w = hg.randn(4, 16, 3, 3, requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert calls == {"transpose": 0, "windows": 2}
    assert w.grad.shape == w.shape
    x.requires_grad_()
    w.grad = None
    # stride 1: the input gradient is itself a convolution, and the weight gradient reads its
    # im2col bands of g (_gradients_stride1): one window view for both
    F.conv2d(x, w).sum().backward()
    assert calls == {"transpose": 0, "windows": 4}
    F.conv2d(x, w, stride=2).sum().backward()  # strided: a transposed convolution
    assert calls == {"transpose": 1, "windows": 6}
    x3 = hg.randn(2, 3, 8, 8, requires_grad=True)  # 3 channels: transposed (its product is
    F.conv2d(x3, hg.randn(4, 3, 3, 3)).sum().backward()  # faster than one with 3 rows)
    assert calls == {"transpose": 2, "windows": 7}


@pytest.mark.parametrize("band_bytes", [1, 700, 1 << 20])
@pytest.mark.parametrize(
    "geometry",
    [
        dict(stride=1, padding=1, dilation=1, groups=1),
        dict(stride=2, padding=(2, 0), dilation=(1, 2), groups=2),
        dict(stride=(1, 3), padding=0, dilation=2, groups=1),
    ],
)
def test_bands_of_rows_give_the_whole_product(monkeypatch, band_bytes, geometry):
    """The im2col products run a band of rows at a time; one row per band, a few, or the whole
    matrix at once give torch's values and gradients (float64)."""
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", band_bytes)
    r = np.random.default_rng(band_bytes)
    x, w = r.standard_normal((3, 4, 9, 8)), r.standard_normal((6, 4 // geometry["groups"], 3, 3))
    hx, hw = hg.tensor(x, requires_grad=True), hg.tensor(w, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    out, want = F.conv2d(hx, hw, **geometry), torch.nn.functional.conv2d(tx, tw, **geometry)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = r.standard_normal(want.shape)
    out.backward(hg.tensor(g))
    want.backward(torch.tensor(g))
    for a, t in ((hx, tx), (hw, tw)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_skips_the_padding_under_an_infinite_gradient(dtype):
    """An infinite upstream gradient meets the padding's zeros in the im2col product (inf * 0 =
    NaN); PyTorch's float32 weight gradient (oneDNN) sums over the input positions only and stays
    finite on the taps that never read that input. Found by the fuzzer (conv1d,
    conv_transpose1d/2d). handgrad does so in every dtype; torch's float64 kernel multiplies the
    padding (NaN there: docs/differences.md, ``torch_multiplies_by_mask``), so both dtypes are
    compared with torch's float32 result."""
    r = np.random.default_rng(3)
    x, w = r.standard_normal((2, 3, 5, 5)), r.standard_normal((4, 3, 3, 3))
    for geometry in (dict(padding=1, stride=2), dict(padding=(1, 2), dilation=2)):
        hw = hg.tensor(w.astype(dtype), requires_grad=True)
        tw = torch.tensor(w.astype(np.float32), requires_grad=True)
        out = F.conv2d(hg.tensor(x.astype(dtype)), hw, **geometry)
        want = torch.nn.functional.conv2d(torch.tensor(x.astype(np.float32)), tw, **geometry)
        g = np.ones(want.shape)
        g[0, 0, 0, 0] = np.inf
        out.backward(hg.tensor(g.astype(dtype)))
        want.backward(torch.tensor(g.astype(np.float32)))
        np.testing.assert_allclose(hw.grad.numpy(), tw.grad.numpy(), rtol=1e-5)
        assert np.isfinite(tw.grad.numpy()).any() and not np.isfinite(tw.grad.numpy()).all()


@pytest.mark.parametrize("groups, out_channels", [(1, 1), (1, 2), (2, 2), (2, 4), (2, 6)])
def test_float64_single_product_convolution_keeps_the_sign_of_a_padding_zero(groups, out_channels):
    """Fuzz seed 1366002160 (conv1d, groups=2, 4 output channels, padding 1, no bias): where each
    output is a single product (one input channel per group, a 1x1 kernel) and a group has two or
    more output channels, PyTorch's float64 kernel writes w * x itself, so a padding zero times a
    negative weight is -0.0 (a later rsqrt gives -inf there); with one output channel per group
    it is +0.0. The exact input of the seed, then zeros of both signs against weights of both."""
    x = np.array(
        [
            [[-0.0825, -0.1554, -1.2823], [-0.1958, 0.6224, 1.7302]],
            [[0.3141, -1.7982, 0.6563], [1.2222, 0.6377, 0.1633]],
        ]
    )[:, :groups]
    x = np.concatenate([x, np.zeros((2, groups, 2)), -np.zeros((2, groups, 1))], axis=2)
    w = np.array([0.3966, 0.2826, 1.304, -0.3148, -1.0, 2.0, -3.0, 4.0])[:out_channels]
    w = w.reshape(out_channels, 1, 1)
    for padding in (0, 1, 2):
        out = F.conv1d(hg.tensor(x), hg.tensor(w), padding=padding, groups=groups).numpy()
        want = torch.nn.functional.conv1d(
            torch.tensor(x), torch.tensor(w), padding=padding, groups=groups
        ).numpy()
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(np.signbit(out), np.signbit(want))


def test_unbatched_inputs():
    x, w = hg.randn(3, 6, 7), hg.randn(2, 3, 3, 3)
    assert F.conv2d(x, w).shape == (2, 4, 5)
    assert F.conv1d(hg.randn(3, 9), hg.randn(2, 3, 4), padding="same").shape == (2, 9)
    assert F.conv_transpose2d(hg.randn(2, 3, 4), hg.randn(2, 5, 2, 2), stride=2).shape == (5, 6, 8)


# ---- errors -----------------------------------------------------------------------------------

ERRORS = [
    # channels not divisible by groups / mismatched weight shape
    (
        lambda: F.conv2d(hg.randn(1, 3, 5, 5), hg.randn(8, 4, 3, 3)),
        (
            r"conv2d: input has 3 channels but weight expects 4 \(weight shape \(8, 4, 3, 3\), "
            r"groups=1\)"
        ),
    ),
    (
        lambda: F.conv2d(hg.randn(1, 4, 5, 5), hg.randn(6, 2, 3, 3), groups=3),
        r"conv2d: input has 4 channels but weight expects 6 .*groups=3",
    ),
    (
        lambda: F.conv2d(hg.randn(1, 4, 5, 5), hg.randn(5, 2, 3, 3), groups=2),
        r"conv2d: weight has 5 output channels, not divisible by groups=2",
    ),
    (
        lambda: F.conv_transpose2d(hg.randn(1, 3, 5, 5), hg.randn(4, 2, 3, 3)),
        r"conv_transpose2d: input has 3 channels but weight expects 4",
    ),
    (
        lambda: F.conv_transpose2d(hg.randn(1, 3, 5, 5), hg.randn(3, 2, 3, 3), groups=2),
        r"conv_transpose2d: input has 3 channels, not divisible by groups=2",
    ),
    (
        lambda: hg.nn.Conv2d(3, 8, 3, groups=2),
        r"Conv2d: in_channels=3 must be divisible by groups=2",
    ),
    (
        lambda: hg.nn.ConvTranspose1d(4, 6, 3, groups=4),
        r"ConvTranspose1d: out_channels=6 must be divisible by groups=4",
    ),
    # kernel larger than the padded input
    (
        lambda: F.conv2d(hg.randn(1, 3, 4, 4), hg.randn(2, 3, 5, 5)),
        (
            r"conv2d: kernel size \(5, 5\) is larger than the padded input \(4, 4\) \(input shape "
            r"\(1, 3, 4, 4\)"
        ),
    ),
    (
        lambda: F.conv1d(hg.randn(1, 3, 6), hg.randn(2, 3, 3), dilation=4, padding=1),
        r"conv1d: kernel size \(3,\) \(dilated to \(9,\)\) is larger than the padded input \(8,\)",
    ),
    # wrong number of dimensions
    (
        lambda: F.conv2d(hg.randn(5, 5), hg.randn(2, 1, 3, 3)),
        (
            r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input \(N, C, H, W\), got an "
            r"input of shape \(5, 5\)"
        ),
    ),
    (
        lambda: F.conv2d(hg.randn(1, 3, 5, 5), hg.randn(2, 3, 3)),
        (
            r"conv2d: weight must be 4-D \(out_channels, in_channels / groups, kH, kW\), got shape "
            r"\(2, 3, 3\)"
        ),
    ),
    (
        lambda: hg.nn.Conv1d(3, 2, 3)(hg.randn(1, 3, 5, 5)),
        r"conv1d: expected a 2-D \(unbatched\) or 3-D \(batched\) input",
    ),
    # other arguments
    (
        lambda: F.conv2d(hg.randn(1, 3, 5, 5), hg.randn(2, 3, 3, 3), bias=hg.randn(3)),
        r"conv2d: bias has shape \(3,\) but the convolution has 2 output channels",
    ),
    (
        lambda: F.conv2d(hg.randn(1, 3, 5, 5), hg.randn(2, 3, 3, 3), stride=2, padding="same"),
        r"conv2d: padding='same' is not supported for strided convolutions",
    ),
    (
        lambda: F.conv2d(hg.randn(1, 3, 5, 5), hg.randn(2, 3, 3, 3), padding="full"),
        r"conv2d: padding must be 'valid', 'same'",
    ),
    (
        lambda: F.conv2d(hg.randn(1, 3, 5, 5), hg.randn(2, 3, 3, 3), stride=0),
        r"conv2d: stride must be >= 1",
    ),
    (
        lambda: F.conv_transpose2d(
            hg.randn(1, 3, 5, 5), hg.randn(3, 2, 3, 3), stride=2, output_padding=2
        ),
        r"conv_transpose2d: output_padding \(2, 2\) must be smaller than either stride",
    ),
    (
        lambda: F.conv_transpose2d(hg.randn(1, 3, 1, 1), hg.randn(3, 2, 1, 1), padding=1),
        r"conv_transpose2d: the output would be empty",
    ),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=range(len(ERRORS)))
def test_errors_name_the_operation_and_the_shapes(call, message):
    with pytest.raises((RuntimeError, ValueError), match=message):
        call()


@pytest.mark.parametrize("groups, stride", [(1, 1), (2, 1), (1, 2)])
def test_bands_are_shared_among_the_blas_threads_and_give_the_same_bits(
    monkeypatch, groups, stride
):
    """With two BLAS threads a convolution's bands are shared between two Python threads, each
    band's product on one BLAS thread (ops/conv.py, ``_each_band``), and so are the channels of
    its padded input (``_pad_crop``); the pool is restored after: values and gradients are bit
    for bit those of one thread, and equal torch's."""
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 2000)  # several bands
    monkeypatch.setattr(conv_ops, "_PARALLEL_ELEMENTS", 1)
    names: set = set()

    def recording(fn):
        def record(*args):
            names.add(threading.current_thread().name)
            return fn(*args)

        return record

    # the im2col copies (convolutions) and the col2im scatters (transposed ones)
    monkeypatch.setattr(conv_ops, "_col_bands", recording(conv_ops._col_bands))
    monkeypatch.setattr(conv_ops, "_col2im_add", recording(conv_ops._col2im_add))
    r = np.random.default_rng(7)
    # 8 input channels: a strided convolution's input gradient (a transposed convolution) is
    # split over them
    x, w = r.standard_normal((3, 8, 11, 9)), r.standard_normal((6, 8 // groups, 3, 3))
    g = r.standard_normal((3, 6, *((11, 9) if stride == 1 else (6, 5))))

    def run(threads):
        with blas_pool(threads):
            hx, hw = hg.tensor(x, requires_grad=True), hg.tensor(w, requires_grad=True)
            out = F.conv2d(hx, hw, stride=stride, padding=1, groups=groups)
            out.backward(hg.tensor(g))
            assert hg.get_num_threads() == threads
        return out.detach().numpy(), hx.grad.numpy(), hw.grad.numpy()

    one = run(1)
    assert len(names) == 1
    two = run(2)
    assert any(n.startswith("handgrad-conv") for n in names)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    want = torch.nn.functional.conv2d(tx, tw, stride=stride, padding=1, groups=groups)
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(two[0], want.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(two[1], tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(two[2], tw.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_input_and_weight_gradients_run_side_by_side_without_a_graph(monkeypatch):
    """With two BLAS threads and no graph of the gradient, a strided convolution's weight
    gradient runs on a pool thread while its input gradient runs on the caller's
    (``blas.side_by_side``), each with its bands on its own thread and no graph recorded on
    either; the values are those of one thread, bit for bit. With ``create_graph=True`` both run
    on the caller's thread and the weight gradient is recorded. (A stride-1 one forms both from
    one im2col of g: ``test_stride1_gradients_share_one_im2col_of_g``.)"""
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 2000)
    monkeypatch.setattr(conv_ops, "_PARALLEL_ELEMENTS", 1)
    seen: list = []
    forward = conv_ops.Conv2dWeight.forward

    def recording(self, *args, **kwargs):
        seen.append((threading.current_thread().name, hg.is_grad_enabled()))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(conv_ops.Conv2dWeight, "forward", recording)
    r = np.random.default_rng(3)
    x, w = r.standard_normal((2, 16, 7, 6)), r.standard_normal((5, 16, 3, 3))

    def run(threads, create_graph=False):
        seen.clear()
        with blas_pool(threads):
            hx, hw = hg.tensor(x, requires_grad=True), hg.tensor(w, requires_grad=True)
            out = F.conv2d(hx, hw, padding=1, stride=2)
            gx, gw = hg.autograd.grad((out * out).sum(), (hx, hw), create_graph=create_graph)
        return gx, gw

    one = run(1)
    assert [name for name, _ in seen] == [threading.current_thread().name]
    two = run(2)
    assert len(seen) == 1 and seen[0][0].startswith("handgrad-conv") and seen[0][1] is False
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    gx, gw = run(2, create_graph=True)
    assert seen == [(threading.current_thread().name, True)] and gw.grad_fn is not None
    np.testing.assert_allclose(gw.detach().numpy(), one[1].numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "kernel, padding, dilation, groups, out_channels",
    [
        ((3, 3), 1, 1, 1, 5),
        ((3, 3), 0, 1, 1, 5),
        ((2, 3), (2, 0), 1, 1, 5),
        ((3, 3), 2, 2, 1, 5),
        ((1, 1), 0, 1, 1, 5),
        ((3, 3), 1, 1, 4, 8),  # 4 channels a group
        ((3, 3), 1, 1, 16, 16),  # depthwise
        ((2, 3), (1, 0), 2, 16, 32),  # depthwise, two outputs a channel
        ((1, 1), 0, 1, 16, 32),  # 1x1 depthwise, two outputs a channel
    ],
)
def test_stride1_gradients_share_one_im2col_of_g(
    monkeypatch, kernel, padding, dilation, groups, out_channels
):
    """A stride-1 convolution's two gradients without a graph come from one im2col copy of g per
    band (``_gradients_stride1``): dL/dx = G W', dL/dw = G X^T with its taps flipped, per group.
    The input gradient has the bits of the convolution ``_input_grad_stride1`` makes; the weight
    gradient equals torch's and ``Conv2dWeight``'s; one and two threads give the same bits."""
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 2000)  # several bands, shared by two threads
    monkeypatch.setattr(conv_ops, "_PARALLEL_ELEMENTS", 1)
    used: list = []
    fused = conv_ops._gradients_stride1

    def spy(*args):
        used.append(True)
        return fused(*args)

    monkeypatch.setattr(conv_ops, "_gradients_stride1", spy)
    r = np.random.default_rng(11)
    x = r.standard_normal((3, 16, 9, 8))
    w = r.standard_normal((out_channels, 16 // groups, *kernel))
    b = r.standard_normal(out_channels)

    def run(threads):
        with blas_pool(threads):
            hx, hw = hg.tensor(x, requires_grad=True), hg.tensor(w, requires_grad=True)
            out = F.conv2d(hx, hw, hg.tensor(b), padding=padding, dilation=dilation, groups=groups)
            (out * out).sum().backward()
        return out.detach(), hx.grad, hw.grad

    one, two = run(1), run(2)
    assert len(used) == 2
    for a, c in zip(one, two):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
    out, gx, gw = one
    g = 2 * out
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    pads = ((ph, ph), (pw, pw))  # the forward's ((top, bottom), (left, right))
    with hg.no_grad():
        want_gx = conv_ops._input_grad_stride1(g, hg.tensor(w), (dilation,) * 2, pads, groups)
        want_gw = conv_ops.Conv2dWeight.apply(
            hg.tensor(x),
            g,
            kernel_size=kernel,
            stride=(1, 1),
            padding=pads,
            dilation=(dilation,) * 2,
            groups=groups,
        )
    np.testing.assert_array_equal(gx.numpy(), want_gx.numpy())
    np.testing.assert_allclose(gw.numpy(), want_gw.numpy(), rtol=1e-12, atol=1e-12)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tout = torch.nn.functional.conv2d(
        tx, tw, torch.tensor(b), padding=padding, dilation=dilation, groups=groups
    )
    (tout * tout).sum().backward()
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gw.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("groups, out_channels", [(1, 4), (16, 16)])
def test_stride1_weight_gradient_skips_the_padding_where_x_holds_inf(groups, out_channels):
    """``_gradients_stride1`` multiplies g's padding zeros by x; where x holds inf that gave NaN,
    so the weight gradient is formed again over the input positions only, as ``Conv2dWeight``
    forms it (torch's float32 kernel too: conv_weight_grad_skips_padding in
    docs/differences.md)."""
    r = np.random.default_rng(12)
    x = r.standard_normal((2, 16, 6, 5)).astype(np.float32)
    x[1, 3, 0, 4] = np.inf  # a corner: padding rows and columns of g meet it
    w = r.standard_normal((out_channels, 16 // groups, 3, 3)).astype(np.float32)
    g = r.standard_normal((2, out_channels, 6, 5)).astype(np.float32)
    gx, gw = conv_ops._gradients_stride1(g, x, w, (1, 1), ((1, 1), (1, 1)), groups)
    want = conv_ops.Conv2dWeight().forward(
        x,
        g,
        kernel_size=(3, 3),
        stride=(1, 1),
        padding=((1, 1), (1, 1)),
        dilation=(1, 1),
        groups=groups,
    )
    assert not np.isnan(gw).all() and np.isinf(gw).any()
    np.testing.assert_array_equal(gw, want)


def test_parts_started_inside_a_part_run_on_its_thread():
    """``each_part`` called from inside a part (or a side of ``side_by_side``) runs every part on
    that thread: the one pool thread never waits on itself."""
    with blas_pool(2):

        def side() -> tuple:
            here = threading.current_thread().name
            names = blas_ops.each_part(lambda lo, hi: threading.current_thread().name, 4, 2)
            return here, names

        (a, parts_a), (b, parts_b) = blas_ops.side_by_side(side, side)
        outer = blas_ops.each_part(lambda lo, hi: threading.current_thread().name, 4, 2)
    assert a != b and parts_a == [a] and parts_b == [b]
    assert len(set(outer)) == 2  # outside a part the pool is used


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_runs_shared_bands_after_its_parent(monkeypatch):
    """A child forked after the parent shared bands among threads (a DataLoader worker, a
    Hogwild process) gets no threads of the parent's pool: it starts its own and finishes."""
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 2000)
    monkeypatch.setattr(conv_ops, "_PARALLEL_ELEMENTS", 1)
    x, w = hg.randn(2, 3, 8, 8), hg.randn(4, 3, 3, 3)
    with blas_pool(2):
        want = F.conv2d(x, w, padding=1).numpy()
        assert blas_ops._pool is not None
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_conv_in_child, args=(x, w, queue))
        child.start()
        got = queue.get(timeout=120)  # a guard against a hang, not a timing
        child.join()
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, want)


def _conv_in_child(x, w, queue):
    queue.put(F.conv2d(x, w, padding=1).numpy())
