"""Proximal gradient methods for the Lasso: soft thresholding, ISTA and FISTA. Used in exercises
004-q9a..d. The soft thresholding and FISTA's momentum are ``handgrad.optim.proximal``'s.

The problem, in this module's scaling:

    F(x) = g(x) + h(x),   g(x) = 1/2 ||A x - b||^2,   h(x) = lam ||x||_1.

scikit-learn's ``Lasso`` minimises 1/(2 m) ||A x - b||^2 + alpha ||x||_1 for m rows of A: the same
minimiser when lam = alpha * m.

**Soft thresholding is the prox of the l1 norm.** prox_{t h}(x) =
argmin_z 1/2 ||z - x||^2 + t ||z||_1 separates over coordinates. For one coordinate,
phi(z) = 1/2 (z - x)^2 + t |z| is convex; 0 is in its subdifferential z - x + t dz|z|:
for z > 0 this gives z = x - t (consistent iff x > t), for z < 0 z = x + t (iff x < -t), and
z = 0 is optimal iff |x| <= t (0 in -x + t[-1, 1]). Together:

    S_t(x) = sign(x) max(|x| - t, 0).

**ISTA is proximal gradient descent:** x_{k+1} = prox_{alpha h}(x_k - alpha grad g(x_k))
with grad g(x) = A^T (A x - b), i.e. x_{k+1} = S_{alpha lam}(x_k - alpha A^T (A x_k - b)).
With alpha = 1/L, L = ||A||_2^2 the Lipschitz constant of grad g, F(x_k) decreases
monotonically and F(x_k) - F* <= L ||x_0 - x*||^2 / (2 k).

**Optimality:** u = prox_{t h}(x) iff (x - u)/t is in the subdifferential of h at u. At a
fixed point x* = prox_{alpha h}(x* - alpha grad g(x*)) this reads -grad g(x*) in lam d||x*||_1:

    A^T (A x* - b)_i = -lam sign(x*_i)   where x*_i != 0,
    |A^T (A x* - b)_i| <= lam            where x*_i = 0.

**Stopping:** the gradient mapping G(x_k) = (x_k - x_{k+1}) / alpha satisfies
G(x_k) - grad g(x_k) in dh(x_{k+1}); it vanishes exactly at a minimiser. The methods stop when
max_i |G_i| <= tol * max_i |(A^T b)_i| (the gradient of g at 0, the scale of the problem: for
lam >= that value, x = 0 is optimal).

**FISTA** (Beck and Teboulle, 2009) adds Nesterov momentum to the same step:

    x_k = S_{alpha lam}(y_k - alpha A^T (A y_k - b))
    t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2
    y_{k+1} = x_k + (t_k - 1)/t_{k+1} (x_k - x_{k-1}),       y_1 = x_0, t_1 = 1,

with F(x_k) - F* <= 2 L ||x_0 - x*||^2 / (k + 1)^2; F is not monotone along the iterates.

``b`` may be a matrix (m, K): K independent problems solved together (x is then (n, K)); the
objective is the sum over columns.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from .._tensor import Tensor
from .._validation import as_data, positive_int
from ..ops import abs as hg_abs
from ..ops import relu, sign
from ..optim.proximal import fista_extrapolate, shrink

# ---- soft thresholding -------------------------------------------------------------------------


def soft_threshold(x: Any, t: Any) -> Any:
    """S_t(x) = sign(x) max(|x| - t, 0), element-wise: prox of t ||.||_1 (module docstring).

    ``x``: an array or a tensor; a tensor gives a tensor, built from handgrad operations
    (sign(x) relu(|x| - t)), so it can be differentiated: dS/dx = 1 where |x| > t, else 0.
    ``t``: a threshold >= 0, a number or an array broadcastable to x."""
    op = "soft_threshold"
    t_arr = t._data if isinstance(t, Tensor) else t
    try:
        t_arr = np.asarray(t_arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: t must be a number or an array, got {type(t).__name__}") from None
    if not np.isfinite(t_arr).all() or (t_arr < 0).any():
        raise ValueError(
            f"{op}: the threshold t must be finite and >= 0, got "
            f"{t_arr if t_arr.ndim == 0 else 'min ' + str(t_arr.min())}"
        )
    if isinstance(x, Tensor):
        shape = x.shape
    else:
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{op}: x must be an array or a tensor, got {type(x).__name__}"
            ) from None
        shape = x.shape
    try:
        np.broadcast_shapes(shape, t_arr.shape)
    except ValueError:
        raise ValueError(
            f"{op}: t of shape {t_arr.shape} does not broadcast with x of shape {shape}"
        ) from None
    if isinstance(x, Tensor):
        thr = t if isinstance(t, Tensor) else Tensor._wrap(t_arr.astype(x.dtype))
        return sign(x) * relu(hg_abs(x) - thr)
    return shrink(x, t_arr)


# ---- argument checks -------------------------------------------------------------------------


def _problem(op: str, A: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a = as_data(op, A, "A")
    if isinstance(b, Tensor):
        b = b._data
    try:
        bb = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: b must be an array or a tensor, got {type(b).__name__}") from None
    if bb.ndim not in (1, 2) or bb.shape[0] != a.shape[0]:
        raise ValueError(
            f"{op}: b must have shape ({a.shape[0]},) or ({a.shape[0]}, K) to match "
            f"A of shape {a.shape}, got shape {bb.shape}"
        )
    if not np.isfinite(bb).all():
        raise ValueError(f"{op}: b contains NaN or infinite values")
    return a, bb


def _lam(op: str, lam: Any) -> float:
    if (
        isinstance(lam, bool)
        or not isinstance(lam, numbers.Real)
        or not np.isfinite(lam)
        or lam < 0
    ):
        raise ValueError(f"{op}: lam must be a finite number >= 0, got {lam!r}")
    return float(lam)


def _x(op: str, name: str, x: Any, shape: tuple) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x._data
    arr = np.array(x, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(
            f"{op}: {name} must have shape {shape} (A is (m, n), b is (m,) or "
            f"(m, K)), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{op}: {name} contains NaN or infinite values")
    return arr


def lipschitz_constant(A: Any) -> float:
    """L = ||A||_2^2, the largest squared singular value of A: the Lipschitz constant of
    x -> A^T (A x - b), so that 1/L is a safe step for ISTA and FISTA."""
    a = as_data("lipschitz_constant", A, "A")
    return float(np.linalg.svd(a, compute_uv=False)[0] ** 2)


def lasso_objective(A: Any, b: Any, x: Any, lam: float) -> float:
    """F(x) = 1/2 ||A x - b||^2 + lam ||x||_1 (summed over the columns when b is (m, K)).
    scikit-learn's Lasso objective is F / m with alpha = lam / m."""
    op = "lasso_objective"
    a, bb = _problem(op, A, b)
    xx = _x(op, "x", x, (a.shape[1],) + bb.shape[1:])
    lam = _lam(op, lam)
    r = a @ xx - bb
    return float(0.5 * (r * r).sum() + lam * np.abs(xx).sum())


