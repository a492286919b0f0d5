"""nn.utils.parametrizations.weight_norm against torch's: state dict keys, outputs and the
gradients of g and v; and the property the docstring derives: dL/dv is orthogonal to v."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from nn_helpers import assert_same, run_both

torch.set_num_threads(1)
WN_T = torch.nn.utils.parametrizations.weight_norm
WN_H = hg.nn.utils.parametrizations.weight_norm


@pytest.mark.parametrize(
    "make, shape, dim",
    [
        (lambda L: L.nn.Linear(4, 3), (5, 4), 0),
        (lambda L: L.nn.Linear(4, 3), (5, 4), 1),
        (lambda L: L.nn.Conv2d(2, 3, 3), (2, 2, 5, 5), None),
        (lambda L: L.nn.Conv1d(2, 3, 3), (2, 2, 6), 0),
    ],
    ids=["linear-dim0", "linear-dim1", "conv2d-none", "conv1d-dim0"],
)
def test_weight_norm_matches_torch(make, shape, dim):
    torch.manual_seed(0)
    t_mod = WN_T(make(torch).double(), dim=dim)
    h_mod = WN_H(make(hg).to(np.float64), dim=dim)
    assert list(h_mod.state_dict()) == list(t_mod.state_dict())
    assert type(h_mod).__name__ == type(t_mod).__name__
    with torch.no_grad():  # g away from ||v||, so that g matters
        t_mod.parametrizations.weight.original0.mul_(1.7)
    out = run_both(h_mod, t_mod, [np.random.default_rng(1).standard_normal(shape)])
    assert_same(h_mod, t_mod, *out, what="weight_norm")


def test_gradient_of_v_is_orthogonal_to_v():
    hg.manual_seed(0)
    m = WN_H(hg.nn.Linear(6, 4).to(np.float64))
    x = hg.tensor(np.random.default_rng(2).standard_normal((8, 6)))
    (m(x) ** 2).sum().backward()
    v = m.parametrizations.weight.original1
    np.testing.assert_allclose((v.grad.numpy() * v.detach().numpy()).sum(1), 0, atol=1e-10)


def test_weight_norm_needs_the_parameter():
    with pytest.raises(ValueError, match=r"weight_norm: ReLU has no parameter 'weight'"):
        WN_H(hg.nn.ReLU())
