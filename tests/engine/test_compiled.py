"""numba's compiled normalization kernels (ops/_compiled.py): taken when numba is there, off with
HANDGRAD_JIT=0 or without numba, the NumPy passes' values to rounding (exactly where a row is
constant), and safe to call from two threads at once. tests/engine/test_rows.py runs its
torch comparisons on both paths."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import handgrad as hg
from handgrad.ops import _compiled, _rows

pytest.importorskip("numba")

R = np.random.default_rng(11)
F = hg.nn.functional


def _channel_rows(a: np.ndarray) -> np.ndarray:
    """a (N, C, H, W) in the batch-innermost memory a convolution returns."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def _spy(taken: set):
    """The compiled kernels behind a recorder: each call adds its kernel's name to ``taken``."""
    kernels = _compiled.kernels()

    class Spy:
        def __getattr__(self, name):
            def call(*a):
                taken.add(name)
                return getattr(kernels, name)(*a)

            return call

    return Spy()


def _norms(x, w, b, g, xc, gc):
    """Layer norm over x's last dim and batch norm of xc, forward and the plain backward."""
    ln = _rows.layer_norm_forward(x, 1, w, b, 1e-5)
    ln_grads = _rows.layer_norm_backward(g, ln[1], ln[2], w, 1, (True, True, True))
    c = xc.shape[1]
    bn = _rows.batch_norm_forward(xc, w[:c], b[:c], 1e-5)
    bn_grads = _rows.batch_norm_backward(gc, bn[1], bn[4], w[:c], True)
    ln = [ln[0], _rows.as_array(ln[1]), ln[2]]
    return [*ln, *ln_grads, bn[0], _rows.as_array(bn[1]), *bn[2:], *bn_grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_kernels_give_the_numpy_passes_values(dtype, monkeypatch):
    """Sums in float64 (and, for float64 rows, the mean of the residuals) against NumPy's: the
    same values to a few units of rounding, both layer norm (rows of 96, two of them constant)
    and batch norm (channel rows of 5 x 7 x 8)."""
    x = (R.standard_normal((40, 96)) * 3 + 1).astype(dtype)
    # constant rows: x^ exactly 0 on both paths (96 float64 copies of the first sum to an
    # ulp off 96 times it: the float64 rows' correction makes x - mean 0 there)
    x[3] = dtype(0.3771906632801799)
    x[17] = dtype(-0.6931472)
    w, b = R.standard_normal(96).astype(dtype), R.standard_normal(96).astype(dtype)
    g = R.standard_normal(x.shape).astype(dtype)
    xc = _channel_rows((R.standard_normal((8, 6, 5, 7)) * 2 - 1).astype(dtype))
    gc = _channel_rows(R.standard_normal(xc.shape).astype(dtype))
    compiled = _norms(x, w, b, g, xc, gc)
    monkeypatch.setattr(_compiled, "_kernels", False)
    numpy = _norms(x, w, b, g, xc, gc)
    tol = 4e-6 if dtype == np.float32 else 1e-13
    for c, n in zip(compiled, numpy):
        assert c.dtype == n.dtype and c.shape == n.shape
        np.testing.assert_allclose(c, n, rtol=tol, atol=tol * np.abs(n).max())
    for rows in (compiled[1][3], compiled[1][17]):  # x^ of the constant rows
        assert not rows.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_x_hat_is_not_stored_but_formed_again_with_its_bits(dtype):
    """The compiled batch and layer norms write only their output (``_rows.Normalized`` keeps
    x and the rows' float64 moments): x^ formed again in NumPy has the kernel's bits, which the
    output without weight and bias (x^ 1 + 0) shows."""
    xc = _channel_rows((R.standard_normal((8, 5, 4, 6)) * 3 + 2).astype(dtype))
    x = (R.standard_normal((7, 3, 10)) * 3 - 1).astype(dtype)
    for out, xhat, *_ in (
        _rows.batch_norm_forward(xc, None, None, 1e-5),
        _rows.layer_norm_forward(x, 2, None, None, 1e-5),
    ):
        assert isinstance(xhat, _rows.Normalized) and xhat.x is (xc if xhat.channels else x)
        formed = xhat.array()
        assert formed.dtype == dtype and formed.strides == xhat.x.strides  # x's memory order
        np.testing.assert_array_equal(formed, out)


def test_a_batch_norm_backward_without_the_kernels_forms_x_hat_whole(monkeypatch):
    """numba turned off between the forward and the backward (``HANDGRAD_JIT`` read late, a
    test's switch): the NumPy backward forms x^ from the saved moments and gives the compiled
    backward's gradients to rounding."""
    xc = _channel_rows(R.standard_normal((6, 4, 5, 5)).astype(np.float32))
    gc = _channel_rows(R.standard_normal(xc.shape).astype(np.float32))
    w = R.standard_normal(4).astype(np.float32)
    _, xhat, _, _, rstd = _rows.batch_norm_forward(xc, w, None, 1e-5)
    compiled = _rows.batch_norm_backward(gc, xhat, rstd, w, True)
    monkeypatch.setattr(_compiled, "_kernels", False)
    numpy = _rows.batch_norm_backward(gc, xhat, rstd, w, True)
    for a, b in zip(compiled, numpy):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)


