"""epoch_coverage against the closed forms of sampling with replacement (seed 000, Assignment 2).

The simulated means must lie within 4 standard errors of the closed forms: for a correct
simulation that fails with probability about 6e-5 per comparison; the seeds are fixed, so a run
is reproducible anyway.
"""

import math

import numpy as np
import pytest

import handgrad as hg
from handgrad.data import coverage, epoch_coverage

Z = 4.0


def harmonic(n):
    return sum(1.0 / k for k in range(1, n + 1))


@pytest.mark.parametrize("n, epochs, trials", [(10, 1, 4000), (200, 2, 1000), (1000, 1, 300)])
def test_simulation_agrees_with_the_closed_forms(n, epochs, trials):
    r = epoch_coverage(n, replacement=True, epochs=epochs, trials=trials, seed=n)
    assert r.fraction_closed_form == pytest.approx(1 - (1 - 1 / n) ** (n * epochs))
    assert r.fraction_limit == pytest.approx(1 - math.exp(-epochs))
    assert r.epochs_to_all_closed_form == pytest.approx(harmonic(n))
    assert r.draws_to_all_closed_form == pytest.approx(n * harmonic(n))
    assert 0 < r.fraction_sem and 0 < r.epochs_to_all_sem
    assert abs(r.fraction_mean - r.fraction_closed_form) < Z * r.fraction_sem, str(r)
    assert abs(r.epochs_to_all_mean - r.epochs_to_all_closed_form) < Z * r.epochs_to_all_sem, str(r)


def test_one_epoch_tends_to_one_minus_one_over_e():
    # (1 - 1/n)^n = exp(n log(1 - 1/n)) = e^-1 (1 - 1/(2n) + O(1/n^2)) < e^-1: the closed form
    # exceeds its limit 1 - 1/e by about e^-1 / (2n).
    for n in (10, 100, 1000):
        r = epoch_coverage(n, trials=2, seed=0)
        assert r.fraction_limit == pytest.approx(1 - math.exp(-1))
        assert 0 < r.fraction_closed_form - r.fraction_limit < math.exp(-1) / n


def test_without_replacement_one_epoch_sees_everything():
    r = epoch_coverage(50, replacement=False, epochs=2, trials=20, seed=0)
    assert r.fraction_mean == 1.0 and r.fraction_sem == 0.0
    assert r.epochs_to_all_mean == 1.0 and r.epochs_to_all_closed_form == 1.0
    assert r.fraction_closed_form == r.fraction_limit == 1.0


def test_vectorised_first_draw_times_equal_a_plain_loop():
    n, trials, epochs = 5, 3, 2
    first = coverage._first_draw_times(n, trials, True, epochs, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    expected = np.full((trials, n), -1)
    for epoch in range(first.max() // n + 1):
        draws = rng.integers(0, n, size=(trials, n))
        for t in range(trials):
            for j, point in enumerate(draws[t]):
                if expected[t, point] < 0:
                    expected[t, point] = epoch * n + j
    np.testing.assert_array_equal(first, expected)
    assert (first >= 0).all()


def test_chunked_trials_and_reproducibility(monkeypatch):
    a = epoch_coverage(100, trials=300, seed=5)
    assert a == epoch_coverage(100, trials=300, seed=5)
    assert a == epoch_coverage(100, trials=300, generator=hg.Generator(5))
    monkeypatch.setattr(coverage, "_CHUNK_ELEMENTS", 1000)  # 10 trials per chunk
    b = epoch_coverage(100, trials=300, seed=5)
    assert b.trials == 300
    assert abs(b.fraction_mean - b.fraction_closed_form) < Z * b.fraction_sem
    assert "fraction drawn at least once" in str(b) and "H_n" in str(b)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be an integer >= 1, got n=0"),
        ({"n": 10, "trials": 1}, "trials=1"),
        ({"n": 10, "epochs": 1.5}, "epochs=1.5"),
        ({"n": 10, "seed": 1, "generator": hg.Generator(1)}, "not both"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        epoch_coverage(**kwargs)
