"""handgrad.distributions against torch.distributions: log_prob, entropy, moments, cdf and KL
(values and gradients in the parameters), sample statistics, and the reparameterised sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD

import handgrad as hg
import handgrad.distributions as D

from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)
LOC, SCALE = R.standard_normal((2, 3)), R.uniform(0.5, 2.0, (2, 3))
X = R.standard_normal((2, 3))
LOGITS, LOGITS2 = R.standard_normal((2, 4)), R.standard_normal((2, 4))
P, P2 = R.uniform(0.1, 0.9, 3), R.uniform(0.1, 0.9, 3)


def _lib(L):
    return D if L is hg else TD


CASES = [
    ("normal-log_prob", lambda L, m, s: _lib(L).Normal(m, s).log_prob(L.tensor(X)), [LOC, SCALE]),
    ("normal-entropy", lambda L, m, s: _lib(L).Normal(m, s).entropy(), [LOC, SCALE]),
    ("normal-cdf", lambda L, m, s: _lib(L).Normal(m, s).cdf(L.tensor(X)), [LOC, SCALE]),
    (
        "normal-moments",
        lambda L, m, s: (
            _lib(L).Normal(m, s).variance + _lib(L).Normal(m, s).mean + _lib(L).Normal(m, s).stddev
        ),
        [LOC, SCALE],
    ),
    (
        "normal-kl",
        lambda L, m, s, m2, s2: _lib(L).kl_divergence(_lib(L).Normal(m, s), _lib(L).Normal(m2, s2)),
        [LOC, SCALE, X, SCALE[::-1].copy()],
    ),
    (
        "bernoulli-logits",
        lambda L, lg: (
            _lib(L).Bernoulli(logits=lg).log_prob(L.tensor(np.array([1.0, 0.0, 1.0, 0.0])))
        ),
        [LOGITS[0]],
    ),
    (
        "bernoulli-probs",
        lambda L, p: _lib(L).Bernoulli(probs=p).log_prob(L.tensor(np.array([1.0, 0.0, 1.0]))),
        [P],
    ),
    ("bernoulli-entropy", lambda L, lg: _lib(L).Bernoulli(logits=lg).entropy(), [LOGITS[0]]),
    (
        "bernoulli-kl",
        lambda L, p, q: _lib(L).kl_divergence(
            _lib(L).Bernoulli(probs=p), _lib(L).Bernoulli(probs=q)
        ),
        [P, P2],
    ),
    (
        "categorical-log_prob",
        lambda L, lg: _lib(L).Categorical(logits=lg).log_prob(L.tensor(np.array([[3, 0], [1, 2]]))),
        [LOGITS],
    ),
    (
        "categorical-probs",
        lambda L, p: _lib(L).Categorical(probs=p).log_prob(L.tensor(np.array([2, 0]))),
        [np.abs(LOGITS) + 0.1],
    ),
    ("categorical-entropy", lambda L, lg: _lib(L).Categorical(logits=lg).entropy(), [LOGITS]),
    (
        "categorical-kl",
        lambda L, a, b: _lib(L).kl_divergence(
            _lib(L).Categorical(logits=a), _lib(L).Categorical(logits=b)
        ),
        [LOGITS, LOGITS2],
    ),
    (
        "uniform",
        lambda L, a, w: (
            _lib(L).Uniform(a, a + w).log_prob(a + w * 0.3)
            + _lib(L).Uniform(a, a + w).entropy()
            + _lib(L).Uniform(a, a + w).variance
        ),
        [LOC, SCALE],
    ),
]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_to_second_order(name, fn, arrays):
    compare_to_second_order(name, *run(fn, arrays))


def test_reparameterised_sample_carries_the_gradient():
    loc = hg.tensor(LOC, requires_grad=True)
    scale = hg.tensor(SCALE, requires_grad=True)
    g = hg.Generator(3)
    z = D.Normal(loc, scale).rsample((5,), generator=g)
    eps = (z.detach().numpy() - LOC) / SCALE
    z.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), np.full(LOC.shape, 5.0))
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-12)
    assert D.Normal(loc, scale).sample((2,)).requires_grad is False


@pytest.mark.parametrize(
    "make, mean, var",
    [
        (lambda: D.Normal(hg.tensor(1.5), hg.tensor(0.5)), 1.5, 0.25),
        (lambda: D.Bernoulli(probs=hg.tensor(0.3)), 0.3, 0.21),
        (lambda: D.Uniform(hg.tensor(-1.0), hg.tensor(3.0)), 1.0, 16 / 12),
        (lambda: D.Categorical(probs=hg.tensor([0.2, 0.5, 0.3])), 1.1, 0.49),
    ],
)
def test_sample_moments_within_five_standard_errors(make, mean, var):
    n = 20000
    s = make().sample((n,), generator=hg.Generator(0)).numpy().astype(np.float64)
    assert abs(s.mean() - mean) < 5 * np.sqrt(var / n)
    assert abs(s.var() - var) < 0.05 * var


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: D.Normal(0.0, -1.0), ValueError, r"Normal: scale must be positive"),
        (lambda: D.Bernoulli(), ValueError, r"Bernoulli: give exactly one of probs and logits"),
        (lambda: D.Bernoulli(probs=hg.tensor([1.5])), ValueError, r"Bernoulli: probs must be in"),
        (
            lambda: D.Categorical(logits=hg.zeros(3)).log_prob(hg.tensor([3])),
            ValueError,
            r"Categorical: values must be in \[0, 3\)",
        ),
        (lambda: D.Uniform(1.0, 0.0), ValueError, r"Uniform: high must exceed low"),
        (
            lambda: D.kl_divergence(D.Normal(0.0, 1.0), D.Uniform(0.0, 1.0)),
            NotImplementedError,
            r"kl_divergence: no closed form for Normal and Uniform",
        ),
    ],
)
def test_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_independent_normal_as_torch():
    loc = np.array([[0.0, 1.0, -1.0], [0.5, -0.5, 2.0]], np.float64)
    scale = np.array([[1.0, 2.0, 0.3], [0.5, 1.5, 1.0]], np.float64)
    value = np.array([[0.3, 0.2, 0.0], [-1.0, 0.0, 1.0]], np.float64)
    got, want = [], []
    for lib, out in ((hg, got), (torch, want)):
        mu = lib.tensor(loc, requires_grad=True)
        d = lib.distributions.Independent(lib.distributions.Normal(mu, lib.tensor(scale)), 1)
        other = lib.distributions.Independent(
            lib.distributions.Normal(lib.tensor(loc) + 0.5, lib.tensor(scale) * 0.7), 1
        )
        kl = lib.distributions.kl_divergence(d, other)
        lp = d.log_prob(lib.tensor(value))
        (lp.sum() + kl.sum()).backward()
        out += [lp, d.entropy(), kl, mu.grad, d.mean, d.variance]
        out.append(np.array([tuple(d.batch_shape), tuple(d.event_shape)]))
        out.append(np.array(tuple(d.sample((4,)).shape)))

    def arr(t):
        return t if isinstance(t, np.ndarray) else t.detach().numpy()

    for g, w in zip(got, want):
        np.testing.assert_allclose(arr(g), arr(w), rtol=1e-12)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims must be in"):
        hg.distributions.Independent(hg.distributions.Normal(hg.zeros(3), hg.ones(3)), 2)


def _family_results(lib, which):
    D_ = lib.distributions
    a = lib.tensor(np.array([0.5, 1.5, 3.0]), requires_grad=True)
    b = lib.tensor(np.array([1.0, 0.7, 2.0]), requires_grad=True)
    x = lib.tensor(np.array([0.2, 1.0, 4.0]))
    if which == "exponential":
        d = D_.Exponential(a)
    elif which == "laplace":
        d = D_.Laplace(a, b)
    else:
        d = D_.LogNormal(a - 1, b)
    outs = [d.log_prob(x), d.entropy(), d.mean, d.variance]
    if which != "lognormal":
        outs.append(d.cdf(x))
    total = sum(o.sum() for o in outs)
    total.backward()
    grads = [a.grad] + ([b.grad] if b.grad is not None else [])
    shape = tuple(d.rsample((5,)).shape)
    return [o.detach().numpy() for o in outs + grads], shape


@pytest.mark.parametrize("which", ["exponential", "laplace", "lognormal"])
def test_exponential_laplace_lognormal_as_torch(which):
    got, got_shape = _family_results(hg, which)
    want, want_shape = _family_results(torch, which)
    assert got_shape == want_shape == (5, 3)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_one_hot_categorical_and_enumerate_support_as_torch():
    logits = np.random.default_rng(3).standard_normal((2, 4))
    got, want = [], []
    for lib, out in ((hg, got), (torch, want)):
        lg = lib.tensor(logits, requires_grad=True)
        d = lib.distributions.OneHotCategorical(logits=lg)
        value = lib.tensor(np.eye(4)[[1, 3]])
        lp = d.log_prob(value)
        (lp.sum() + d.entropy().sum()).backward()
        out += [lp, lg.grad, d.mean, d.variance, d.enumerate_support(), d.enumerate_support(False)]
        cat = lib.distributions.Categorical(logits=lib.tensor(logits))
        out += [cat.enumerate_support(), cat.enumerate_support(expand=False)]
        sample = d.sample((3,))
        out.append(np.array(sample.shape))
        out.append(np.array([tuple(d.batch_shape), tuple(d.event_shape)]))
        assert set(np.unique(np.asarray(sample))) <= {0.0, 1.0}
    for g, w in zip(got, want):
        g = g if isinstance(g, np.ndarray) else g.detach().numpy()
        w = w if isinstance(w, np.ndarray) else w.detach().numpy()
        np.testing.assert_allclose(g, w, rtol=1e-12)
