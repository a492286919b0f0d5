"""nn.init: fans as torch computes them, gains, and the statistics of the drawn weights.

Statistical tolerance: a sample of n i.i.d. values estimates the standard deviation with a
relative standard error of about 1/sqrt(2n) (normal; sqrt(0.2/n) for uniform). With n = 200,000
that is below 0.2%, so a 2% tolerance is more than 10 standard errors: a failure is a wrong
formula, not bad luck. Uniform initialisers must also respect their bound exactly and nearly
reach it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad.nn import init

SHAPES = [(400, 500), (64, 32, 3, 3), (20, 10, 5), (7, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(
        hg.zeros(*shape)
    ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(hg.zeros(5))


@pytest.mark.parametrize(
    "args",
    [
        ("linear",),
        ("conv2d",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("leaky_relu",),
        ("leaky_relu", 0.2),
        ("selu",),
    ],
)
def test_gain_matches_torch(args):
    assert init.calculate_gain(*args) == pytest.approx(
        torch.nn.init.calculate_gain(*args), rel=1e-12
    )
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def _expected(name, shape, kw):
    """(std, bound or None) stated by the torch.nn.init documentation."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    if name.startswith("xavier"):
        std = kw.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        fan = fan_in if kw.get("mode", "fan_in") == "fan_in" else fan_out
        std = torch.nn.init.calculate_gain(
            kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)
        ) / math.sqrt(fan)
    return std, (math.sqrt(3) * std if name.endswith("uniform_") else None)


CASES = [
    ("xavier_uniform_", {}),
    ("xavier_uniform_", {"gain": 2.0}),
    ("xavier_normal_", {}),
    ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"nonlinearity": "relu"}),
    ("kaiming_normal_", {"mode": "fan_out"}),
]


@pytest.mark.parametrize("shape", [(400, 500), (64, 32, 10, 10)])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}{k}" for n, k in CASES])
def test_initialiser_statistics(name, kw, shape):
    hg.manual_seed(0)
    w = hg.zeros(*shape, requires_grad=True)
    assert getattr(init, name)(w, **kw) is w
    std, bound = _expected(name, shape, kw)
    data = w.detach().numpy().astype(np.float64)
    assert abs(data.mean()) < 0.02 * std
    assert data.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.abs(data).max() <= bound
        assert np.abs(data).max() > 0.999 * bound


def test_simple_initialisers():
    hg.manual_seed(1)
    w = hg.zeros(300, 300)
    init.uniform_(w, -2, 3)
    assert w.detach().numpy().min() >= -2 and w.detach().numpy().max() <= 3
    assert w.detach().numpy().mean() == pytest.approx(0.5, abs=0.02)
    init.normal_(w, 1.0, 0.5)
    assert w.detach().numpy().mean() == pytest.approx(1.0, abs=0.01)
    assert w.detach().numpy().std() == pytest.approx(0.5, rel=0.02)
    init.trunc_normal_(w, 0, 1, -1, 1)
    assert np.abs(w.detach().numpy()).max() <= 1
    assert (init.constant_(w, 0.25).detach().numpy() == 0.25).all()
    assert (init.ones_(w).detach().numpy() == 1).all() and (
        init.zeros_(w).detach().numpy() == 0
    ).all()
    np.testing.assert_array_equal(init.eye_(hg.zeros(2, 3)).detach().numpy(), np.eye(2, 3))


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3), (6, 6)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape):
    w = hg.empty(*shape)
    hg.nn.init.orthogonal_(w, gain=2.0)
    m = w.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="orthogonal_: only tensors with 2 or more"):
        hg.nn.init.orthogonal_(hg.empty(3))


def test_orthogonal_is_uniform_over_signs_as_torch_draws_it():
    # Q signed by R's diagonal: the first entry of a column is positive half the time
    # (QR alone would fix a sign convention); 400 draws, a 5-sigma band around 200
    firsts = []
    for seed in range(400):
        w = hg.empty(3, 3)
        hg.nn.init.orthogonal_(w, generator=hg.Generator().manual_seed(seed))
        firsts.append(w.numpy()[0, 0] > 0)
    assert abs(sum(firsts) - 200) < 5 * 10


def test_sparse_zeroes_a_fraction_of_every_column():
    w = hg.empty(10, 40)
    hg.nn.init.sparse_(w, 0.3, std=0.5)
    values = w.numpy()
    assert ((values == 0).sum(0) == 3).all()
    assert 0.35 < values[values != 0].std() < 0.65


def test_sparse_refuses_a_tensor_that_is_not_2d():
    with pytest.raises(ValueError, match=r"sparse_: only 2-D tensors are supported, got shape"):
        hg.nn.init.sparse_(hg.empty(3), 0.5)
