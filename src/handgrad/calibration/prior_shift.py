"""Prior shift: re-weighting a classifier's posteriors to new class priors, known or estimated.

Used in exercise 002-a7.

Setting. A classifier was trained on data distributed as
p(x, y) = p(x|y) p(y) and outputs p(y|x). In application the class-conditionals p(x|y) stay the
same but the priors change to p*(y):

    p(x, y) = p(x|y) p(y) = p(y|x) p(x)          (training)
    p*(x, y) = p(x|y) p*(y) = p*(y|x) p*(x)      (application)

Eliminating p(x|y) = p(y|x) p(x) / p(y) gives

    p*(y|x) = p(y|x) p*(y)/p(y) * p(x)/p*(x)  ∝  p(y|x) p*(y)/p(y),

normalised over y; the factor p(x)/p*(x) does not depend on y. Under the 0/1 loss the decision is
argmax_y of the re-weighted posteriors, so the network need not be retrained.

All functions take ``probs`` as an (N, K) array (or tensor) of posteriors, one row per example,
rows summing to 1, and priors as length-K vectors summing to 1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._tensor import Tensor
from .._validation import float64

_SUM_TOL = 1e-4  # float32 softmax rows sum to 1 within ~1e-6; user-typed priors within rounding


# ---- argument checks -------------------------------------------------------------------------


def _as_probs(op: str, probs: Any) -> np.ndarray:
    arr = float64(op, "probs", probs, "an (N, K) array or tensor of posteriors")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
        raise ValueError(
            f"{op}: probs must have shape (N, K) with N >= 1 examples and K >= 2 "
            f"classes, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{op}: probs contains NaN or infinite values")
    if (arr < 0).any():
        i, k = np.argwhere(arr < 0)[0]
        raise ValueError(f"{op}: probs must be non-negative, got probs[{i}, {k}] = {arr[i, k]:.6g}")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > _SUM_TOL)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{op}: each row of probs (shape {arr.shape}) must sum to 1, but "
            f"{bad.size} rows do not, e.g. row {i} sums to {sums[i]:.6g}; pass "
            f"softmax outputs, not logits"
        )
    return arr / sums[:, None]


def _as_prior(op: str, name: str, prior: Any, k: int, positive: bool) -> np.ndarray:
    arr = float64(op, name, prior, "a length-K vector")
    if arr.shape != (k,):
        raise ValueError(
            f"{op}: {name} must have shape ({k},), one entry per column of probs, "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{op}: {name} contains NaN or infinite values: {arr.tolist()}")
    if (arr < 0).any() or (positive and (arr == 0).any()):
        rule = "> 0 (it divides the posteriors)" if positive else ">= 0"
        j = int(np.flatnonzero(arr <= 0 if positive else arr < 0)[0])
        raise ValueError(
            f"{op}: every entry of {name} must be {rule}, got {name}[{j}] = {arr[j]:.6g}"
        )
    if abs(arr.sum() - 1) > _SUM_TOL:
        raise ValueError(
            f"{op}: {name} must sum to 1, got sum {arr.sum():.6g} for "
            f"{np.array2string(arr, precision=4)}"
        )
    return arr / arr.sum()


def _reweight(op: str, probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    unnorm = probs * weights
    z = unnorm.sum(axis=1, keepdims=True)
    dead = np.flatnonzero(z[:, 0] <= 0)
    if dead.size:
        raise ValueError(
            f"{op}: {dead.size} rows of probs (e.g. row {dead[0]}) put all their mass "
            f"on classes whose new prior is 0; their posterior is undefined"
        )
    return unnorm / z


# ---- known new priors ------------------------------------------------------------------------


def adjust_to_prior(probs: Any, train_prior: Any, new_prior: Any) -> Any:
    """Posteriors under new priors: p*(y|x) = p(y|x) w_y / sum_y' p(y'|x) w_y', w = p*/p.

    Derivation (module docstring): p(x|y) is shared by both distributions, so
    p*(y|x) ∝ p(x|y) p*(y) = p(y|x) p(x) p*(y) / p(y) ∝ p(y|x) p*(y) / p(y).
    With ``new_prior == train_prior`` this is the identity.

    Args:
        probs: (N, K) posteriors p(y|x) of the classifier, rows summing to 1.
        train_prior: (K,) class frequencies of the training set, all > 0.
        new_prior: (K,) priors of the application data, >= 0.

    Returns the (N, K) adjusted posteriors: a tensor (without graph) if ``probs`` is a tensor,
    else a float64 NumPy array.
    """
    op = "adjust_to_prior"
    p = _as_probs(op, probs)
    train = _as_prior(op, "train_prior", train_prior, p.shape[1], positive=True)
    new = _as_prior(op, "new_prior", new_prior, p.shape[1], positive=False)
    out = _reweight(op, p, new / train)
    if isinstance(probs, Tensor):
        return Tensor._wrap(out.astype(probs.dtype if probs.dtype.kind == "f" else np.float64))
    return out


def prior_log_likelihood(probs: Any, train_prior: Any, new_prior: Any) -> float:
    """(1/N) sum_i log sum_y p(y|x_i) p*(y)/p(y): the mean log-likelihood of unlabeled data under
    priors p*, up to an additive constant that does not depend on p*.

    Derivation: p*(x_i) = sum_y p(x_i|y) p*(y) = p(x_i) sum_y p(y|x_i) p*(y)/p(y), and the
    p(x_i) factor is fixed. This is the objective that ``estimate_prior_em`` increases.
    """
    op = "prior_log_likelihood"
    p = _as_probs(op, probs)
    train = _as_prior(op, "train_prior", train_prior, p.shape[1], positive=True)
    new = _as_prior(op, "new_prior", new_prior, p.shape[1], positive=False)
    with np.errstate(divide="ignore"):
        return float(np.log(p @ (new / train)).mean())


# ---- unknown new priors: EM ------------------------------------------------------------------


class PriorShiftResult(NamedTuple):
    """What ``estimate_prior_em`` returns.

    prior: (K,) the estimated new priors p*(y).
    probs: (N, K) the posteriors adjusted to them.
    n_iter: the number of EM iterations run.
    log_likelihood: (n_iter + 1,) ``prior_log_likelihood`` after each iteration, starting at the
        training priors; EM never lets it decrease.
    converged: whether the prior moved by less than ``tol`` before ``max_iter``.
    """

    prior: np.ndarray
    probs: np.ndarray
    n_iter: int
    log_likelihood: np.ndarray
    converged: bool


def estimate_prior_em(
    probs: Any, train_prior: Any, max_iter: int = 1000, tol: float = 1e-6, init_prior: Any = None
) -> PriorShiftResult:
    """Estimate unknown new priors from unlabeled posteriors by EM, and re-weight to them.

    Saerens, Latinne and Decaestecker, "Adjusting the outputs of a classifier to new a priori
    probabilities: a simple procedure", Neural Computation 14 (2002). The labels of the N new
    examples are the latent variables; the parameters are the priors p*(y). Starting from
    p*_0 = train_prior (or ``init_prior``), repeat

        E-step:  r_iy = p(y|x_i) p*_s(y)/p(y) / sum_y' p(y'|x_i) p*_s(y')/p(y')
                 (the posterior of the label under the current priors: ``adjust_to_prior``)
        M-step:  p*_{s+1}(y) = (1/N) sum_i r_iy

    until max_y |p*_{s+1}(y) - p*_s(y)| < tol. The updates are multiplicative, so a prior that
    starts at 0 stays there: ``init_prior`` must be > 0.

    The M-step maximises the expected complete-data log-likelihood sum_i sum_y r_iy log p*(y)
    subject to sum_y p*(y) = 1: setting the derivative of the Lagrangian to zero gives
    sum_i r_iy / p*(y) = mu for every y, and summing p*(y) = sum_i r_iy / mu over y gives
    mu = N. As in every EM, each iteration cannot decrease the likelihood
    (1/N) sum_i log sum_y p(y|x_i) p*(y)/p(y)   (``prior_log_likelihood``).
    A fixed point with all p*(y) > 0 is a stationary point of that likelihood on the simplex.

    The estimate is as good as the classifier's calibration: it assumes p(y|x) are the true
    training posteriors and that only the priors changed.

    Returns a ``PriorShiftResult`` (prior, probs, n_iter, log_likelihood, converged) of NumPy
    arrays.
    """
    op = "estimate_prior_em"
    p = _as_probs(op, probs)
    k = p.shape[1]
    train = _as_prior(op, "train_prior", train_prior, k, positive=True)
    prior = train if init_prior is None else _as_prior(op, "init_prior", init_prior, k, True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"{op}: max_iter must be a positive integer, got {max_iter!r}")
    if not isinstance(tol, (int, float, np.floating)) or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"{op}: tol must be a positive number, got {tol!r}")

    ratio = p / train  # p(y|x_i)/p(y), fixed through the iterations
    with np.errstate(divide="ignore"):
        history = [float(np.log(ratio @ prior).mean())]
    converged, n_iter = False, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned after the loop)
        unnorm = ratio * prior
        evidence = unnorm.sum(axis=1, keepdims=True)
        new_prior = (unnorm / evidence).mean(axis=0)
        with np.errstate(divide="ignore"):
            history.append(float(np.log(ratio @ new_prior).mean()))
        shift = np.abs(new_prior - prior).max()
        prior = new_prior
        if shift < tol:
            converged = True
            break
    adjusted = _reweight(op, p, prior / train)
    return PriorShiftResult(prior, adjusted, n_iter, np.array(history), converged)
