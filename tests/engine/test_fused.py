"""The fused primitives of issue 13 inside the layers: the memory layouts the layers hand them,
and the graph shapes they are there for (one node per LSTM layer, per batch-norm call)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
import handgrad.nn.functional as F
from handgrad import nn


def _nodes(t):
    """Every recorded node behind t, as a list of primitive names."""
    names, stack, seen = [], [t._ctx], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(fn.name)
        stack.extend(x._ctx for x in fn.inputs)
    return names


@pytest.mark.parametrize("layout", ["nchw", "batch_innermost", "transposed_view"])
def test_batch_norm_matches_torch_for_every_memory_layout(layout):
    r = np.random.default_rng(0)
    x = r.standard_normal((4, 3, 5, 6)) * 2 + 1
    if layout == "batch_innermost":  # the memory a convolution returns: (C, H, W, N)
        arr = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    elif layout == "transposed_view":
        arr = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    else:
        arr = x.copy()
    w, b = r.uniform(0.5, 1.5, 3), r.standard_normal(3)
    xh = hg.tensor(arr, requires_grad=True)
    wh, bh = hg.tensor(w, requires_grad=True), hg.tensor(b, requires_grad=True)
    rm, rv = hg.zeros(3, dtype=hg.float64), hg.ones(3, dtype=hg.float64)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    yh = F.batch_norm(xh, rm, rv, wh, bh, True, 0.1, 1e-5)
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, True, 0.1, 1e-5)
    g = r.standard_normal(x.shape)
    yh.backward(hg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(yh.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, c in ((xh, xt), (wh, wt), (bh, bt)):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(rm.numpy(), rmt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-12)


def test_batch_norm_bumps_the_running_statistics_versions():
    bn = nn.BatchNorm1d(2)
    v_mean, v_var = bn.running_mean._version[0], bn.running_var._version[0]
    bn(hg.randn(4, 2))
    assert bn.running_mean._version[0] == v_mean + 1
    assert bn.running_var._version[0] == v_var + 1


@pytest.mark.parametrize("bidirectional", [False, True])
def test_an_lstm_layer_is_one_node_whatever_the_sequence_length(bidirectional):
    """One node per layer, its two directions one node (``lstm_directions``); a one-directional
    stack is one node for all its layers (``lstm_layers``), also with dropout outside training,
    and one per layer where dropout acts between them."""
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=bidirectional, dropout=0.5).eval()
    for steps in (2, 9):
        out, _ = lstm(hg.randn(steps, 5, 3))
        names = _nodes(out)
        if bidirectional:
            assert names.count("lstm_directions") == 2 and "lstm_layer" not in names
        else:
            assert names.count("lstm_layers") == 1 and "lstm_layer" not in names
        assert "sigmoid" not in names and "tanh" not in names
    names = _nodes(lstm.train()(hg.randn(4, 5, 3))[0])
    if bidirectional:
        assert names.count("lstm_directions") == 2
    else:
        assert names.count("lstm_layer") == 2 and "lstm_layers" not in names


def test_a_gru_layer_is_one_node():
    gru = nn.GRU(3, 4, num_layers=2)
    out, _ = gru(hg.randn(6, 2, 3))
    names = _nodes(out)
    assert names.count("gru_layer") == 2 and "gru_cell" not in names
    assert "sigmoid" not in names
    names = _nodes(nn.GRU(3, 4, num_layers=2, bidirectional=True)(hg.randn(6, 2, 3))[0])
    assert names.count("gru_directions") == 2 and "gru_layer" not in names


def test_lstm_layer_refuses_shapes_that_do_not_fit():
    from handgrad.ops.rnn_cell import lstm_layer

    with pytest.raises(ValueError, match=r"lstm_layer: shapes do not fit: x \(3, 2, 5\)"):
        lstm_layer(
            hg.randn(3, 2, 5), hg.randn(2, 3), hg.randn(2, 3), hg.randn(12, 4), hg.randn(12, 3)
        )
    with pytest.raises(ValueError, match="lstm_cell: shapes do not fit"):
        hg.lstm_cell(
            hg.randn(2, 3), (hg.randn(2, 4), hg.randn(2, 5)), hg.randn(16, 3), hg.randn(16, 4)
        )


@pytest.mark.parametrize("shape,normalized", [((0, 5), (5,)), ((3, 0), (0,)), ((2, 0, 4), (4,))])
def test_layer_norm_of_empty_tensors_is_empty_as_torch(shape, normalized):
    x = hg.zeros(*shape, requires_grad=True)
    w = hg.ones(*normalized, requires_grad=True)
    b = hg.zeros(*normalized, requires_grad=True)
    y = F.layer_norm(x, normalized, w, b)
    y.sum().backward()
    xt = torch.zeros(*shape, requires_grad=True)
    yt = torch.nn.functional.layer_norm(xt, normalized, torch.ones(*normalized))
    assert y.shape == tuple(yt.shape)
    assert x.grad.shape == x.shape and w.grad.shape == w.shape and b.grad.shape == b.shape
    assert not w.grad.numpy().any() and not b.grad.numpy().any()


@pytest.mark.parametrize(
    "shape, perm",
    [((4, 6, 5), (1, 0, 2)), ((2, 3, 4, 5), (2, 0, 1, 3)), ((3, 1, 4, 5), (1, 0, 2, 3))],
)
def test_stack_times_matrix_in_any_axis_order(shape, perm):
    """A stack of matrices times one matrix is run as one product of all rows whatever the
    order of the stack's axes in memory (a sequence-first view of a batch-first array): values
    and gradients equal torch's."""
    r = np.random.default_rng(0)
    a = np.ascontiguousarray(r.standard_normal(shape)).transpose(*perm)
    w = r.standard_normal((7, a.shape[-1]))
    ha, hw = hg.from_numpy(a).requires_grad_(), hg.tensor(w, requires_grad=True)
    ta, tw = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    for f in (lambda L, x, y: L.nn.functional.linear(x, y), lambda L, x, y: x @ y.mT):
        out, want = f(hg, ha, hw), f(torch, ta, tw)
        np.testing.assert_allclose(
            out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-13
        )
        g = r.standard_normal(want.shape)
        out.backward(hg.tensor(g))
        want.backward(torch.tensor(g))
        np.testing.assert_allclose(ha.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(hw.grad.numpy(), tw.grad.numpy(), rtol=1e-10)


def test_lstm_stacks_and_directions_refuse_shapes_that_do_not_fit():
    from handgrad.ops.rnn_cell import lstm_directions, lstm_layers

    x, h = hg.randn(3, 2, 5), hg.randn(2, 2, 4)
    w0, w1, wh = hg.randn(16, 5), hg.randn(16, 4), hg.randn(16, 4)
    with pytest.raises(ValueError, match=r"lstm_layers: shapes do not fit: x \(3, 2, 5\)"):
        lstm_layers(x, h, h, w0, wh, w0, wh)  # layer 1's w_ih must take layer 0's (.., 4)
    assert lstm_layers(x, h, h, w0, wh, w1, wh).shape == (2, 3, 2, 2, 4)
    with pytest.raises(ValueError, match=r"lstm_directions: shapes do not fit: x \(3, 2, 5\)"):
        lstm_directions(x, x, h, h, w0, wh, w0)  # three weights: not two per direction
    assert lstm_directions(x, x, h, h, w0, wh, w0, wh).shape == (2, 3, 2, 2, 4)


def test_gru_layer_refuses_shapes_that_do_not_fit():
    from handgrad.ops.rnn_cell import gru_layer

    x, h, w_ih, w_hh, b = hg.randn(3, 2, 5), hg.randn(2, 4), hg.randn(12, 5), hg.randn(12, 4), None
    with pytest.raises(ValueError, match=r"gru_layer: shapes do not fit: x \(3, 2, 5\)"):
        gru_layer(x, h, hg.randn(12, 4), w_hh)  # w_ih must take x's 5 features
    with pytest.raises(ValueError, match=r"gru_layer: b_ih and b_hh go together"):
        gru_layer(x, h, w_ih, w_hh, hg.randn(12), b)
    assert gru_layer(x, h, w_ih, w_hh).shape == (3, 2, 4)


def test_an_rnn_layer_is_one_node_and_its_relu_backward_selects():
    """nn.RNN's layers are one ``rnn_layer`` node each. With relu, an infinite gradient reaching
    a step whose output is 0 gives 0 there, not 0 * inf = NaN, as torch's threshold_backward."""
    import torch

    from handgrad.ops.rnn_cell import rnn_layer

    names = _nodes(nn.RNN(3, 4, num_layers=2, nonlinearity="relu")(hg.randn(6, 2, 3))[0])
    assert names.count("rnn_layer") == 2
    x = np.array([[[1.0]], [[-2.0]]])  # step 1's pre-activation is negative: h_1 = 0
    w_ih, w_hh, h0 = np.array([[1.0]]), np.array([[0.5]]), np.zeros((1, 1))
    g = np.array([[[1.0]], [[np.inf]]])
    ins = [hg.tensor(a, requires_grad=True) for a in (x, h0, w_ih, w_hh)]
    got = hg.grad(rnn_layer(*ins, nonlinearity="relu"), ins, hg.tensor(g))
    tins = [torch.tensor(a, requires_grad=True) for a in (x, h0, w_ih, w_hh)]
    h, steps = tins[1], []
    for t in range(2):
        h = torch.rnn_relu_cell(tins[0][t], h, tins[2], tins[3])
        steps.append(h)
    want = torch.autograd.grad(torch.stack(steps), tins, torch.tensor(g))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.isfinite(got[0].numpy()).all()
