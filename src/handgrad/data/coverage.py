"""How much of a dataset an epoch of sampling with replacement sees, simulated beside the closed
forms (sampling with replacement: ``RandomSampler(replacement=True)``).

**Fraction drawn.** An epoch draws ``n`` times uniformly from ``n`` points. One draw misses
point ``i`` with probability ``1 - 1/n``; the draws are independent, so ``e`` epochs
(``n e`` draws) miss it with probability ``(1 - 1/n)^(n e)`` and

    P(i drawn at least once) = 1 - (1 - 1/n)^(n e).

By linearity of expectation this is also the expected fraction of points drawn. For the limit,
``log (1 - 1/n)^n = log(1 - t) / t`` with ``t = 1/n -> 0``, a 0/0 form; L'Hopital gives
``-1 / (1 - t) -> -1``, so ``(1 - 1/n)^n -> 1/e`` and the fraction tends to ``1 - e^(-e)``:
one epoch sees about 63.2% of the points.

**Epochs until every point is drawn** (the coupon collector). With ``k`` points already seen a
draw is new with probability ``(n - k)/n``, so the wait for the next new one is geometric with
mean ``n / (n - k)``. Summing over ``k = 0 .. n-1``:

    E[draws] = n (1/n + 1/(n-1) + ... + 1) = n H_n,   E[epochs] = H_n ~ ln n + 0.5772,

and ``Var[draws] = n^2 sum_k 1/k^2 - n H_n``. Epochs here are draws divided by ``n`` (a
fractional count); the whole epochs a training loop runs are that count rounded up.

Without replacement every epoch is a permutation: one epoch draws every point, the fraction is
1 and the wait is exactly 1 epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..random import Generator, _generator

# Trials simulated together: bounds the (trials, n) arrays of one epoch to ~32 MB of int64.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class CoverageResult:
    """Measured means with their standard errors (over trials) beside the closed forms."""

    n: int
    epochs: int
    replacement: bool
    trials: int
    fraction_mean: float  # fraction of points drawn at least once after `epochs` epochs
    fraction_sem: float
    fraction_closed_form: float  # 1 - (1 - 1/n)^(n epochs), or 1 without replacement
    fraction_limit: float  # n -> infinity: 1 - e^(-epochs), or 1 without replacement
    epochs_to_all_mean: float  # draws until every point was drawn, divided by n
    epochs_to_all_sem: float
    epochs_to_all_closed_form: float  # H_n, or 1 without replacement
    draws_to_all_closed_form: float  # n H_n, or n without replacement

    def __str__(self) -> str:
        kind = "with" if self.replacement else "without"
        wait = "H_n" if self.replacement else "1"
        return (
            f"n={self.n}, {self.epochs} epoch(s) {kind} replacement, {self.trials} trials\n"
            f"  fraction drawn at least once: {self.fraction_mean:.4f} +- "
            f"{self.fraction_sem:.4f}  (closed form {self.fraction_closed_form:.4f}, "
            f"limit {self.fraction_limit:.4f})\n"
            f"  epochs until all drawn:       {self.epochs_to_all_mean:.4f} +- "
            f"{self.epochs_to_all_sem:.4f}  (closed form {wait} = "
            f"{self.epochs_to_all_closed_form:.4f}, i.e. {self.draws_to_all_closed_form:.1f} "
            f"draws)"
        )


def _first_draw_times(
    n: int, trials: int, replacement: bool, epochs: int, rng: np.random.Generator
) -> np.ndarray:
    """``(trials, n)`` array: the index of the draw at which each point was first drawn.

    Simulates whole epochs (all trials at once, one vectorised epoch per loop turn) until every
    point of every trial has been drawn, and at least ``epochs`` epochs."""
    first = np.full(trials * n, -1, dtype=np.int64)  # -1: not drawn yet
    row_offset = np.repeat(np.arange(trials, dtype=np.int64) * n, n)
    position = np.tile(np.arange(n, dtype=np.int64), trials)
    epoch = 0
    while epoch < epochs or (first < 0).any():
        if replacement:
            draws = rng.integers(0, n, size=(trials, n))
        else:
            draws = rng.permuted(np.broadcast_to(np.arange(n), (trials, n)), axis=1)
        # The first position in this epoch at which each (trial, point) appears; n if absent.
        in_epoch = np.full(trials * n, n, dtype=np.int64)
        np.minimum.at(in_epoch, row_offset + draws.ravel(), position)
        new = (first < 0) & (in_epoch < n)
        first[new] = epoch * n + in_epoch[new]
        epoch += 1
    return first.reshape(trials, n)


def _mean_sem(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def epoch_coverage(
    n: int,
    replacement: bool = True,
    epochs: int = 1,
    trials: int = 1000,
    generator: Generator | None = None,
    seed: int | None = None,
) -> CoverageResult:
    """Simulate ``trials`` runs of drawing ``n`` indices per epoch from ``n`` points and compare
    with the closed forms derived in this module's docstring.

    Measures the fraction of points drawn at least once after ``epochs`` epochs, and the number
    of epochs (draws / n) until every point has been drawn. Randomness comes from ``seed`` (a
    fresh NumPy generator), else ``generator``, else the global generator."""
    for name, value, low in (("n", n, 1), ("epochs", epochs, 1), ("trials", trials, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(
                f"epoch_coverage: {name} must be an integer >= {low}, got {name}={value!r}"
            )
    if seed is not None and generator is not None:
        raise ValueError("epoch_coverage: pass seed or generator, not both")
    rng = np.random.default_rng(seed) if seed is not None else _generator(generator)

    fractions, waits = [], []
    chunk = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, trials, chunk):
        first = _first_draw_times(n, min(chunk, trials - start), replacement, epochs, rng)
        fractions.append((first < n * epochs).mean(axis=1))
        waits.append((first.max(axis=1) + 1) / n)
    fraction_mean, fraction_sem = _mean_sem(np.concatenate(fractions))
    wait_mean, wait_sem = _mean_sem(np.concatenate(waits))

    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    return CoverageResult(
        n=int(n),
        epochs=int(epochs),
        replacement=bool(replacement),
        trials=int(trials),
        fraction_mean=fraction_mean,
        fraction_sem=fraction_sem,
        fraction_closed_form=1 - (1 - 1 / n) ** (n * epochs) if replacement else 1.0,
        fraction_limit=1 - math.exp(-epochs) if replacement else 1.0,
        epochs_to_all_mean=wait_mean,
        epochs_to_all_sem=wait_sem,
        epochs_to_all_closed_form=harmonic if replacement else 1.0,
        draws_to_all_closed_form=n * harmonic if replacement else float(n),
    )
