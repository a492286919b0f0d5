"""nn.EmbeddingBag / F.embedding_bag against torch: every mode, 2-D input and 1-D input with
offsets (include_last_offset, an empty bag), padding_idx, per_sample_weights; outputs and the
weight's gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

R = np.random.default_rng(4)
W = R.standard_normal((6, 3))


def _run(lib, mode, input, offsets=None, psw=None, last=False, pad=None):
    dtype = torch.float64 if lib is torch else np.float64
    bag = lib.nn.EmbeddingBag(
        6, 3, mode=mode, include_last_offset=last, padding_idx=pad, dtype=dtype
    )
    with lib.no_grad():
        bag.weight.copy_(lib.tensor(W))
    args = [lib.tensor(input)]
    args.append(None if offsets is None else lib.tensor(offsets))
    if psw is not None:
        args.append(lib.tensor(psw, requires_grad=True))
    out = bag(*args)
    out.backward(lib.tensor(np.arange(out.numel(), dtype=float).reshape(tuple(out.shape))))
    grads = [bag.weight.grad.numpy()] + ([args[2].grad.numpy()] if psw is not None else [])
    return [out.detach().numpy()] + grads


CASES = [
    dict(input=[[0, 2, 2], [5, 1, 0]]),
    dict(input=[0, 2, 2, 5, 1, 0, 4], offsets=[0, 3, 3, 5]),  # bag 1 empty
    dict(input=[0, 2, 2, 5, 1, 0, 4], offsets=[0, 3, 5, 7], last=True),
    dict(input=[0, 2, 2, 5, 1, 0, 4], offsets=[0, 2], pad=2),
    dict(input=[[2, 2], [1, 2]], pad=2),  # a bag of padding only
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_embedding_bag_matches_torch(mode, case):
    for h, t in zip(_run(hg, mode, **case), _run(torch, mode, **case)):
        np.testing.assert_allclose(h, t, rtol=1e-12, atol=1e-12)


def test_per_sample_weights_match_torch():
    case = dict(input=[0, 2, 2, 5, 1], offsets=[0, 2], psw=R.standard_normal(5))
    for h, t in zip(_run(hg, "sum", **case), _run(torch, "sum", **case)):
        np.testing.assert_allclose(h, t, rtol=1e-12, atol=1e-12)


def test_embedding_bag_errors():
    bag = hg.nn.EmbeddingBag(6, 3)
    with pytest.raises(ValueError, match="embedding_bag: a 1-D input needs offsets"):
        bag(hg.tensor([0, 1]))
    with pytest.raises(ValueError, match="embedding_bag: offsets must be None"):
        bag(hg.tensor([[0, 1]]), hg.tensor([0]))
    with pytest.raises(ValueError, match=r"offsets must start at 0 .* got \[1, 0\]"):
        bag(hg.tensor([0, 1]), hg.tensor([1, 0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported"):
        bag(hg.tensor([0, 1]), hg.tensor([0]), hg.ones(2))


def test_embedding_bag_names_an_index_out_of_range():
    with pytest.raises(
        RuntimeError, match=r"embedding_bag: index 1 of input takes value 5, not in"
    ):
        hg.nn.functional.embedding_bag(hg.tensor([0, 5]), hg.ones(3, 2), hg.tensor([0]))
