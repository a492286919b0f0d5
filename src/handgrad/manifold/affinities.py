"""Input affinities of SNE and t-SNE: Gaussian conditionals calibrated to a perplexity, then
symmetrised.

For each point i, p_{j|i} = exp(-beta_i d_ij^2) / sum_{k != i} exp(-beta_i d_ik^2), with
beta_i = 1 / (2 sigma_i^2) chosen so that the perplexity exp(H_i) of the row equals the target
(van der Maaten and Hinton, 2008, section 2; they write 2^H with H in bits, the same number).
With the row shifted by its nearest distance (which cancels in the normalisation),

    H_i = -sum_j p_{j|i} log p_{j|i} = log S_i + beta_i sum_j p_{j|i} d_ij^2,
    S_i = sum_{j != i} exp(-beta_i d_ij^2).

H_i decreases monotonically in beta_i (a sharper Gaussian has fewer effective neighbours), so
beta_i is found by bisection: double it (or halve it) until the target is bracketed, then halve
the bracket, for all points at once, until |H_i - log(perplexity)| < tol (scikit-learn's rule,
with its defaults tol = 1e-5 and 100 steps). The joint affinities are
p_ij = (p_{j|i} + p_{i|j}) / (2N): symmetric, summing to 1, and every point gets at least
1/(2N) of the mass, so outliers still have an influence on the embedding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_data


def squared_euclidean(x: np.ndarray) -> np.ndarray:
    """(N, N) matrix of ||x_i - x_j||^2, clipped at 0 against rounding, zero diagonal."""
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def conditional_probabilities(
    sq_distances: Any, perplexity: float = 30.0, tol: float = 1e-5, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """The rows p_{j|i} (N, N, zero diagonal) calibrated to ``perplexity`` by bisection on the
    precisions beta_i (module docstring), and the betas (N,). ``sq_distances`` is the (N, N)
    matrix of squared distances d_ij^2."""
    op = "conditional_probabilities"
    d = as_data(op, sq_distances, "sq_distances")
    n = d.shape[0]
    if d.shape != (n, n):
        raise ValueError(f"{op}: sq_distances must be square (N, N), got shape {d.shape}")
    if (d < 0).any():
        raise ValueError(f"{op}: sq_distances must be >= 0, got minimum {d.min():.6g}")
    _check_perplexity(op, perplexity, n)
    offdiag = ~np.eye(n, dtype=bool)
    # Shift each row by its nearest neighbour's distance so that exp never underflows to an
    # all-zero row; the shift cancels in p_{j|i} and in H_i.
    nearest = np.where(offdiag, d, np.inf).min(1)
    shifted = np.where(offdiag, d - nearest[:, None], np.inf)
    target = np.log(perplexity)
    beta = np.ones(n)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    active = np.arange(n)
    for _ in range(max_iter):
        rows = shifted[active]
        p = np.exp(-rows * beta[active, None])
        s = p.sum(1)
        # rows is inf on the diagonal where p is 0: take the product only where p > 0
        weighted = np.where(p > 0, p * np.where(np.isfinite(rows), rows, 0.0), 0.0).sum(1)
        diff = np.log(s) + beta[active] * weighted / s - target
        done = np.abs(diff) <= tol
        flat = diff > 0  # entropy too high: the Gaussian is too wide, increase beta
        b = beta[active]
        lo[active] = np.where(flat, b, lo[active])
        hi[active] = np.where(flat, hi[active], b)
        new = np.where(
            flat, np.where(np.isinf(hi[active]), 2 * b, (b + hi[active]) / 2), (b + lo[active]) / 2
        )
        beta[active] = np.where(done, b, new)
        active = active[~done]
        if active.size == 0:
            break
    p = np.exp(-shifted * beta[:, None])
    p /= p.sum(1, keepdims=True)
    return p, beta


def joint_probabilities(
    X: Any, perplexity: float = 30.0, tol: float = 1e-5, max_iter: int = 100
) -> np.ndarray:
    """p_ij = (p_{j|i} + p_{i|j}) / (2N) for the data X (N, D) with squared Euclidean distances:
    the symmetric input affinities of symmetric SNE and t-SNE (module docstring). Pairs are
    floored at the float64 epsilon, as in scikit-learn, so that log p_ij stays finite."""
    x = as_data("joint_probabilities", X)
    _check_perplexity("joint_probabilities", perplexity, x.shape[0])
    cond, _ = conditional_probabilities(squared_euclidean(x), perplexity, tol, max_iter)
    return symmetrize(cond)


def symmetrize(cond: np.ndarray) -> np.ndarray:
    p = cond + cond.T
    p /= p.sum()
    np.maximum(p, np.finfo(np.float64).eps, out=p)
    np.fill_diagonal(p, 0.0)
    return p


def _check_perplexity(op: str, perplexity: Any, n: int) -> None:
    if (
        isinstance(perplexity, bool)
        or not isinstance(perplexity, (int, float, np.floating))
        or not np.isfinite(perplexity)
        or perplexity <= 1
    ):
        raise ValueError(
            f"{op}: perplexity must be a number > 1 (an effective number of "
            f"neighbours), got {perplexity!r}"
        )
    if perplexity >= n:
        raise ValueError(
            f"{op}: perplexity={perplexity} must be less than the number of "
            f"samples {n} (each point has only {n - 1} neighbours)"
        )