# ---- ISTA and FISTA --------------------------------------------------------------------------


class LassoResult(NamedTuple):
    """What ``ista`` and ``fista`` return.

    x: the solution, (n,) or (n, K).
    objective: (n_iter + 1,) F at x_0 and after each iteration.
    n_iter: iterations run.
    converged: whether the gradient mapping fell below the tolerance before ``max_iter``.
    """

    x: np.ndarray
    objective: np.ndarray
    n_iter: int
    converged: bool


def _setup(op: str, A: Any, b: Any, lam: Any, x0: Any, step: Any, max_iter: Any, tol: Any) -> tuple:
    a, bb = _problem(op, A, b)
    lam = _lam(op, lam)
    shape = (a.shape[1],) + bb.shape[1:]
    x = np.zeros(shape) if x0 is None else _x(op, "x0", x0, shape)
    if step is None:
        lip = float(np.linalg.svd(a, compute_uv=False)[0] ** 2)
        step = 1.0 / lip if lip > 0 else 1.0
    elif (
        isinstance(step, bool)
        or not isinstance(step, numbers.Real)
        or not np.isfinite(step)
        or step <= 0
    ):
        raise ValueError(
            f"{op}: step must be a positive number (at most 1/||A||_2^2 for "
            f"convergence), got {step!r}"
        )
    max_iter = positive_int(op, "max_iter", max_iter)
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not np.isfinite(tol)
        or tol < 0
    ):
        raise ValueError(f"{op}: tol must be a finite number >= 0, got {tol!r}")
    atb = a.T @ bb
    scale = float(np.abs(atb).max()) or 1.0
    return a, bb, lam, x, float(step), max_iter, tol * scale, a.T @ a, atb