def test_the_kernels_are_taken_forward_and_backward(monkeypatch):
    kernels, called = _compiled.kernels(), []
    spy = type("Spy", (), {})()
    for name in ("layer_norm_forward", "layer_norm_backward", "batch_norm_forward"):
        kernel = getattr(kernels, name)
        setattr(spy, name, lambda *a, _k=kernel, _n=name: called.append(_n) or _k(*a))
    spy.batch_norm_backward = lambda *a: (
        called.append("batch_norm_backward") or (kernels.batch_norm_backward(*a))
    )
    monkeypatch.setattr(_compiled, "_kernels", spy)
    x = hg.tensor(R.standard_normal((4, 8, 16)).astype(np.float32), requires_grad=True)
    ln = hg.nn.LayerNorm(16)
    ln(x).sum().backward()
    conv, bn, after = hg.nn.Conv2d(3, 4, 3), hg.nn.BatchNorm2d(4), hg.nn.Conv2d(4, 2, 3)
    # (between convolutions, as in a ResNet: g arrives in the channel rows' memory order)
    after(bn(conv(hg.randn(2, 3, 6, 6)))).sum().backward()
    assert sorted(set(called)) == [
        "batch_norm_backward",
        "batch_norm_forward",
        "layer_norm_backward",
        "layer_norm_forward",
    ]


def test_a_weight_of_another_dtype_takes_the_numpy_passes():
    x = R.standard_normal((3, 8)).astype(np.float32)
    w = np.ones(8)  # float64
    assert _rows._kernels_for(x, w, None) is None
    assert _rows._kernels_for(x.astype(np.float16), None, None) is None
    assert _rows._kernels_for(x, x[0], None) is not None


def test_overflowing_or_non_finite_rows_leave_it_to_the_general_path():
    """What the NumPy passes step aside for, the kernels do too (ops/_compiled.py): a sum of
    magnitudes beyond float32 (torch's float sums overflow there), a non-finite value, a
    variance beyond the dtype (1 / sigma = 0 in torch: the output is the bias)."""
    big = np.full((2, 4), 1.0, np.float32)
    big[1] = [3e38, 3e38, 1.0, 1.0]
    assert _rows.layer_norm_forward(big, 1, None, None, 1e-5) is None
    nan = np.ones((2, 4), np.float64)
    nan[0, 2] = np.nan
    assert _rows.layer_norm_forward(nan, 1, None, None, 1e-5) is None
    spread = _channel_rows(np.full((2, 2, 2, 2), 1.0, np.float32))
    spread[0, 1] = 1e19  # sum of the centred squares about 1e38 x 8 / 4 > float32's range
    spread[1, 1] = -1e19
    assert _rows.batch_norm_forward(spread, None, None, 1e-5) is None
    # the general path then gives torch's: channel 1 the bias, channel 0 the plain x^
    out = F.batch_norm(hg.Tensor._wrap(spread), None, None, None, hg.zeros(2), training=True)
    assert (out.numpy()[:, 1] == 0).all() and (out.numpy()[:, 0] == 0).all()


def test_two_threads_at_once_get_their_own_results():
    """The kernels release the GIL (nogil) and keep no state: two Python threads normalizing
    different arrays at once each get the bits a lone call gives."""
    xs = [R.standard_normal((64, 128)).astype(np.float32) * (i + 1) for i in range(2)]
    w, b = R.standard_normal(128).astype(np.float32), R.standard_normal(128).astype(np.float32)
    alone = [_rows.layer_norm_forward(x, 1, w, b, 1e-5)[0] for x in xs]
    errors: list = []

    def run(i: int) -> None:
        for _ in range(200):
            out = _rows.layer_norm_forward(xs[i], 1, w, b, 1e-5)[0]
            if not np.array_equal(out, alone[i]):
                errors.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _kernels_in_a_process(env: dict, prelude: str = "") -> str:
    code = prelude + "from handgrad.ops import _compiled; print(_compiled.kernels() is None)"
    src = os.path.join(os.path.dirname(hg.__file__), "..")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src), **env}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_handgrad_jit_0_turns_them_off_and_without_numba_there_are_none():
    assert _kernels_in_a_process({"HANDGRAD_JIT": "0"}) == "True"
    assert _kernels_in_a_process({"HANDGRAD_JIT": "1"}) == "False"
    blocked = "import sys; sys.modules['numba'] = None\n"  # import numba raises ImportError
    assert _kernels_in_a_process({}, blocked) == "True"


