"""Packed sequences against torch.nn.utils.rnn: packing and padding (data, batch_sizes, sorted and
unsorted indices, lengths), round trips, gradients from the packed data back to the padded input,
the errors; and RNN/LSTM/GRU on a PackedSequence with the same weights as torch's: the packed
output, h_n (and c_n) in the caller's order, and the gradients of the padded input, hx and every
parameter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import handgrad as hg
import handgrad.nn.utils.rnn as hrnn

torch.set_num_threads(1)


def _both(arr, grad=False):
    h, t = hg.tensor(arr), torch.tensor(arr)
    if grad:
        h.requires_grad_(True)
        t.requires_grad_(True)
    return h, t


def _same_packed(hp, tp, rtol=1e-6, atol=1e-6):
    assert isinstance(hp, hrnn.PackedSequence)
    np.testing.assert_allclose(hp.data.detach().numpy(), tp.data.detach().numpy(), rtol, atol)
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        a, b = getattr(hp, name), getattr(tp, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == hg.int64
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


@pytest.mark.parametrize(
    "lengths,enforce_sorted,batch_first",
    [
        ([5, 3, 3, 1], True, False),
        ([5, 3, 3, 1], True, True),
        ([2, 5, 1, 5, 3], False, False),
        ([2, 5, 1, 5, 3], False, True),
        ([1, 1, 1], False, False),
    ],
)
def test_pack_and_pad_match_torch_and_round_trip(lengths, enforce_sorted, batch_first):
    r = np.random.default_rng(0)
    steps, n = max(lengths), len(lengths)
    x = r.standard_normal((n, steps, 3) if batch_first else (steps, n, 3)).astype(np.float32)
    xh, xt = _both(x, grad=True)
    hp = hrnn.pack_padded_sequence(xh, lengths, batch_first, enforce_sorted)
    tp = trnn.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    _same_packed(hp, tp)
    for total in (None, steps + 2):
        hpad, hlen = hrnn.pad_packed_sequence(hp, batch_first, -1.5, total)
        tpad, tlen = trnn.pad_packed_sequence(tp, batch_first, -1.5, total)
        np.testing.assert_allclose(hpad.detach().numpy(), tpad.detach().numpy())
        np.testing.assert_array_equal(hlen.numpy(), tlen.numpy())
        assert hlen.dtype == hg.int64
    w = r.standard_normal(tuple(tpad.shape)).astype(np.float32)
    (hpad * hg.tensor(w)).sum().backward()
    (tpad * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy())
    # lengths as a tensor, as torch programs often pass them
    _same_packed(
        hrnn.pack_padded_sequence(xh, hg.tensor(lengths), batch_first, enforce_sorted),
        tp,
    )


def test_pack_sequence_unpack_unpad_and_pad_sequence():
    r = np.random.default_rng(1)
    arrays = [r.standard_normal((k, 2)).astype(np.float32) for k in (2, 4, 1)]
    hp = hrnn.pack_sequence([hg.tensor(a) for a in arrays], enforce_sorted=False)
    tp = trnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    _same_packed(hp, tp)
    for got, want in zip(hrnn.unpack_sequence(hp), arrays):
        np.testing.assert_array_equal(got.numpy(), want)
    padded = hrnn.pad_sequence([hg.tensor(a) for a in arrays], batch_first=True)
    assert hrnn.pad_sequence is hg.nn.utils.pad_sequence
    for got, want in zip(hrnn.unpad_sequence(padded, [2, 4, 1], batch_first=True), arrays):
        np.testing.assert_array_equal(got.numpy(), want)
    assert hp.float() is hp and hp.to(hg.float32) is hp
    assert hp.double().data.dtype == hg.float64
    rebuilt = hrnn.PackedSequence(hp.data, hp.batch_sizes, hp.sorted_indices)
    np.testing.assert_array_equal(rebuilt.unsorted_indices.numpy(), tp.unsorted_indices.numpy())
    data, batch_sizes, sorted_indices, unsorted_indices = hp  # a NamedTuple, as torch's


def test_pack_errors_name_the_function_and_values():
    x = hg.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence.*decreasing.*\[3, 1, 2\]"):
        hrnn.pack_padded_sequence(x, [3, 1, 2])
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence.*greater than 0.*\[3, 0, 0\]"):
        hrnn.pack_padded_sequence(x, [3, 0, 0])
    # (torch packs past the padded length silently; handgrad refuses)
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence.*padded length 4.*\[5, 2, 1\]"):
        hrnn.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence.*2 lengths.*batch_size=3"):
        hrnn.pack_padded_sequence(x, [3, 2])
    packed = hrnn.pack_padded_sequence(x, [4, 2, 1])
    with pytest.raises(ValueError, match=r"pad_packed_sequence.*total_length=3.*being 4"):
        hrnn.pad_packed_sequence(packed, total_length=3)
    with pytest.raises(ValueError, match=r"LSTM: expected packed data of shape \(N, 5\)"):
        hg.nn.LSTM(5, 3)(packed)
    with pytest.raises(ValueError, match=r"GRU: expected hx of shape \(1, 3, 4\)"):
        hg.nn.GRU(2, 4)(packed, hg.zeros(1, 2, 4))


CONFIGS = list(
    itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True], [False, True])
)


@pytest.mark.parametrize("mode,num_layers,bidirectional,batch_first,with_hx", CONFIGS)
def test_recurrent_layers_on_a_packed_sequence_match_torch(
    mode, num_layers, bidirectional, batch_first, with_hx
):
    r = np.random.default_rng(2)
    lengths = [3, 5, 1, 5, 2]  # unsorted, with a tie
    steps, n, dirs = max(lengths), len(lengths), 2 if bidirectional else 1
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, mode)(3, 4, **kw).double()
    h_mod = getattr(hg.nn, mode)(3, 4, **kw, dtype=np.float64)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    x = r.standard_normal((n, steps, 3) if batch_first else (steps, n, 3))
    xh, xt = _both(x, grad=True)
    hx_h = hx_t = None
    state_arrays = []
    if with_hx:
        state_arrays = [
            r.standard_normal((num_layers * dirs, n, 4)) for _ in range(2 if mode == "LSTM" else 1)
        ]
        pairs = [_both(a, grad=True) for a in state_arrays]
        hx_h = tuple(p[0] for p in pairs) if mode == "LSTM" else pairs[0][0]
        hx_t = tuple(p[1] for p in pairs) if mode == "LSTM" else pairs[0][1]
    hp = hrnn.pack_padded_sequence(xh, lengths, batch_first, enforce_sorted=False)
    tp = trnn.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted=False)
    out_h, state_h = h_mod(hp, hx_h)
    out_t, state_t = t_mod(tp, hx_t)
    _same_packed(out_h, out_t, 1e-9, 1e-10)
    states_h = list(state_h) if mode == "LSTM" else [state_h]
    states_t = list(state_t) if mode == "LSTM" else [state_t]
    loss_h = (out_h.data * hg.tensor(w := r.standard_normal(tuple(out_t.data.shape)))).sum()
    loss_t = (out_t.data * torch.tensor(w)).sum()
    for a, b in zip(states_h, states_t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), 1e-9, 1e-10)
        w = r.standard_normal(tuple(b.shape))
        loss_h = loss_h + (a * hg.tensor(w)).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_h.backward()
    loss_t.backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), 1e-8, 1e-10)
    if with_hx:
        for a_h, a_t in pairs:
            np.testing.assert_allclose(a_h.grad.numpy(), a_t.grad.numpy(), 1e-8, 1e-10)
    t_params = dict(t_mod.named_parameters())
    for name, p in h_mod.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), t_params[name].grad.numpy(), 1e-8, 1e-10, err_msg=name
        )


def test_sorted_packed_input_and_float32():
    lengths = [4, 4, 2]
    x = np.random.default_rng(3).standard_normal((4, 3, 2)).astype(np.float32)
    torch.manual_seed(0)
    t_mod = torch.nn.LSTM(2, 3, bidirectional=True)
    h_mod = hg.nn.LSTM(2, 3, bidirectional=True)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    out_h, (h_h, c_h) = h_mod(hrnn.pack_padded_sequence(hg.tensor(x), lengths))
    out_t, (h_t, c_t) = t_mod(trnn.pack_padded_sequence(torch.tensor(x), lengths))
    _same_packed(out_h, out_t, 1e-5, 1e-6)
    np.testing.assert_allclose(h_h.detach().numpy(), h_t.detach().numpy(), 1e-5, 1e-6)
    np.testing.assert_allclose(c_h.detach().numpy(), c_t.detach().numpy(), 1e-5, 1e-6)
