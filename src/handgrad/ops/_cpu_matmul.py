"""Which of torch's CPU matmul paths a product takes, where that decides the sign of a zero: with
an inner dimension of 1 a matrix product (mm, whose gemm forms alpha a_i b_j) keeps a product's
-0.0, a batched one (bmm) accumulates into +0.0. torch's matmul chooses by its ``should_fold``.
And where the BLAS's order of summation overflows (or meets inf - inf) where the exact sum is
finite, as torch's is (``exact_where_nonfinite``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray, a_requires_grad: bool, general: Any) -> np.ndarray:
    """``a @ b`` as torch forms it, ``general(a, b)`` unless torch's path forms the products
    (and ``exact_where_nonfinite`` where the general product is not finite).

    A matrix a (m, 1) times a stack b (..., 1, n): torch folds the stack into one matrix
    (``b.mT`` (..., n, 1) as (B n, 1), times ``a.mT``) only when a requires grad (so that a's
    gradient is one product), and that mm forms the products where its output has more than one
    row and column; without the fold, bmm accumulates (fuzz seed 232803275: 4.9e-324 x -0.43 is
    -0.0 in torch when a is a leaf, +0.0 otherwise)."""
    if a.ndim == 2 and b.ndim > 2 and a.shape[1] == 1 and a_requires_grad:
        if a.shape[0] > 1 and b.size // b.shape[-2] > 1:
            return a * b
    return exact_where_nonfinite(a, b, general(a, b))


def exact_where_nonfinite(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` with its inf and NaN elements summed again in a wider float (float64 for
    float32, long double for float64) and rounded once: where terms near the largest float
    cancel, the BLAS's order can pass it (inf) or meet inf - inf (NaN) while the exact sum, and
    torch's order, is finite (fuzz seed 922851472: float32 terms of +-8.5e37, exact 2.68e38,
    handgrad's BLAS inf). One sum of the output finds them (einsum's: 2-3x faster than
    NumPy's pairwise ``sum``, 0.10 against 0.19 ms for 2048 x 384, and this check runs on every
    product; an inf or NaN reaches either sum); finite outputs are returned as they are."""
    with np.errstate(over="ignore", invalid="ignore"):
        if out.dtype.kind != "f" or not out.size:
            return out
        # (NumPy's own sum for float16, whose einsum would sum in float16 and overflow early)
        wide_enough = out.dtype.itemsize >= 4
        total = np.einsum(out, list(range(out.ndim)), []) if wide_enough else out.sum()
        if np.isfinite(total):
            return out
        idx = np.nonzero(~np.isfinite(out))
        batch = out.shape[:-2]
        rows = np.broadcast_to(a, batch + a.shape[-2:])[idx[:-1]]  # (bad, k)
        cols = np.broadcast_to(b, batch + b.shape[-2:]).swapaxes(-1, -2)[idx[:-2] + idx[-1:]]
        wide = np.float64 if out.dtype.itemsize <= 4 else np.longdouble
        out = np.array(out)
        out[idx] = (rows.astype(wide) * cols.astype(wide)).sum(-1).astype(out.dtype)
    return out
