"""The cost of symmetric SNE and of t-SNE, C = KL(P || Q), and its hand-derived gradient. Used in
exercises 004-q8a and 004-q8b.

Both compare fixed input affinities p_ij (symmetric, zero diagonal, summing to 1) with output
affinities q_ij = w_ij / Z, Z = sum_{k != l} w_kl, built from the squared distances
d_ij = ||y_i - y_j||^2 of the embedding Y (N, d) by a kernel w:

    symmetric SNE:                                  w_ij = exp(-d_ij)          (Gaussian)
    t-SNE (van der Maaten and Hinton, 2008):        w_ij = (1 + d_ij)^(-1)     (Student-t, 1 dof)

Derivation of dC/dy_i. Write C = sum p log p - sum_{k != l} p_kl log w_kl + log Z (using
sum p_kl = 1). Only the pairs (i, j) and (j, i) depend on y_i, with dd_ij/dy_i = 2 (y_i - y_j);
by the symmetry of p and w each pair is counted twice:

    d/dy_i [-sum p_kl log w_kl] = -2 sum_j p_ij (d log w_ij / dd_ij) 2 (y_i - y_j)
    d/dy_i [log Z]              =  (1/Z) 2 sum_j (dw_ij / dd_ij) 2 (y_i - y_j)
                                =  2 sum_j q_ij (d log w_ij / dd_ij) 2 (y_i - y_j)

so dC/dy_i = -4 sum_j (p_ij - q_ij) (d log w_ij / dd_ij) (y_i - y_j). With the kernels:

    Gaussian:   d log w / dd = -1:
        dC/dy_i = 4 sum_j (p_ij - q_ij) (y_i - y_j)
    Student-t:  d log w / dd = -(1 + d)^(-1) = -w:
        dC/dy_i = 4 sum_j (p_ij - q_ij) (y_i - y_j) (1 + ||y_i - y_j||^2)^(-1)

In matrix form, with M_ij = (p_ij - q_ij) (times w_ij for t-SNE),
dC/dY = 4 (diag(M 1) Y - M Y): two reductions of an N x N matrix, no loop over points.

The crowding problem: in 2 dimensions there is not enough room at moderate
distances for all the moderately distant neighbours of a high-dimensional point. With the
Gaussian kernel a pair placed far apart has q_ij ~ 0 and is pulled in with a force proportional
to its distance (p_ij (y_i - y_j)): every cluster is dragged towards the centre and they merge.
The heavy-tailed Student-t lets moderately similar points sit much farther apart for the same
q_ij, and the extra factor (1 + d)^(-1) makes the attraction of distant pairs fade, so clusters
separate. ``sne_kl``/``tsne_kl`` are the costs written with handgrad operations, for checking
the derivation against the engine's autodiff.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .._validation import as_data
from ..ops import exp, log, log1p

_EPS = np.finfo(np.float64).eps
KERNELS = ("student-t", "gaussian")


# ---- argument checks -------------------------------------------------------------------------


def _check_p(op: str, P: Any, n: int) -> np.ndarray:
    p = as_data(op, P, "P")
    if p.shape != (n, n):
        raise ValueError(
            f"{op}: P must have shape ({n}, {n}), one row and column per row of Y, "
            f"got shape {p.shape}"
        )
    if (p < 0).any():
        i, j = np.argwhere(p < 0)[0]
        raise ValueError(f"{op}: P must be >= 0, got P[{i}, {j}] = {p[i, j]:.6g}")
    if np.abs(np.diag(p)).max() > 0:
        i = int(np.argmax(np.abs(np.diag(p))))
        raise ValueError(
            f"{op}: P must have a zero diagonal (no self-affinity), got P[{i}, {i}] = {p[i, i]:.6g}"
        )
    if abs(p.sum() - 1) > 1e-6:
        raise ValueError(f"{op}: P must sum to 1 (joint probabilities), got sum {p.sum():.8g}")
    if not np.allclose(p, p.T, rtol=1e-6, atol=1e-12):
        i, j = np.unravel_index(int(np.argmax(np.abs(p - p.T))), p.shape)
        raise ValueError(
            f"{op}: P must be symmetric (the gradient formula uses p_ij = p_ji), got "
            f"P[{i}, {j}] = {p[i, j]:.6g} but P[{j}, {i}] = {p[j, i]:.6g}"
        )
    return p


def _check_y(op: str, Y: Any) -> np.ndarray:
    return as_data(op, Y, "Y")


def _check_kernel(op: str, kernel: Any) -> str:
    if kernel not in KERNELS:
        raise ValueError(
            f"{op}: kernel must be 'student-t' (t-SNE) or 'gaussian' (symmetric "
            f"SNE), got {kernel!r}"
        )
    return kernel


# ---- the costs as handgrad expressions (for autodiff) ----------------------------------------


def _kl_tensor(op: str, P: Any, Y: Any, kernel: str) -> Tensor:
    y = Y if isinstance(Y, Tensor) else Tensor._wrap(_check_y(op, Y))
    if y.ndim != 2:
        raise ValueError(f"{op}: Y must be a 2-d embedding (N, d), got shape {y.shape}")
    p = _check_p(op, P, y.shape[0])
    diff = y.unsqueeze(1) - y.unsqueeze(0)
    d = (diff * diff).sum(-1)
    neg_log_w = log1p(d) if kernel == "student-t" else d
    w = exp(-neg_log_w)
    offdiag = Tensor._wrap((~np.eye(y.shape[0], dtype=bool)).astype(y.dtype))
    z = (w * offdiag).sum()
    pt = Tensor._wrap(p.astype(y.dtype))
    positive = p > 0
    entropy_term = float((p[positive] * np.log(p[positive])).sum())
    return (pt * neg_log_w).sum() + float(p.sum()) * log(z) + entropy_term


def tsne_kl(P: Any, Y: Any) -> Tensor:
    """C(Y) = KL(P || Q) with the Student-t output kernel q_ij ∝ (1 + ||y_i - y_j||^2)^(-1),
    written with handgrad operations: a 0-d tensor differentiable in ``Y`` (a tensor (N, d);
    an array is taken as a constant). ``P`` is (N, N), symmetric, zero diagonal, summing to 1.

    Computed as sum p log p + sum p_ij log(1 + d_ij) + log sum_{k != l} (1 + d_kl)^(-1), which
    avoids log q_ii = log 0 on the diagonal."""
    return _kl_tensor("tsne_kl", P, Y, "student-t")


def sne_kl(P: Any, Y: Any) -> Tensor:
    """C(Y) = KL(P || Q) of symmetric SNE, Gaussian output kernel q_ij ∝ exp(-||y_i - y_j||^2)
    written with handgrad operations (see ``tsne_kl``):
    sum p log p + sum p_ij d_ij + log sum_{k != l} exp(-d_kl)."""
    return _kl_tensor("sne_kl", P, Y, "gaussian")


# ---- the hand-derived gradient (NumPy) -------------------------------------------------------


def kl_and_gradient(
    P: np.ndarray,
    Y: np.ndarray,
    kernel: str = "student-t",
    compute_cost: bool = True,
    buffers: tuple | None = None,
) -> tuple[float, np.ndarray]:
    """(C, dC/dY) by the module's derivation, without argument checks (the optimiser calls it
    with exaggerated P). ``buffers``: two preallocated (N, N) arrays to reuse; their dtype sets
    the precision of the N x N work (float64 by default; ``P`` should have the same dtype).

    Only element-wise NumPy passes, no matrix product: the products here are N x N by N x d
    with d = 2, memory-bound, and a multithreaded BLAS sharing its cores with other work can
    take several times longer on them than these single-threaded passes."""
    n, d = Y.shape
    w, m = buffers if buffers is not None else (np.empty((n, n)), np.empty((n, n)))
    cols = np.ascontiguousarray(Y.T, dtype=w.dtype)
    # d_ij = sum_k (y_ik - y_jk)^2
    np.subtract.outer(cols[0], cols[0], out=w)
    np.square(w, out=w)
    for k in range(1, d):
        np.subtract.outer(cols[k], cols[k], out=m)
        np.square(m, out=m)
        w += m
    if kernel == "student-t":
        w += 1.0
        np.reciprocal(w, out=w)  # w_ij = (1 + d_ij)^(-1)
    else:
        np.negative(w, out=w)
        np.exp(w, out=w)  # w_ij = exp(-d_ij)
    np.fill_diagonal(w, 0.0)
    z = float(w.sum(dtype=np.float64))
    if not z > 0 or not np.isfinite(z):
        raise FloatingPointError(
            f"kl_and_gradient: the {kernel} kernel sums to {z} (the embedding diverged: points so "
            "far apart that every similarity underflows); use a smaller learning_rate"
        )
    np.multiply(w, 1.0 / z, out=m)  # q_ij
    cost = np.nan
    if compute_cost:
        positive = P > 0
        p_pos = P[positive].astype(np.float64)
        q_pos = np.maximum(m[positive].astype(np.float64), _EPS)
        cost = float((p_pos * np.log(p_pos / q_pos)).sum())
    np.subtract(P, m, out=m)  # p_ij - q_ij
    if kernel == "student-t":
        m *= w
    # dC/dy_i = 4 (y_i sum_j M_ij - sum_j M_ij y_j), one column of Y at a time
    row_sums = m.sum(1, dtype=np.float64)
    grad = np.empty((n, d))
    for k in range(d):
        grad[:, k] = row_sums * Y[:, k] - np.einsum("ij,j->i", m, cols[k], dtype=np.float64)
    grad *= 4.0
    return cost, grad


def tsne_grad(P: Any, Y: Any) -> tuple[float, np.ndarray]:
    """(KL(P || Q), dC/dY) for t-SNE by the hand-derived formula
    dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)(1 + ||y_i - y_j||^2)^(-1)
    (module docstring). P (N, N) symmetric, zero diagonal, summing to 1; Y (N, d)."""
    op = "tsne_grad"
    y = _check_y(op, Y)
    return kl_and_gradient(_check_p(op, P, y.shape[0]), y, "student-t")


def symmetric_sne_grad(P: Any, Y: Any) -> tuple[float, np.ndarray]:
    """(KL(P || Q), dC/dY) for symmetric SNE with the Gaussian output kernel, by the hand-derived
    formula dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)
    (module docstring)."""
    op = "symmetric_sne_grad"
    y = _check_y(op, Y)
    return kl_and_gradient(_check_p(op, P, y.shape[0]), y, "gaussian")
