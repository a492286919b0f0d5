"""hg.calibration: re-weighting to new priors (002 Assignment 7) and the EM prior estimate of
Saerens, Latinne and Decaestecker (2002), on data whose true posteriors are known exactly and on
scikit-learn's digits with a classifier trained by scikit-learn."""

import numpy as np
import pytest

import handgrad as hg
from handgrad.calibration import adjust_to_prior, estimate_prior_em, prior_log_likelihood

MEANS = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.7]])
TRAIN_PRIOR = np.array([0.5, 0.3, 0.2])
NEW_PRIOR = np.array([0.1, 0.2, 0.7])


def gaussian_posteriors(x, prior):
    """Exact p(y|x) for unit-covariance Gaussian class-conditionals centred at MEANS."""
    logits = -0.5 * ((x[:, None, :] - MEANS[None]) ** 2).sum(-1) + np.log(prior)
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def skewed_sample(seed, n=5000):
    """A test set drawn with the new priors; its posteriors as the training-prior model gives."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=NEW_PRIOR)
    x = MEANS[y] + rng.standard_normal((n, 2))
    return gaussian_posteriors(x, TRAIN_PRIOR), y, x


def test_adjust_to_prior_is_bayes_rule_on_known_posteriors():
    # Re-weighting the training-prior posteriors must give exactly the posteriors computed from
    # scratch with the new prior: this is the derivation of Assignment 7.
    probs, _, x = skewed_sample(0, n=200)
    np.testing.assert_allclose(
        adjust_to_prior(probs, TRAIN_PRIOR, NEW_PRIOR),
        gaussian_posteriors(x, NEW_PRIOR),
        rtol=1e-10,
        atol=1e-12,
    )


def test_adjust_to_prior_with_the_same_prior_is_the_identity():
    probs, _, _ = skewed_sample(1, n=100)
    np.testing.assert_allclose(
        adjust_to_prior(probs, TRAIN_PRIOR, TRAIN_PRIOR), probs, rtol=1e-12, atol=1e-15
    )


def test_adjust_to_prior_takes_and_returns_tensors():
    probs, _, _ = skewed_sample(2, n=10)
    out = adjust_to_prior(hg.tensor(probs.astype(np.float32)), hg.tensor(TRAIN_PRIOR), NEW_PRIOR)
    assert isinstance(out, hg.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(
        out.numpy(), adjust_to_prior(probs, TRAIN_PRIOR, NEW_PRIOR), rtol=1e-5
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_em_recovers_the_prior_and_improves_accuracy(seed):
    probs, y, _ = skewed_sample(seed)
    result = estimate_prior_em(probs, TRAIN_PRIOR, tol=1e-8)
    assert result.converged and result.n_iter < 100  # measured 26-28 iterations
    # Measured max |estimate - generating prior| over seeds 0-4: 0.003-0.014 with N = 5000; the
    # sampling error of the class proportions alone is about sqrt(0.7 * 0.3 / 5000) = 0.0065.
    assert np.abs(result.prior - NEW_PRIOR).max() < 0.03, result.prior
    before = (probs.argmax(1) == y).mean()
    known = (adjust_to_prior(probs, TRAIN_PRIOR, NEW_PRIOR).argmax(1) == y).mean()
    estimated = (result.probs.argmax(1) == y).mean()
    # Measured: 0.640-0.656 before, 0.811-0.822 after (known or estimated prior).
    assert known > before + 0.1 and estimated > before + 0.1, (before, known, estimated)
    np.testing.assert_allclose(
        result.probs, adjust_to_prior(probs, TRAIN_PRIOR, result.prior), rtol=1e-12
    )


def test_em_increases_the_likelihood_and_stops_at_its_maximum():
    probs, _, _ = skewed_sample(3, n=2000)
    result = estimate_prior_em(probs, TRAIN_PRIOR, tol=1e-10)
    # EM never decreases the likelihood ...
    assert np.all(np.diff(result.log_likelihood) >= -1e-12)
    assert result.log_likelihood[-1] == pytest.approx(
        prior_log_likelihood(probs, TRAIN_PRIOR, result.prior), abs=1e-12
    )
    # ... and its fixed point is a maximum on the simplex: every nearby prior is worse.
    rng = np.random.default_rng(0)
    best = result.log_likelihood[-1]
    for _ in range(50):
        other = np.clip(result.prior + 0.01 * rng.standard_normal(3), 1e-6, None)
        assert prior_log_likelihood(probs, TRAIN_PRIOR, other / other.sum()) < best


def test_em_without_shift_stays_near_the_training_prior():
    rng = np.random.default_rng(4)
    y = rng.choice(3, 5000, p=TRAIN_PRIOR)
    probs = gaussian_posteriors(MEANS[y] + rng.standard_normal((5000, 2)), TRAIN_PRIOR)
    assert np.abs(estimate_prior_em(probs, TRAIN_PRIOR).prior - TRAIN_PRIOR).max() < 0.03


def test_em_on_digits_with_a_trained_classifier():
    # The setting: a classifier (scikit-learn's logistic regression on 6 PCA components,
    # so that it makes mistakes a prior can fix) trained on balanced digits, applied to a test
    # set resampled so that classes 1 and 7 make up 84% of it.
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    train, held_out = idx[:900], idx[900:]
    pca = PCA(6, random_state=0).fit(x[train])
    clf = LogisticRegression(max_iter=2000).fit(pca.transform(x[train]), y[train])
    train_prior = np.bincount(y[train], minlength=10) / len(train)
    new_prior = np.full(10, 0.02)
    new_prior[[1, 7]] = 0.42
    new_prior /= new_prior.sum()
    counts = rng.multinomial(1500, new_prior)
    sel = np.concatenate([rng.choice(held_out[y[held_out] == c], counts[c]) for c in range(10)])
    probs, labels = clf.predict_proba(pca.transform(x[sel])), y[sel]

    result = estimate_prior_em(probs, train_prior)
    # Measured: max error 0.027 against the generating prior, 0.019 against the sample's.
    assert np.abs(result.prior - new_prior).max() < 0.05, result.prior
    before = (probs.argmax(1) == labels).mean()
    after = (result.probs.argmax(1) == labels).mean()
    assert after > before + 0.02, (before, after)  # measured 0.897 -> 0.942


BAD_PROBS = [
    (np.array([[0.5, 0.6], [0.3, 0.7]]), r"each row of probs \(shape \(2, 2\)\) must sum to 1"),
    (np.array([[1.2, -0.2], [0.3, 0.7]]), r"non-negative, got probs\[0, 1\] = -0.2"),
    (np.array([0.3, 0.7]), r"shape \(N, K\).*got shape \(2,\)"),
    (np.array([[np.nan, 1.0]]), "NaN"),
]


@pytest.mark.parametrize("fn", [adjust_to_prior, prior_log_likelihood])
@pytest.mark.parametrize("probs,match", BAD_PROBS)
def test_bad_probs_are_rejected(fn, probs, match):
    with pytest.raises(ValueError, match=f"{fn.__name__}: .*{match}"):
        fn(probs, [0.5, 0.5], [0.5, 0.5])


@pytest.mark.parametrize("probs,match", BAD_PROBS)
def test_em_rejects_bad_probs(probs, match):
    with pytest.raises(ValueError, match=f"estimate_prior_em: .*{match}"):
        estimate_prior_em(probs, [0.5, 0.5])


PROBS = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])


@pytest.mark.parametrize(
    "train,new,match",
    [
        ([0.5, 0.5], [0.2, 0.3, 0.5], r"train_prior must have shape \(3,\).*got shape \(2,\)"),
        ([0.2, 0.3, 0.5], [0.5, 0.5], r"new_prior must have shape \(3,\).*got shape \(2,\)"),
        ([0.2, 0.3, 0.5], [0.7, -0.2, 0.5], r"new_prior must be >= 0, got new_prior\[1\] = -0.2"),
        ([0.0, 0.5, 0.5], [0.2, 0.3, 0.5], r"train_prior must be > 0.*train_prior\[0\] = 0"),
        ([0.2, 0.3, 0.6], [0.2, 0.3, 0.5], r"train_prior must sum to 1, got sum 1.1"),
    ],
)
def test_bad_priors_are_rejected(train, new, match):
    with pytest.raises(ValueError, match=f"adjust_to_prior: .*{match}"):
        adjust_to_prior(PROBS, train, new)


def test_a_row_with_no_mass_left_is_rejected():
    with pytest.raises(ValueError, match=r"adjust_to_prior: 1 rows of probs \(e.g. row 0\)"):
        adjust_to_prior([[1.0, 0.0], [0.5, 0.5]], [0.5, 0.5], [0.0, 1.0])


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer, got 0"),
        ({"tol": -1.0}, ValueError, "tol must be a positive number, got -1.0"),
        ({"init_prior": [0.0, 0.5, 0.5]}, ValueError, r"init_prior must be > 0"),
    ],
)
def test_em_rejects_bad_settings(kwargs, exc, match):
    with pytest.raises(exc, match=f"estimate_prior_em: .*{match}"):
        estimate_prior_em(PROBS, [0.2, 0.3, 0.5], **kwargs)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="adjust_to_prior: probs must be an"):
        adjust_to_prior(object(), [0.5, 0.5], [0.5, 0.5])


def test_prior_shift_on_the_demo_digits(tmp_path):
    """The demo's data (mnist5k): a handgrad classifier, its test split resampled to a skewed
    prior. Re-weighting raises accuracy, and EM recovers the prior to within 0.03 per class
    (measured: 91.2% -> 94.5%, max error 0.012)."""
    import json

    from handgrad.cli import main

    code = main(
        ["prior-shift", "--data", "mnist5k", "--skew", "0.5", "--no-plots", "--out", str(tmp_path)]
    )
    assert code == 0
    report = json.loads((tmp_path / "prior_shift.json").read_text())
    acc = report["accuracy"]
    assert acc["estimated_prior"] > acc["before"] + 0.01
    assert acc["true_prior"] > acc["before"] + 0.01
    err = np.abs(np.array(report["estimated_prior"]) - np.array(report["true_prior"])).max()
    assert err < 0.03
