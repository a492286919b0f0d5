"""MaxUnpool2d, LocalResponseNorm, ChannelShuffle and Softmax2d against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from nn_helpers import assert_same, run_both
from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)


@pytest.mark.parametrize(
    "name, args, shape",
    [
        ("LocalResponseNorm", (3,), (2, 5, 3, 3)),
        ("LocalResponseNorm", (4, 0.1, 0.5, 2.0), (1, 6, 4)),
        ("ChannelShuffle", (3,), (2, 6, 2, 2)),
        ("Softmax2d", (), (2, 3, 2, 2)),
    ],
    ids=lambda v: str(v),
)
def test_modules_match_torch(name, args, shape):
    t_mod, h_mod = getattr(torch.nn, name)(*args), getattr(hg.nn, name)(*args)
    out = run_both(h_mod, t_mod, [R.standard_normal(shape)])
    assert_same(h_mod, t_mod, *out, what=name)


def test_lrn_second_order():
    compare_to_second_order(
        "local_response_norm",
        *run(
            lambda L, x: L.nn.functional.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.5),
            [R.standard_normal((2, 4, 3))],
        ),
    )


@pytest.mark.parametrize("kernel, stride, shape", [(2, None, (2, 3, 6, 4)), (3, 2, (1, 2, 7, 7))])
def test_max_unpool_inverts_the_pooling_positions_as_torch(kernel, stride, shape):
    x = R.standard_normal(shape)
    tp, ti = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, return_indices=True)
    hp, hi = hg.nn.functional.max_pool2d(hg.tensor(x), kernel, stride, return_indices=True)
    pooled = R.standard_normal(tuple(tp.shape))
    th = torch.tensor(pooled, requires_grad=True)
    hh = hg.tensor(pooled, requires_grad=True)
    to = torch.nn.MaxUnpool2d(kernel, stride)(th, ti, output_size=x.shape)
    ho = hg.nn.MaxUnpool2d(kernel, stride)(hh, hi, output_size=x.shape)
    np.testing.assert_array_equal(ho.detach().numpy(), to.detach().numpy())
    g = R.standard_normal(x.shape)
    to.backward(torch.tensor(g))
    ho.backward(hg.tensor(g))
    np.testing.assert_array_equal(hh.grad.numpy(), th.grad.numpy())


def test_errors():
    with pytest.raises(ValueError, match=r"channel_shuffle: 5 channels are not divisible into 2"):
        hg.nn.ChannelShuffle(2)(hg.ones(1, 5, 2))
    with pytest.raises(ValueError, match=r"Softmax2d: expected a 3-D or 4-D input"):
        hg.nn.Softmax2d()(hg.ones(2, 3))
    with pytest.raises(ValueError, match=r"max_unpool2d: input \(1, 1, 2, 2\) and indices"):
        hg.nn.MaxUnpool2d(2)(hg.ones(1, 1, 2, 2), hg.zeros(1, 1, 2, 3).long())
