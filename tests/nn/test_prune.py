"""nn.utils.prune against torch.nn.utils.prune: masks (unstructured, structured, iterative,
global, custom), names and state_dict keys, the pruned tensor's gradient, remove, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune

import handgrad as hg
import handgrad.nn.utils.prune as hprune


def _conv(lib, seed=0):
    m = lib.nn.Conv2d(3, 4, 3)
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return m


def _steps(lib, P, m):
    P.l1_unstructured(m, "weight", amount=0.25)
    first = m.weight_mask.numpy().copy()
    P.ln_structured(m, "weight", amount=1, n=1, dim=0)
    P.ln_structured(m, "weight", amount=0.5, n=float("inf"), dim=1)
    P.l1_unstructured(m, "bias", amount=1)
    P.custom_from_mask(m, "weight", lib.tensor((np.arange(108) % 5 != 0).reshape(4, 3, 3, 3)))
    keys = list(m.state_dict())
    x = lib.tensor(np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32))
    m(x).sum().backward()
    grad = m.weight_orig.grad.numpy().copy()
    mask = m.weight_mask.numpy().copy()
    P.remove(m, "weight")
    return [first, mask, grad, m.weight.detach().numpy(), m.bias.detach().numpy()], [
        keys,
        list(m.state_dict()),
        [n for n, _ in m.named_parameters()],
        P.is_pruned(m),
    ]


def test_iterative_pruning_as_torch():
    got_arrays, got_names = _steps(hg, hprune, _conv(hg))
    want_arrays, want_names = _steps(torch, tprune, _conv(torch))
    assert got_names == want_names
    for g, w in zip(got_arrays, want_arrays):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)  # the conv gradient: float32 sums


def test_global_unstructured_and_remove_as_torch():
    results = []
    for lib, P in ((hg, hprune), (torch, tprune)):
        a, b = _conv(lib, 2), lib.nn.Linear(6, 5)
        with lib.no_grad():
            b.weight.copy_(lib.tensor(np.random.default_rng(3).standard_normal((5, 6))))
        P.l1_unstructured(b, "weight", amount=4)
        P.global_unstructured([(a, "weight"), (b, "weight")], P.L1Unstructured, amount=0.4)
        results.append([a.weight_mask.numpy().copy(), b.weight_mask.numpy().copy()])
        for m in (a, b):
            P.remove(m, "weight")
        assert not P.is_pruned(a) and isinstance(a.weight, lib.nn.Parameter)
    for g, w in zip(*results):
        np.testing.assert_array_equal(g, w)


def test_prune_errors():
    with pytest.raises(ValueError, match=r"amount=1.5 must be in \[0, 1\]"):
        hprune.l1_unstructured(hg.nn.Linear(2, 2), "weight", amount=1.5)
    with pytest.raises(ValueError, match=r"amount=9 must be in \[0, 4\]"):
        hprune.l1_unstructured(hg.nn.Linear(2, 2), "weight", amount=9)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        hprune.remove(hg.nn.Linear(2, 2), "weight")
    with pytest.raises(ValueError, match="prune: ReLU has no parameter 'weight'"):
        hprune.l1_unstructured(hg.nn.ReLU(), "weight", amount=1)