def _objective(a: np.ndarray, bb: np.ndarray, x: np.ndarray, lam: float) -> float:
    r = a @ x - bb
    return float(0.5 * (r * r).sum() + lam * np.abs(x).sum())


def _proximal_steps(
    ata: np.ndarray,
    atb: np.ndarray,
    lam: float,
    x: np.ndarray,
    step: float,
    max_iter: int,
    tol: float,
    record: Any,
    accelerated: bool,
) -> tuple[np.ndarray, int, bool]:
    """ISTA (the step taken from x_k) or FISTA (from the extrapolated y_k): one loop, so the
    stopping rule is the same. Returns (x, n_iter, converged)."""
    y, t = x, 1.0
    for k in range(1, max_iter + 1):
        new = shrink(y - step * (ata @ y - atb), step * lam)
        mapping = np.abs(y - new).max() / step
        y, t = fista_extrapolate(new, x, t) if accelerated else (new, t)
        x = new
        if record is not None:
            record(x)
        if mapping <= tol:
            return x, k, True
    return x, max_iter, False


def ista_steps(
    ata: np.ndarray,
    atb: np.ndarray,
    lam: float,
    x: np.ndarray,
    step: float,
    max_iter: int,
    tol: float,
    record: Any = None,
) -> tuple[np.ndarray, int, bool]:
    """The ISTA iterations on the normal-equation data A^T A, A^T b (no checks; ``tol``
    absolute; ``record(x)`` called after each step). Returns (x, n_iter, converged)."""
    return _proximal_steps(ata, atb, lam, x, step, max_iter, tol, record, accelerated=False)


def fista_steps(
    ata: np.ndarray,
    atb: np.ndarray,
    lam: float,
    x: np.ndarray,
    step: float,
    max_iter: int,
    tol: float,
    record: Any = None,
) -> tuple[np.ndarray, int, bool]:
    """The FISTA iterations (see ``ista_steps``)."""
    return _proximal_steps(ata, atb, lam, x, step, max_iter, tol, record, accelerated=True)


def _solve(
    op: str, steps: Any, A: Any, b: Any, lam: Any, x0: Any, step: Any, max_iter: Any, tol: Any
) -> LassoResult:
    a, bb, lam, x, step, max_iter, tol, ata, atb = _setup(op, A, b, lam, x0, step, max_iter, tol)
    history = [_objective(a, bb, x, lam)]
    x, n_iter, converged = steps(
        ata, atb, lam, x, step, max_iter, tol, lambda v: history.append(_objective(a, bb, v, lam))
    )
    return LassoResult(x, np.array(history), n_iter, converged)


def ista(
    A: Any,
    b: Any,
    lam: float,
    x0: Any = None,
    step: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
) -> LassoResult:
    """Minimise 1/2 ||A x - b||^2 + lam ||x||_1 by ISTA, x <- S_{step lam}(x - step A^T (A x - b))
    (module docstring; step defaults to 1/||A||_2^2). Stops when the gradient mapping's largest
    entry is <= tol * max |A^T b|. Returns a ``LassoResult`` (x, objective, n_iter, converged)."""
    return _solve("ista", ista_steps, A, b, lam, x0, step, max_iter, tol)


def fista(
    A: Any,
    b: Any,
    lam: float,
    x0: Any = None,
    step: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
) -> LassoResult:
    """Minimise 1/2 ||A x - b||^2 + lam ||x||_1 by FISTA (Beck and Teboulle, 2009; module
    docstring): the ISTA step taken from the extrapolated point y_k. Stops when the gradient
    mapping at y_k has its largest entry <= tol * max |A^T b|. Returns a ``LassoResult``."""
    return _solve("fista", fista_steps, A, b, lam, x0, step, max_iter, tol)
