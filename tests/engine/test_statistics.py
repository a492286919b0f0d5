"""nansum, nanmean, quantile, nanquantile, cov, corrcoef, histc and logspace against torch:
values and gradients (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

R = np.random.default_rng(8)
X = R.standard_normal((3, 5))
X[1, 2] = np.nan
Y = R.standard_normal((3, 5))


def _both(f, arr):
    runs = []
    for lib in (hg, torch):
        t = lib.tensor(arr, requires_grad=True)
        out = f(lib, t)
        weights = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape))
        (out * lib.tensor(weights)).sum().backward()
        runs.append([out.detach().numpy(), t.grad.numpy()])
    for h, t in zip(*runs):
        np.testing.assert_allclose(h, t, rtol=1e-10, atol=1e-12, equal_nan=True)


CASES = {
    "nansum": (lambda lib, t: lib.nansum(t, 1), X),
    "nanmean": (lambda lib, t: lib.nanmean(t, 1), X),
    "nanmean_all": (lambda lib, t: lib.nanmean(t), X),
    "nanquantile_all_nan_slice": (
        lambda lib, t: lib.nanquantile(t, 0.4, dim=1),
        np.array([[np.nan, np.nan, np.nan], [1.0, 2.0, 3.0]]),
    ),
    "quantile_nan_slice": (lambda lib, t: lib.quantile(t, 0.4, dim=1), X),
    "quantile_keepdim_all": (lambda lib, t: lib.quantile(t, 0.4, keepdim=True), Y),
    "cov": (lambda lib, t: lib.cov(t), Y),
    "cov_correction_0": (lambda lib, t: lib.cov(t, correction=0), Y),
    "cov_weights": (
        lambda lib, t: lib.cov(
            t,
            fweights=lib.tensor([1, 2, 1, 3, 1]),
            aweights=lib.tensor([0.5, 1.0, 2.0, 1.0, 0.3], dtype=lib.float64),
        ),
        Y,
    ),
    "cov_1d": (lambda lib, t: lib.cov(t), Y[0]),
    "corrcoef": (lambda lib, t: lib.corrcoef(t), Y),
}


@pytest.mark.parametrize("name", list(CASES))
def test_statistic_matches_torch(name):
    f, arr = CASES[name]
    _both(f, arr)


@pytest.mark.parametrize("mode", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantiles_match_torch(mode):
    q = [0.1, 0.5, 0.75]
    _both(
        lambda lib, t: lib.quantile(
            t, lib.tensor(q, dtype=lib.float64), dim=1, keepdim=True, interpolation=mode
        ),
        Y,
    )
    _both(lambda lib, t: lib.quantile(t, 0.3, interpolation=mode), Y)
    _both(lambda lib, t: lib.nanquantile(t, 0.4, dim=1, interpolation=mode), X)


def test_quantile_errors():
    with pytest.raises(RuntimeError, match=r"quantile: q must be a scalar or 1-D with values"):
        hg.quantile(hg.ones(3), 1.5)
    with pytest.raises(ValueError, match="quantile: interpolation must be one of"):
        hg.quantile(hg.ones(3), 0.5, interpolation="cubic")


@pytest.mark.parametrize(
    "kw", [dict(bins=4, min=0, max=3), dict(bins=3), dict(bins=2, min=5, max=5)]
)
def test_histc_and_logspace_match_torch(kw):
    data = [1.0, 2.0, 1.0, 4.0, 5.0]
    assert (
        hg.histc(hg.tensor(data), **kw).tolist() == torch.histc(torch.tensor(data), **kw).tolist()
    )
    np.testing.assert_allclose(
        hg.logspace(-1, 2, 4, base=2).numpy(), torch.logspace(-1, 2, 4, base=2).numpy()
    )


@pytest.mark.parametrize(
    "name",
    [
        "quantile_0d",
        "quantile_0d_dim",
        "quantile_0d_vector_q",
        "cov_no_observations",
        "quantile_ties",
    ],
)
def test_statistics_edges_match_torch(name):
    cases = {
        "quantile_0d": lambda lib: lib.quantile(lib.tensor(2.0), 0.5),
        "quantile_0d_dim": lambda lib: lib.quantile(lib.tensor(2.0), 0.5, dim=0, keepdim=True),
        "quantile_0d_vector_q": lambda lib: lib.quantile(
            lib.tensor(2.0), lib.tensor([0.5, 0.7]), dim=-1
        ),
        "cov_no_observations": lambda lib: lib.cov(lib.zeros(2, 0)),
        "quantile_ties": lambda lib: lib.quantile(lib.tensor([1.0, 1.0, 1.0, 2.0]), 0.5),
    }
    h, t = cases[name](hg), cases[name](torch)
    assert tuple(h.shape) == tuple(t.shape)
    np.testing.assert_allclose(h.numpy(), t.numpy(), equal_nan=True)


def test_statistics_refuse_what_torch_refuses():
    with pytest.raises(
        RuntimeError, match=r"quantile: the input must be non-empty, got shape \(0,\)"
    ):
        hg.quantile(hg.zeros(0), 0.5)
    with pytest.raises(IndexError):
        hg.quantile(hg.tensor(2.0), 0.5, dim=1)
    with pytest.raises(RuntimeError, match=r"histc: the range \[nan, nan\] is not finite"):
        hg.histc(hg.tensor([np.nan, 1.0]), bins=2)
    with pytest.raises(RuntimeError, match="histc: max must be larger than min"):
        hg.histc(hg.tensor([1.0, 2.0]), bins=2, min=3, max=1)
