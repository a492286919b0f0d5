"""Layer normalization's row kernels (ops/_rows.py): the fast path agrees with the general one
and with torch, with and without a graph, and steps aside for what it does not handle. Every test
runs twice: on numba's compiled kernels (ops/_compiled.py) and on the NumPy passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad.ops import _compiled, _rows

from nn_helpers import blas_pool

R = np.random.default_rng(7)


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def kernels(request, monkeypatch):
    """The row kernels under test: numba's compiled ones, or the NumPy passes (numba off)."""
    if request.param == "compiled" and _compiled.kernels() is None:
        pytest.skip("numba is not installed")
    if request.param == "numpy":
        monkeypatch.setattr(_compiled, "_kernels", False)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_layer_norm_rows_match_torch(dtype, affine, create_graph):
    x = R.standard_normal((3, 5, 6)).astype(dtype) * 3 + 1
    g = R.standard_normal(x.shape).astype(dtype)
    w = R.standard_normal((5, 6)).astype(dtype) if affine in ("both", "weight") else None
    b = R.standard_normal((5, 6)).astype(dtype) if affine in ("both", "bias") else None
    assert _rows.layer_norm_forward(x, 2, w, b, 1e-5) is not None  # the fast path is taken

    def run(lib):
        xt = lib.tensor(x, requires_grad=True)
        ps = [None if a is None else lib.tensor(a, requires_grad=True) for a in (w, b)]
        F = torch.nn.functional if lib is torch else hg.nn.functional
        out = F.layer_norm(xt, (5, 6), *ps)
        leaves = [xt] + [p for p in ps if p is not None]
        grad = torch.autograd.grad if lib is torch else hg.grad
        gs = grad(out, leaves, lib.tensor(g), create_graph=create_graph)
        return [out.detach().numpy()] + [a.detach().numpy() for a in gs]

    tol = 2e-5 if dtype == np.float32 else 1e-12
    for h, t in zip(run(hg), run(torch)):
        np.testing.assert_allclose(h, t, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups", [1, 2, 6])
@pytest.mark.parametrize("create_graph", [False, True])
def test_group_norm_rows_with_a_per_channel_weight_match_torch(dtype, groups, create_graph):
    """group_norm's weight and bias (per channel, broadcast along the positions) inside the
    fused node, on the row kernels: values and the gradients by x, weight and bias."""
    x = R.standard_normal((3, 6, 4, 5)).astype(dtype) * 3 + 1
    g = R.standard_normal(x.shape).astype(dtype)
    w, b = R.standard_normal(6).astype(dtype), R.standard_normal(6).astype(dtype)
    shape = (3, groups, 6 // groups, 20)
    pw = w.reshape(groups, -1, 1)
    assert _rows.layer_norm_forward(x.reshape(shape), 2, pw, pw, 1e-5) is not None

    def run(lib):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        F = torch.nn.functional if lib is torch else hg.nn.functional
        out = F.group_norm(xt, groups, wt, bt)
        grad = torch.autograd.grad if lib is torch else hg.grad
        gs = grad(out, [xt, wt, bt], lib.tensor(g), create_graph=create_graph)
        return [out.detach().numpy()] + [a.detach().numpy() for a in gs]

    tol = 2e-5 if dtype == np.float32 else 1e-12
    for h, t in zip(run(hg), run(torch)):
        np.testing.assert_allclose(h, t, rtol=tol, atol=tol)


def test_layer_norm_rows_of_a_constant_row_are_torchs():
    # fuzz seed 922836319: 30 float32 values -0.6931472 (logsigmoid(0)); the BLAS's sum of the
    # row was an ulp off its mean, and 1 / sqrt(eps) made that x^ = -1.9e-5 where torch's (and
    # the exact) x^ is 0, and the weight gradient without a graph 100 times torch's noise
    x = np.full((3, 2, 5, 3), -0.6931472, np.float32)
    w = R.standard_normal((2, 5, 3)).astype(np.float32)
    b = R.standard_normal((2, 5, 3)).astype(np.float32)
    g = R.standard_normal(x.shape).astype(np.float32)
    assert _rows.layer_norm_forward(x, 3, w, b, 1e-5) is not None  # the fast path is taken
    got = []
    for lib in (hg, torch):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        F = torch.nn.functional if lib is torch else hg.nn.functional
        out = F.layer_norm(xt, (2, 5, 3), wt, bt)
        out.backward(lib.tensor(g))
        got.append((out.detach().numpy(), wt.grad.numpy()))
    (h, hw), (t, tw) = got
    np.testing.assert_array_equal(h, t)
    np.testing.assert_array_equal(h, np.broadcast_to(b, x.shape))  # x^ = 0: the bias
    assert (hw == 0).all() and np.abs(tw).max() < 1e-5  # torch's noise, handgrad the exact 0


def test_group_norm_plain_gradient_of_a_constant_group_is_torchs_graph():
    """fuzz seed 1956664464: a constant group (x^ = 0, 1 / sigma = 1 / sqrt(eps)) under a constant
    upstream gradient: d - mean d is 0, as torch's graph gives it; the BLAS's float32 sum of the
    row left an ulp that 1 / sigma made -4.7e-6 in handgrad's no-graph backward (torch's own
    no-graph kernel gives 3.8e-6: torch_plain_backward_differs)."""
    x = np.full((2, 1, 2, 3), -0.25699666, np.float32)
    g = np.full(x.shape, -0.09465747, np.float32)
    w, b = np.array([-1.8829], np.float32), np.array([-1.033], np.float32)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.group_norm(tx, 1, torch.tensor(w), torch.tensor(b))
    (want,) = torch.autograd.grad(tout, tx, torch.tensor(g), create_graph=True)
    hx = hg.tensor(x, requires_grad=True)
    hg.nn.functional.group_norm(hx, 1, hg.tensor(w), hg.tensor(b)).backward(hg.tensor(g))
    np.testing.assert_array_equal(hx.grad.numpy(), want.detach().numpy())
    assert not hx.grad.numpy().any()


def test_layer_norm_rows_step_aside():
    x = np.ones((2, 4), np.float32)
    x[0, 1] = np.inf
    assert _rows.layer_norm_forward(x, 1, None, None, 1e-5) is None  # non-finite
    big = np.full((1, 4), 3e38, np.float32)
    big[0, 0] = 1.0
    assert _rows.layer_norm_forward(big, 1, None, None, 1e-5) is None  # the sum overflows
    assert _rows.layer_norm_forward(np.ones((4, 2)).T, 1, None, None, 1e-5) is None  # layout
    g = np.ones((4, 2)).T
    xhat, rstd = np.ones((2, 4)), np.ones((2, 1))
    assert _rows.layer_norm_backward(g, xhat, rstd, None, 1, (True, False, False)) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sums_and_dots_equal_numpys(dtype):
    a = R.standard_normal((4, 3, 5)).astype(dtype)
    b = R.standard_normal((4, 3, 5)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for dim in (0, 1, 2):
        np.testing.assert_allclose(_rows.sums(a, dim), a.sum(axis=dim, keepdims=True), rtol=tol)
        exact = (a.astype(np.float64) * b).sum(axis=dim, keepdims=True)
        np.testing.assert_allclose(_rows.dot(a, b, dim, np.float64), exact, rtol=1e-14)
    t = a.transpose(0, 2, 1)  # not contiguous: NumPy's own reduction
    np.testing.assert_array_equal(_rows.sums(t, 2), t.sum(axis=2, keepdims=True))
    np.testing.assert_array_equal(_rows.sums(a[:, :, :0], 2), np.zeros((4, 3, 1), dtype))
    row = np.array([[np.inf, -np.inf, 1.0]], dtype)
    assert (
        np.isnan(_rows.sums(row, 1)).all()
        and np.isnan(_rows.dot(row, row * 0 + 1, 1, np.float64)).all()
    )


def _batch_norm_run(lib, x, w, b, g, create_graph):
    """Batch norm of x given in the batch-innermost memory a convolution returns."""
    if lib is torch:
        xt = torch.tensor(x, requires_grad=True)
    else:
        xt = hg.Tensor._wrap(np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2))
        xt.requires_grad_(True)
    wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
    rm, rv = lib.tensor(np.zeros(w.shape, x.dtype)), lib.tensor(np.ones(w.shape, x.dtype))
    F = torch.nn.functional if lib is torch else hg.nn.functional
    out = F.batch_norm(xt, rm, rv, wt, bt, training=True)
    grad = torch.autograd.grad if lib is torch else hg.grad
    gs = grad(out, [xt, wt, bt], lib.tensor(g), create_graph=create_graph)
    return [out.detach().numpy(), rm.numpy(), rv.numpy()] + [a.detach().numpy() for a in gs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("create_graph", [False, True])
def test_batch_norm_rows_match_torch(dtype, create_graph):
    x = (R.standard_normal((4, 3, 5, 6)) * 2 + 1).astype(dtype)
    w, b = R.standard_normal(3).astype(dtype), R.standard_normal(3).astype(dtype)
    g = R.standard_normal(x.shape).astype(dtype)
    xc = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    assert _rows.batch_norm_forward(xc, w, b, 1e-5) is not None  # the fast path is taken
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for h, t in zip(
        _batch_norm_run(hg, x, w, b, g, create_graph),
        _batch_norm_run(torch, x, w, b, g, create_graph),
    ):
        np.testing.assert_allclose(h, t, rtol=tol, atol=tol)


def _same_bits_on_one_and_two_threads(run):
    """``run()`` (a list of arrays) with a BLAS pool of one thread, then of two: the same bits."""
    runs = []
    for threads in (1, 2):
        with blas_pool(threads):
            runs.append(run())
    for a, c in zip(*runs):
        np.testing.assert_array_equal(a, c)


def test_batch_norm_rows_give_the_same_bits_on_two_threads(monkeypatch):
    monkeypatch.setattr(_rows, "_PARALLEL_ELEMENTS", 1)
    x = R.standard_normal((4, 6, 5, 5)).astype(np.float32)
    w, b = R.standard_normal(6).astype(np.float32), R.standard_normal(6).astype(np.float32)
    g = R.standard_normal(x.shape).astype(np.float32)
    _same_bits_on_one_and_two_threads(lambda: _batch_norm_run(hg, x, w, b, g, False))


def test_batch_norm_rows_give_the_same_bits_in_blocks_of_any_size(monkeypatch):
    """The passes run over blocks of channel rows (``_BLOCK_ELEMENTS``); a row's arithmetic
    does not depend on its block: one channel a block, two (what a 16-channel 32 x 32 layer at
    batch 32 gets), or all at once give the same bits."""
    x = R.standard_normal((4, 6, 5, 5)).astype(np.float32)
    w, b = R.standard_normal(6).astype(np.float32), R.standard_normal(6).astype(np.float32)
    g = R.standard_normal(x.shape).astype(np.float32)
    runs = []
    for elements in (1, 200, 1 << 30):  # 1, 2 and 6 channels a block
        monkeypatch.setattr(_rows, "_BLOCK_ELEMENTS", elements)
        runs.append(_batch_norm_run(hg, x, w, b, g, False))
    for run in runs[1:]:
        for a, c in zip(runs[0], run):
            np.testing.assert_array_equal(a, c)


def test_batch_norm_rows_step_aside():
    x = np.ones((2, 3, 4, 4), np.float32).transpose(0, 1, 2, 3)  # NCHW memory: no channel rows
    assert _rows.batch_norm_forward(x, None, None, 1e-5) is None
    xc = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    xc[0, 0, 0, 0] = np.inf  # a channel's mean is not finite: the general path handles it
    assert _rows.batch_norm_forward(xc, None, None, 1e-5) is None


@pytest.mark.parametrize("layout", ["2d", "channel rows", "nchw"])
def test_batch_norm_statistics_are_accurate_to_float32_rounding(layout):
    # fuzz seed 1925132378: two equal rows after rsqrt; a float32 mean of values near 1.4 ulps
    # off made x - mean = 0.08 2e-6 off, and the bias cancelling w x^ 1e-5 (torch, whose
    # statistics are in double, 2e-6); the mean corrected by the mean of the residuals
    x = np.array([[1.3675444, 5.388719], [1.3675444, 5.388719], [1.4856403, 4.6294713]], np.float32)
    w, b = np.array([-0.873, -0.6163], np.float32), np.array([1.0486, -0.7325], np.float32)
    x64 = x.astype(np.float64)
    xc = x64 - x64.mean(0)
    exact = xc / np.sqrt((xc * xc).mean(0) + 1e-5) * w + b
    xs = x if layout == "2d" else x[:, :, None, None]
    if layout == "channel rows":
        xs = np.ascontiguousarray(xs.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
        assert _rows.batch_norm_forward(xs, w, b, 1e-5) is not None  # the kernel is taken
    out = hg.nn.functional.batch_norm(
        hg.Tensor._wrap(xs), None, None, hg.tensor(w), hg.tensor(b), training=True
    )
    # (torch's float32 output, x alpha + (b - mean alpha), is 2e-6 to 1.4e-5 off here)
    np.testing.assert_allclose(out.numpy().reshape(x.shape), exact, rtol=1.5e-6)  # before: 1e-5


def test_layer_norm_rows_give_the_same_bits_on_two_threads(monkeypatch):
    """The rows run in fixed blocks (``_ROW_BLOCK_ELEMENTS``) that the threads share: the BLAS's
    row sums round a row by its place in the call, so blocks per thread would differ."""
    monkeypatch.setattr(_rows, "_PARALLEL_ELEMENTS", 1)
    monkeypatch.setattr(_rows, "_ROW_BLOCK_ELEMENTS", 7 * 24)  # 7 rows a block: 3 blocks
    monkeypatch.setattr(_rows, "_COMPILED_BLOCK_ROWS", 7)  # (the compiled dw and db sums')
    x = (R.standard_normal((19, 24)) * 3 + 2).astype(np.float32)
    w, b = R.standard_normal(24).astype(np.float32), R.standard_normal(24).astype(np.float32)
    g = R.standard_normal(x.shape).astype(np.float32)

    def run():
        out, xhat, rstd = _rows.layer_norm_forward(x, 1, w, b, 1e-5)
        grads = _rows.layer_norm_backward(g, xhat, rstd, w, 1, (1, 1, 1))
        return [out, _rows.as_array(xhat), rstd, *grads]

    _same_bits_on_one_and_two_threads(run)


@pytest.mark.parametrize("affine", ["both", "weight"])  # (torch's group_norm: no bias alone)
@pytest.mark.parametrize("broadcast_g", [False, True])
def test_group_norm_parameters_apply_in_the_row_blocks(monkeypatch, affine, broadcast_g):
    """group_norm's per-channel weight and bias vary along the rows' leading dims: each block of
    rows applies its rows' share (``_row_params``), forward and backward, over several blocks
    whose rows start mid-example; and a broadcast g (a sum's) takes the row kernels too. Values
    and gradients against torch's; the same bits on one thread and two."""
    monkeypatch.setattr(_rows, "_ROW_BLOCK_ELEMENTS", 5 * 18)  # 5 rows (of 3 groups) a block
    x = (R.standard_normal((7, 6, 3, 3)) * 2 + 1).astype(np.float32)
    w = R.standard_normal(6).astype(np.float32) if affine != "bias" else None
    b = R.standard_normal(6).astype(np.float32) if affine != "weight" else None
    g = R.standard_normal(x.shape).astype(np.float32)
    calls = []
    kernel = _rows.layer_norm_backward

    def spy(*args, **kwargs):
        result = kernel(*args, **kwargs)
        calls.append(result is not None)  # the kernel took it
        return result

    monkeypatch.setattr(_rows, "layer_norm_backward", spy)

    def run(lib):
        xt = lib.tensor(x, requires_grad=True)
        ps = [None if a is None else lib.tensor(a, requires_grad=True) for a in (w, b)]
        out = lib.nn.functional.group_norm(xt, 3, *ps)
        leaves = [xt] + [p for p in ps if p is not None]
        grad = torch.autograd.grad if lib is torch else hg.grad
        gs = grad(out.sum() if broadcast_g else out, leaves, None if broadcast_g else lib.tensor(g))
        return [out.detach().numpy()] + [a.numpy() for a in gs]

    one = run(hg)
    assert calls == [True]
    for h, t in zip(one, run(torch)):
        np.testing.assert_allclose(h, t, rtol=2e-5, atol=2e-5)
    monkeypatch.setattr(_rows, "_PARALLEL_ELEMENTS", 1)
    with blas_pool(2):
        two = run(hg)
    for a, c in zip(one, two):
        np.testing.assert_array_equal(a, c)


def test_layer_norm_of_a_broadcast_gradient_takes_the_row_kernel(monkeypatch):
    """A sum's gradient is a broadcast array, not rows: it is made rows (one copy) rather than
    sent down the graph path; the gradients stay torch's."""
    kernel, taken = _rows.layer_norm_backward, []

    def spy(g, *args):
        result = kernel(g, *args)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(_rows, "layer_norm_backward", spy)
    x = (R.standard_normal((16, 16, 64)) * 2 + 1).astype(np.float32)  # (big: a broadcast g)
    w, b = (R.standard_normal(64).astype(np.float32) for _ in range(2))
    grads = []
    for lib in (hg, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        F = torch.nn.functional if lib is torch else hg.nn.functional
        F.layer_norm(ts[0], (64,), ts[1], ts[2]).sum().backward()
        grads.append([t.grad.numpy() for t in ts])
    assert taken == [True]
    for h, t in zip(*grads):
        np.testing.assert_allclose(h, t, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("m", [5, 1024, 3 * 1024 + 37, 32768])
def test_row_dots_are_accurate_sums_of_products(m):
    """Batch norm's variance and weight gradient (``_row_dots``): einsum's float32 sums of blocks
    of 1024 products, the blocks added in float64. Within 2e-7 of the exact sum (float32 rows,
    positive and mixed terms), where einsum's one float32 sum of a 32768-element row is 1.4e-6
    off; rows of less than a block are einsum's float64 sum itself."""
    r = np.random.default_rng(m)
    a = (r.standard_normal((3, m)) * 0.5 + 0.2).astype(np.float32)
    b = r.standard_normal((3, m)).astype(np.float32)
    for u, v in ((a, a), (a, b)):
        exact = np.einsum("ij,ij->i", u.astype(np.longdouble), v.astype(np.longdouble))
        scale = np.einsum("ij,ij->i", np.abs(u).astype(np.float64), np.abs(v))
        got = _rows._row_dots(u, v)
        assert got.dtype == np.float64
        assert (np.abs(got - exact) <= 2e-7 * scale).all()
        if m < 1024:
            np.testing.assert_array_equal(got, np.einsum("ij,ij->i", u, v, dtype=np.float64))
