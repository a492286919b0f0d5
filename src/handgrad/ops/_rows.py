"""Layer normalization's NumPy kernels on contiguous rows, for the common case: every value
finite, no row sum overflowing, no row whose variance overflows. The statistics of a row are
matrix-vector products with a vector of ones (the BLAS sums a (R, M) matrix's rows in one pass,
where NumPy's reduction along a short last axis pays a per-row cost: 0.24 ms against 0.03 ms for
the 2048 rows of 128 of a Transformer's activations), and the backward without a graph is the
formula of ``LayerNorm.backward`` in the same order of operations, on arrays: a Transformer step
spent 11% of its time in its four layer norms, composed of a dozen element-wise nodes. Anything
else (a non-finite value, an overflow, a layout that is not rows) returns None and the caller
takes the general path, which handles it as torch does."""

from __future__ import annotations

import numpy as np


def _rows(a: np.ndarray, k: int) -> np.ndarray | None:
    """A (R, M) view of ``a`` with its last k dims as rows of M, or None (not contiguous, empty)."""
    if a.size == 0 or not a.flags.c_contiguous:
        return None
    return a.reshape(-1, int(np.prod(a.shape[a.ndim - k :])))


def layer_norm_forward(x: np.ndarray, k: int, w, b, eps: float):
    """(out, x^, 1 / sigma) with x^ = (x - mean) / sigma over the last k dims, or None."""
    x2 = _rows(x, k)
    if x2 is None or x.dtype.kind != "f":
        return None
    m = x2.shape[1]
    s = x2 @ np.ones(m, x.dtype)
    if not np.isfinite(s).all():  # a non-finite value or an overflowing sum: the general path
        return None
    xhat = x2 - (s / m).astype(x.dtype, copy=False)[:, None]
    var = np.einsum("ij,ij->i", xhat, xhat) / m
    rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    if not (rstd > 0).all():  # a variance that overflowed: torch's output there is the bias
        return None
    xhat *= rstd[:, None]
    out = xhat * w.reshape(-1) if w is not None else xhat.copy()
    out += b.reshape(-1) if b is not None else 0.0  # +0.0, as torch
    keep = x.shape[: x.ndim - k] + (1,) * k
    return out.reshape(x.shape), xhat.reshape(x.shape), rstd.reshape(keep)


def layer_norm_backward(g: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, w, k: int, needs):
    """(dL/dx, dL/dw, dL/db) (None where not needed) as ``LayerNorm.backward`` forms them,
    ``(d - mean d - x^ mean(d x^)) / sigma`` with d = g w, or None when g is not contiguous."""
    g2, x2 = _rows(g, k), _rows(xhat, k)
    if g2 is None or x2 is None or g.dtype != xhat.dtype:
        return None
    r, m = x2.shape
    d = g2 * w.reshape(-1) if w is not None else g2
    dx = dw = db = None
    if needs[0]:
        mean_d = (d @ np.ones(m, d.dtype)) / m
        mean_dx = np.einsum("ij,ij->i", d, x2) / m
        dx = d - mean_d.astype(d.dtype, copy=False)[:, None]
        dx -= x2 * mean_dx.astype(d.dtype, copy=False)[:, None]
        dx *= rstd.reshape(r, 1)
        dx = dx.reshape(g.shape)
    ones = np.ones(r, g.dtype)
    if needs[1]:
        dw = (ones @ (g2 * x2)).reshape(g.shape[g.ndim - k :])
    if needs[2]:
        db = (ones @ g2).reshape(g.shape[g.ndim - k :])
    return dx, dw, db


def sums(a: np.ndarray, dim: int) -> np.ndarray:
    """``a.sum(axis=dim, keepdims=True)``; along the last dim of contiguous rows as one product
    with a ones vector (softmax's denominators: 0.24 ms for 8192 rows of 64 with NumPy's
    reduction, 0.03 ms with the BLAS)."""
    if dim != a.ndim - 1 or not a.flags.c_contiguous or a.size == 0 or a.dtype.kind != "f":
        return a.sum(axis=dim, keepdims=True)
    return (a.reshape(-1, a.shape[-1]) @ np.ones(a.shape[-1], a.dtype)).reshape(a.shape[:-1] + (1,))


def dot(a: np.ndarray, b: np.ndarray, dim: int, wide: type) -> np.ndarray:
    """``(a * b).sum(axis=dim, keepdims=True)`` with the products and their sum in ``wide``
    (float32 products are exact in float64), as one ``einsum`` over contiguous rows when ``dim``
    is the last: no full-size float64 temporary (softmax's backward, 0.58 -> 0.31 ms)."""
    if dim != a.ndim - 1 or a.shape != b.shape or a.size == 0:
        return (a.astype(wide) * b).sum(axis=dim, keepdims=True)
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        return (a.astype(wide) * b).sum(axis=dim, keepdims=True)
    n = a.shape[-1]
    rows = np.einsum("ij,ij->i", a.reshape(-1, n).astype(wide), b.reshape(-1, n))
    return rows.reshape(a.shape[:-1] + (1,))
