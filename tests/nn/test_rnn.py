"""RNN, LSTM, GRU and their cells against torch.nn with the same weights: outputs, final states,
gradients of every parameter and of the input and initial state; a second-order check; errors;
and a GRU that learns a small sequence task."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)

CONFIGS = [
    dict(mode=m, num_layers=nl, bidirectional=bd, batch_first=bf, bias=b, state=s)
    for m, nl, bd, bf, b, s in itertools.product(
        ["RNN", "RNN_relu", "LSTM", "GRU"],
        [1, 2],
        [False, True],
        [False, True],
        [True, False],
        [False, True],
    )
    if (bf, b) != (True, False)  # trim the product; every option still appears
]


def _pair(mode, dtype, **kw):
    cls = mode.split("_")[0]
    extra = {"nonlinearity": "relu"} if mode == "RNN_relu" else {}
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, cls)(3, 4, **kw, **extra).to(getattr(torch, np.dtype(dtype).name))
    h_mod = getattr(hg.nn, cls)(3, 4, **kw, **extra, dtype=dtype)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    return h_mod, t_mod


def _inputs(mode, cfg, unbatched=False, seed=0):
    r = np.random.default_rng(seed)
    steps, n = 5, 2
    dirs = 2 if cfg["bidirectional"] else 1
    x = r.standard_normal(
        (steps, 3) if unbatched else ((n, steps, 3) if cfg["batch_first"] else (steps, n, 3))
    )
    state_shape = (cfg["num_layers"] * dirs,) + (() if unbatched else (n,)) + (4,)
    if not cfg["state"]:
        return x, None
    if mode == "LSTM":
        return x, (r.standard_normal(state_shape), r.standard_normal(state_shape))
    return x, r.standard_normal(state_shape)


def _lib(L, arr, dtype):
    if arr is None:
        return None
    if isinstance(arr, tuple):
        return tuple(_lib(L, a, dtype) for a in arr)
    t = L.tensor(arr.astype(dtype))
    t.requires_grad_(True)
    return t


def _flat(out):
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(h_mod, t_mod, x, hx, dtype, rtol, atol):
    hx_h, hx_t = _lib(hg, hx, dtype), _lib(torch, hx, dtype)
    xh, xt = _lib(hg, x, dtype), _lib(torch, x, dtype)
    outs_h, outs_t = _flat(h_mod(xh, hx_h)), _flat(t_mod(xt, hx_t))
    r = np.random.default_rng(9)
    loss_h, loss_t = 0, 0
    for a, b in zip(outs_h, outs_t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
        w = r.standard_normal(tuple(b.shape)).astype(dtype)
        loss_h = loss_h + (a * hg.tensor(w)).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_h.backward()
    loss_t.backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    tp = dict(t_mod.named_parameters())
    names = [k for k, _ in h_mod.named_parameters()]
    assert names == list(tp), (names, list(tp))
    for k, p in h_mod.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tp[k].grad.numpy(), rtol=rtol, atol=atol, err_msg=k
        )
    if hx is not None:  # the gradient reaches the initial state too
        for a, b in zip(_flat(hx_h), _flat(hx_t)):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "cfg", CONFIGS, ids=["-".join(f"{k}={v}" for k, v in c.items()) for c in CONFIGS]
)
def test_matches_torch_float64(cfg):
    mode = cfg["mode"]
    kw = {k: cfg[k] for k in ("num_layers", "bidirectional", "batch_first", "bias")}
    h_mod, t_mod = _pair(mode, np.float64, **kw)
    x, hx = _inputs(mode, cfg)
    _compare(h_mod, t_mod, x, hx, np.float64, 1e-10, 1e-12)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_unbatched_and_float32(mode):
    cfg = dict(num_layers=2, bidirectional=True, batch_first=False, bias=True, state=True)
    h_mod, t_mod = _pair(mode, np.float64, num_layers=2, bidirectional=True)
    x, hx = _inputs(mode, cfg, unbatched=True)
    _compare(h_mod, t_mod, x, hx, np.float64, 1e-10, 1e-12)
    h32, t32 = _pair(mode, np.float32, num_layers=2, bidirectional=True)
    x, hx = _inputs(mode, cfg)
    _compare(h32, t32, x, None, np.float32, 1e-4, 1e-5)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(cls):
    torch.manual_seed(1)
    t_cell = getattr(torch.nn, cls)(3, 4).double()
    h_cell = getattr(hg.nn, cls)(3, 4, dtype=np.float64)
    hg.load_torch_state_dict(h_cell, t_cell.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 3))
    h0 = np.random.default_rng(3).standard_normal((2, 4))
    state_h = (hg.tensor(h0), hg.tensor(h0 * 0.5)) if cls == "LSTMCell" else hg.tensor(h0)
    state_t = (torch.tensor(h0), torch.tensor(h0 * 0.5)) if cls == "LSTMCell" else torch.tensor(h0)
    xh, xt = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oh, ot = _flat(h_cell(xh, state_h)), _flat(t_cell(xt, state_t))
    for a, b in zip(oh, ot):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    sum(o.sum() for o in oh).backward()
    sum(o.sum() for o in ot).backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        h_cell.weight_hh.grad.numpy(), t_cell.weight_hh.grad.numpy(), rtol=1e-10
    )
    # unbatched input, no state
    np.testing.assert_allclose(
        _flat(h_cell(hg.tensor(x[0])))[0].detach().numpy(),
        _flat(t_cell(torch.tensor(x[0])))[0].detach().numpy(),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "mode, layers, bidirectional",
    [
        ("LSTM", 1, False),
        ("LSTM", 2, False),
        ("LSTM", 1, True),
        ("GRU", 2, False),
        ("GRU", 1, True),
        ("RNN", 2, False),
        ("RNN_relu", 1, True),
    ],
)
def test_recurrent_layers_second_order_by_finite_differences(mode, layers, bidirectional):
    """Through each of the layer nodes (lstm_layer, lstm_layers, lstm_directions, gru_layer,
    gru_directions, rnn_layer with tanh and relu), over 5 steps (two spans of a stack)."""
    hg.manual_seed(0)
    kind, act = (mode.split("_") + ["tanh"])[:2]
    extra = {"nonlinearity": act} if kind == "RNN" else {}
    rnn = getattr(hg.nn, kind)(2, 2, layers, bidirectional=bidirectional, dtype=np.float64, **extra)
    x = hg.tensor(np.random.default_rng(4).standard_normal((5, 2, 2)), requires_grad=True)
    assert hg.gradgradcheck(lambda x: rnn(x)[0], (x,))


def test_initialisation_bounds_and_names():
    hg.manual_seed(0)
    gru = hg.nn.GRU(5, 16, num_layers=2, bidirectional=True)
    names = [k for k, _ in gru.named_parameters()]
    assert names == [
        k for k, _ in torch.nn.GRU(5, 16, num_layers=2, bidirectional=True).named_parameters()
    ]
    allw = np.concatenate([p.detach().numpy().ravel() for p in gru.parameters()])
    assert np.abs(allw).max() <= 0.25 and allw.std() > 0.25 / 2.5  # U(-1/4, 1/4): sd 0.144
    assert gru.weight_ih_l1.shape == (48, 32)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda: hg.nn.LSTM(3, 4)(hg.ones(5, 2, 2)),
            r"LSTM: expected input \(L, N, 3\).*\(5, 2, 2\)",
        ),
        (lambda: hg.nn.GRU(3, 4)(hg.ones(1, 5, 2, 3)), r"GRU: expected input .*\(1, 5, 2, 3\)"),
        (
            lambda: hg.nn.RNN(3, 4)(hg.ones(5, 2, 3), hg.ones(2, 2, 4)),
            r"RNN: expected hx of shape \(1, 2, 4\), got \(2, 2, 4\)",
        ),
        (
            lambda: hg.nn.LSTM(3, 4)(hg.ones(5, 2, 3), (hg.ones(1, 2, 4), hg.ones(1, 3, 4))),
            r"LSTM: expected c_0 of shape \(1, 2, 4\), got \(1, 3, 4\)",
        ),
        (lambda: hg.nn.RNN(3, 4, nonlinearity="sigmoid"), r"RNN: nonlinearity must be"),
        (lambda: hg.nn.LSTMCell(3, 4)(hg.ones(2, 5)), r"LSTMCell: expected input \(N, 3\)"),
        (lambda: hg.nn.GRU(3, 0), r"GRU: hidden_size must be a positive int, got 0"),
        (lambda: hg.nn.RNN(3, 4)(hg.ones(0, 2, 3)), r"RNN: the input sequence is empty"),
    ],
)
def test_errors(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_lstm_proj_size_is_refused_clearly():
    with pytest.raises(NotImplementedError, match=r"LSTM: proj_size=2 is not supported"):
        hg.nn.LSTM(3, 4, proj_size=2)


def test_gru_learns_the_sign_of_a_running_sum():
    """Back-propagation through time at work: the label is whether the sum of a sequence of
    +-1 values is positive, which needs the whole sequence."""
    hg.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.choice([-1.0, 1.0], size=(256, 7, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    gru, head = hg.nn.GRU(1, 8, batch_first=True), hg.nn.Linear(8, 2)
    params = list(gru.parameters()) + list(head.parameters())
    opt = hg.optim.Adam(params, lr=0.03)
    xt, yt = hg.tensor(x), hg.tensor(y)
    for _ in range(150):
        _, h = gru(xt)
        loss = hg.nn.functional.cross_entropy(head(h[0]), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    xv = r.choice([-1.0, 1.0], size=(512, 7, 1)).astype(np.float32)
    yv = xv.sum(axis=(1, 2)) > 0
    with hg.no_grad():
        pred = head(gru(hg.tensor(xv))[1][0]).numpy().argmax(1)
    assert (pred == yv).mean() > 0.95


@pytest.mark.parametrize("batch_first, side", [(False, "right"), (True, "left")])
def test_pad_sequence_as_torch(batch_first, side):
    r = np.random.default_rng(5)
    seqs = [r.standard_normal((n, 3)) for n in (4, 1, 3)]
    hs = [hg.tensor(s, requires_grad=True) for s in seqs]
    out = hg.nn.utils.pad_sequence(hs, batch_first, -1.0, side)
    ref = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0, side)
    np.testing.assert_array_equal(out.detach().numpy(), ref.numpy())
    out.sum().backward()
    assert all(np.all(h.grad.numpy() == 1) for h in hs)
    with pytest.raises(RuntimeError, match=r"pad_sequence: sequences must share"):
        hg.nn.utils.pad_sequence([hg.ones(2, 3), hg.ones(2, 4)])


def test_lstm_backward_without_a_graph_equals_the_recorded_one():
    """The LSTM layer's backward through time without a graph runs on arrays (the fast path of
    loss.backward()); with create_graph the gates are recomputed by recorded operations (which
    round as torch's do): the same gradients up to float32 rounding."""
    hg.manual_seed(0)
    lstm = hg.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    x = hg.randn(2, 5, 3, requires_grad=True)
    g = hg.randn(2, 5, 4)
    params = [x] + list(lstm.parameters())
    plain = hg.grad(lstm(x)[0], params, g)
    graph = hg.grad(lstm(x)[0], params, g, create_graph=True)
    for a, b in zip(plain, graph):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_a_stacked_lstm_runs_its_layers_side_by_side_with_the_same_bits(monkeypatch):
    """A one-directional stack of LSTM layers is one node (``lstm_layers``) whose layers run as a
    wavefront on two threads, forward and backward (``blas.wavefront``): the same bits as on one
    thread, torch's values, and the pool's thread at work on two."""
    import threading

    from handgrad.ops import rnn_cell

    from nn_helpers import blas_pool

    names = set()
    wavefront = rnn_cell.wavefront

    def watched(stages, chunks):
        def watch(stage):
            def chunk(c):
                names.add(threading.current_thread().name)
                stage(c)

            return chunk

        wavefront([watch(s) for s in stages], chunks)

    monkeypatch.setattr(rnn_cell, "wavefront", watched)
    t_lstm = torch.nn.LSTM(3, 5, num_layers=3, batch_first=True)
    lstm = hg.nn.LSTM(3, 5, num_layers=3, batch_first=True)
    hg.load_torch_state_dict(lstm, t_lstm.state_dict())
    xa = np.random.default_rng(3).standard_normal((2, 11, 3)).astype(np.float32)  # 3 spans
    ga = np.random.default_rng(4).standard_normal((2, 11, 5)).astype(np.float32)

    def run(threads):
        names.clear()
        with blas_pool(threads):
            x = hg.tensor(xa, requires_grad=True)
            out, (h, c) = lstm(x)
            grads = hg.grad([out, h.sum() + c.sum()], [x] + list(lstm.parameters()), [ga, 1.0])
        return [a.detach().numpy() for a in [out, h, c, *grads]], set(names)

    one, names_one = run(1)
    two, names_two = run(2)
    assert len(names_one) == 1 and len(names_two) == 2
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    x = torch.tensor(xa, requires_grad=True)
    out, (h, c) = t_lstm(x)
    want = [out, h, c]
    want += torch.autograd.grad(
        [out, h.sum() + c.sum()],
        [x] + list(t_lstm.parameters()),
        [torch.tensor(ga), torch.tensor(1.0)],
    )
    for a, b in zip(one, want):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_stacked_lstm_with_a_frozen_lower_layer_goes_back_only_through_the_upper(threads):
    """``lstm_layers``' backward runs only the layers from the lowest one that needs a gradient
    up: with layer 0 of three frozen and x a constant, layers 1 and 2's gradients are torch's and
    the frozen weights get none."""
    from nn_helpers import blas_pool

    t_lstm = torch.nn.LSTM(3, 4, num_layers=3).double()
    lstm = hg.nn.LSTM(3, 4, num_layers=3, dtype=np.float64)
    hg.load_torch_state_dict(lstm, t_lstm.state_dict())
    for mod in (lstm, t_lstm):
        for name, p in mod.named_parameters():
            p.requires_grad_(not name.endswith("l0"))
    xa = np.random.default_rng(0).standard_normal((9, 2, 3))
    with blas_pool(threads):
        out, (h, c) = lstm(hg.tensor(xa))
        (out.sum() * 2 + h.sum() + c.sum() * 3).backward()
    out, (h, c) = t_lstm(torch.tensor(xa))
    (out.sum() * 2 + h.sum() + c.sum() * 3).backward()
    for p, q in zip(lstm.parameters(), t_lstm.parameters()):
        if q.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_a_bidirectional_layer_runs_its_directions_side_by_side_with_the_same_bits(
    monkeypatch, mode
):
    """A bidirectional LSTM or GRU layer is one node (``lstm_directions``, ``gru_directions``)
    whose two directions run side by side on two threads, forward and backward: the same bits as
    on one thread, torch's values (padded and packed input), and the pool's thread at work on
    two."""
    import threading

    from handgrad.ops import rnn_cell

    from nn_helpers import blas_pool

    names = set()
    side_by_side = rnn_cell.side_by_side

    def watched(first, second):
        def watch(fn):
            def run():
                names.add(threading.current_thread().name)
                return fn()

            return run

        return side_by_side(watch(first), watch(second))

    monkeypatch.setattr(rnn_cell, "side_by_side", watched)
    t_rnn = getattr(torch.nn, mode)(3, 5, num_layers=2, bidirectional=True)
    rnn = getattr(hg.nn, mode)(3, 5, num_layers=2, bidirectional=True)
    hg.load_torch_state_dict(rnn, t_rnn.state_dict())
    xa = np.random.default_rng(3).standard_normal((7, 3, 3)).astype(np.float32)
    lengths = [7, 4, 2]

    def run(lib, model, threads=1, packed=False):
        names.clear()
        with blas_pool(threads):
            x = lib.tensor(xa, requires_grad=True)
            seq = lib.nn.utils.rnn.pack_padded_sequence(x, lengths) if packed else x
            out, state = model(seq)
            if packed:
                out = lib.nn.utils.rnn.pad_packed_sequence(out)[0]
            states = list(state) if mode == "LSTM" else [state]
            loss = (out * lib.tensor(xa[..., :1])).sum()
            loss = loss + sum((s * (i + 1)).sum() for i, s in enumerate(states))
            grads = lib.autograd.grad(loss, [x] + list(model.parameters()))
        return [a.detach().numpy() for a in [out, *states, *grads]], set(names)

    for packed in (False, True):
        one, names_one = run(hg, rnn, 1, packed)
        two, names_two = run(hg, rnn, 2, packed)
        assert len(names_one) == 1 and len(names_two) == 2
        for a, b in zip(one, two):
            np.testing.assert_array_equal(a, b)
        want, _ = run(torch, t_rnn, 1, packed)
        for a, b in zip(one, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "mode, layers, bidirectional",
    [("LSTM", 2, False), ("LSTM", 1, True), ("GRU", 2, True), ("RNN", 2, False)],
)
def test_recurrent_layer_nodes_on_an_empty_batch_as_torch(mode, layers, bidirectional):
    """A batch of 0 sequences through each layer node: torch's empty output and final states,
    and zero weight gradients."""
    rnn = getattr(hg.nn, mode)(3, 4, layers, bidirectional=bidirectional)
    t_rnn = getattr(torch.nn, mode)(3, 4, layers, bidirectional=bidirectional)
    outs = []
    for lib, model in ((hg, rnn), (torch, t_rnn)):
        x = lib.zeros(5, 0, 3, requires_grad=True)
        out, state = model(x)
        h = state[0] if mode == "LSTM" else state
        (out.sum() + h.sum()).backward()
        grads = [p.grad for p in model.parameters()]
        outs.append((tuple(out.shape), tuple(h.shape), tuple(x.grad.shape), grads))
    assert outs[0][:3] == outs[1][:3]
    for a, b in zip(outs[0][3], outs[1][3]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