def test_load_compiles_every_kernel_in_advance():
    assert _compiled.load() is True
    for name in ("layer_norm_forward", "layer_norm_backward", "batch_norm_forward"):
        dispatcher = getattr(_compiled.kernels(), name)
        assert len(dispatcher.signatures) >= 2  # float32 and float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_in_one_pass_has_the_selections_bits(dtype, monkeypatch):
    """+0.0 where out <= 0 (-0.0 and -inf included), g elsewhere (a NaN out passes g, an
    infinite or NaN g passes where out > 0): the bits of the NumPy selection and of torch, in
    NCHW memory, in a convolution's batch-innermost memory, and with g in another order than
    out (where the NumPy selection runs)."""
    import torch

    edge = np.array([-1, 0, -0.0, 2, np.nan, np.inf, -np.inf, 3e-45, -3e-45], dtype)
    x = R.choice(edge, size=(4, 3, 5, 6)).astype(dtype)
    g = R.choice(np.array([np.inf, -np.inf, np.nan, -0.0, 0.0, 1.5], dtype), size=x.shape)
    layouts = [(x, g), (_channel_rows(x), _channel_rows(g)), (_channel_rows(x), g)]
    kernels, taken = _compiled.kernels(), []
    spy = type(
        "Spy", (), {"relu_backward": lambda self, *a: taken.append(1) or kernels.relu_backward(*a)}
    )()
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).backward(torch.tensor(g))
    want = t.grad.numpy()
    for xs, gs in layouts:
        got = []
        for path in ("compiled", "numpy"):
            monkeypatch.setattr(_compiled, "_kernels", spy if path == "compiled" else False)
            h = hg.Tensor._wrap(xs.copy(order="K")).requires_grad_(True)
            F.relu(h).backward(hg.Tensor._wrap(gs))
            got.append(h.grad.numpy())
        for a in got:
            np.testing.assert_array_equal(a.view(f"i{a.itemsize}"), want.view(f"i{a.itemsize}"))
    assert len(taken) == 2  # the two layouts where out and g share their memory order


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_an_lstms_time_loops_keep_their_bits(dtype, threads, monkeypatch):
    """The element-wise steps of the LSTM layer's forward and backward loops, one compiled pass
    a step (ops/_compiled.py), compute what the NumPy passes compute in the same order: a
    2-layer LSTM's output and every gradient bit for bit, on one thread and on two (the layers
    as a wavefront in spans of steps), and the kernels are taken."""
    from nn_helpers import blas_pool

    x = R.standard_normal((9, 3, 5)).astype(dtype)
    g = R.standard_normal((9, 3, 6)).astype(dtype)
    taken: set = set()
    runs = []
    for path in ("compiled", "numpy"):
        monkeypatch.setattr(_compiled, "_kernels", _spy(taken) if path == "compiled" else False)
        hg.manual_seed(0)
        lstm = hg.nn.LSTM(5, 6, num_layers=2).to(dtype)
        xt = hg.tensor(x, requires_grad=True)
        with blas_pool(threads):
            out, _ = lstm(xt)
            out.backward(hg.tensor(g))
        runs.append(
            [out.detach().numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in lstm.parameters()]
        )
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert {"lstm_cell_update", "lstm_back_step"} <= taken


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["both", "weight", "bias"])
def test_group_norm_takes_its_kernels_with_the_numpy_passes_values(dtype, affine, monkeypatch):
    """group_norm's per-channel weight and bias (one value along a channel's positions) in the
    compiled rows (``group_norm_forward`` / ``group_norm_backward``): the output and the input,
    weight and bias gradients of the NumPy passes to rounding, and the kernels are taken."""
    x = (R.standard_normal((5, 12, 4, 3)) * 2 + 1).astype(dtype)
    x[1, :4] = dtype(0.3771906632801799)  # a constant group: x^ and d - mean d exactly 0
    g = R.standard_normal(x.shape).astype(dtype)
    w = R.standard_normal(12).astype(dtype) if affine != "bias" else None
    b = R.standard_normal(12).astype(dtype) if affine != "weight" else None
    taken: set = set()
    runs = []
    for path in ("compiled", "numpy"):
        monkeypatch.setattr(_compiled, "_kernels", _spy(taken) if path == "compiled" else False)
        xt = hg.tensor(x, requires_grad=True)
        ps = [None if a is None else hg.tensor(a, requires_grad=True) for a in (w, b)]
        out = F.group_norm(xt, 3, *ps)
        out.backward(hg.tensor(g))
        runs.append(
            [out.detach().numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in ps if p is not None]
        )
    tol = 4e-6 if dtype == np.float32 else 1e-13
    for c, n in zip(*runs):
        np.testing.assert_allclose(c, n, rtol=tol, atol=tol * np.abs(n).max())
    assert {"group_norm_forward", "group_norm_backward"} <= taken


def test_an_unusable_numba_leaves_the_numpy_passes_with_a_warning(monkeypatch):
    """numba installed but failing as it builds the kernels (no writable cache directory raises
    RuntimeError there): a warning names it, and the NumPy passes run."""

    def failing():
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(_compiled, "_build", failing)
    monkeypatch.setattr(_compiled, "_kernels", None)
    with pytest.warns(UserWarning, match="no locator available"):
        assert _compiled.kernels() is None
    x = R.standard_normal((4, 8)).astype(np.float32)
    out, xhat, _ = _rows.layer_norm_forward(x, 1, None, None, 1e-5)
    assert isinstance(xhat, np.ndarray)  # the NumPy passes' stored x^
