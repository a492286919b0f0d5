"""Scaled dot-product attention as one primitive (issue 13): the forward and the whole backward of
``softmax(Q K^T s + M) V`` by hand, for the unmasked or constant-masked attention of a
Transformer's training step. ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``
call it when nothing asks for more (no dropout, no mask that needs a gradient, no attention
weights returned); otherwise they compose the same formula from matmul and softmax.

Why a primitive: composed, the attention is five recorded nodes forward and their backwards, and
its softmax runs along the contiguous last axis of (B, L, S) scores, where NumPy pays a per-row
cost for every reduction (the row maximum of 8192 rows of 64 took 0.52 ms, the whole array's
0.03 ms). Here the scores are formed transposed, ``S^T = K Q^T s``, in memory of shape
(S, B, L), so that the softmax's reductions run across rows of contiguous values (see the class
docstring): a Transformer layer's attention (bench/bench_models.py, 128 heads of 64 x 32) went from
about 7.5 ms to about 4.7 ms forward and backward, 1 thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .blas import blas_threads, each_part
from .elementwise import where
from .softmax import SoftmaxBackward, softmax

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _safe_softmax_columns(pt: np.ndarray, empty: np.ndarray) -> None:
    """softmax along axis 0 of ``pt`` (S, B, L), in place, as ``ops.softmax`` forms it along its
    dim (the maximum subtracted first, exp, divided by the sum), except that a column whose
    scores are all -inf (a query that may see no key) is 0, not 0 / 0 = NaN: torch's SDPA does
    that (``_safe_softmax``, since 2.5). Such columns are marked True in ``empty`` (B, L)."""
    m = pt.max(axis=0)
    np.equal(m, -np.inf, out=empty)
    with np.errstate(invalid="ignore"):
        pt -= np.where(empty, 0, m).astype(pt.dtype, copy=False)
        np.exp(pt, out=pt)  # exactly 0 in an empty column
        z = pt.sum(axis=0)
        z[empty] = 1  # 0 / 1
        pt /= z


# Below this many scores the heads stay on the calling thread (as conv's bands, ops/conv.py).
_PARALLEL_ELEMENTS = 1 << 18


def _each_head(body: Any, heads: int, size: int) -> None:
    """``body(lo, hi)`` over the heads, shared among the BLAS pool's threads when large, every
    product on one BLAS thread (the per-head products are small: 64 x 32 x 64 in the benchmark,
    where a second BLAS thread under each gains nothing); a head's arithmetic does not depend on
    the thread that runs it, so any count of threads gives the same bits."""
    each_part(body, heads, blas_threads() if size >= _PARALLEL_ELEMENTS else 1)


def _c(a: np.ndarray) -> np.ndarray:
    # NumPy's batched matmul ran a second operand that is not C-ordered about 2x slower than
    # a contiguous copy of it plus the product (0.84 against 0.13 + 0.43 ms for 128 heads)
    return np.ascontiguousarray(a)


class ScaledDotProductAttention(Function):
    """out = P V with P = softmax(S) along the keys, S = Q K^T s + M, for Q (..., L, d),
    K (..., S, d), V (..., S, dv) with the same leading dims, a scale s and a constant additive
    mask M (None, or an array broadcastable to (..., L, S) that takes no gradient).

    Derivation, for the upstream gradient G = dL/dout (..., L, dv). out is linear in V and in P:

        dL/dV = P^T G,        dL/dP = G V^T.

    Softmax along a row, dP_ij / dS_ik = P_ij ([j = k] - P_ik), so

        dL/dS_ik = sum_j dL/dP_ij P_ij ([j = k] - P_ik) = P_ik (dL/dP_ik - sum_j dL/dP_ij P_ij).

    S is bilinear in Q and K, S_ik = s sum_c Q_ic K_kc:

        dL/dQ = s dL/dS K,    dL/dK = s dL/dS^T Q.

    A query whose scores are all -inf (the mask lets it see no key) has P = 0, a constant, as
    torch's SDPA (``_safe_softmax``): its output and every gradient through it are 0, not NaN.

    M is a constant (its gradient would be dL/dS). Without a graph (``loss.backward()``) these run
    on arrays; with a graph (``create_graph=True``) the same formulas run as handgrad operations on
    P recomputed from Q and K, softmax's backward as its own primitive, so every higher
    derivative exists.

    Layout: with the leading dims flattened to B, P is kept as P^T in memory of shape (S, B, L):
    the softmax's reductions over the keys are then reductions over the outermost axis, which
    NumPy runs over contiguous rows of B L floats (the maximum over 64 keys of 128 heads x 64
    queries: 0.08 ms, against 0.52 ms along the last axis of (B, L, S) scores), and every matrix
    product still reads rows with unit stride."""

    name = "scaled_dot_product_attention"

    def forward(self, q, k, v, *, scale, mask=None):
        self.scale, self.mask = scale, mask
        lead, (lq, s, dv) = q.shape[:-2], (q.shape[-2], k.shape[-2], v.shape[-1])
        q3, k3, v3 = (a.reshape(-1, *a.shape[-2:]) for a in (q, k, v))
        b = q3.shape[0]
        qt = _c(np.swapaxes(q3, 1, 2))
        full = None if mask is None else np.broadcast_to(mask, lead + (lq, s)).reshape(b, lq, s)
        buf = np.empty((s, b, lq), np.result_type(q, k, v))  # P^T of every head
        out = np.empty((b, lq, dv), buf.dtype)
        empty = np.zeros((b, lq), bool)

        def heads(lo: int, hi: int) -> None:
            part = buf[:, lo:hi]
            pt = part.transpose(1, 0, 2)  # (B, S, L)
            np.matmul(k3[lo:hi], qt[lo:hi], out=pt)
            part *= np.asarray(scale, buf.dtype)
            if full is not None:
                pt += np.swapaxes(full[lo:hi], 1, 2)
            _safe_softmax_columns(part, empty[lo:hi])
            np.matmul(np.swapaxes(pt, 1, 2), v3[lo:hi], out=out[lo:hi])

        _each_head(heads, b, buf.size)
        self.pbuf, self.empty = buf, (empty if empty.any() else None)
        return out.reshape(lead + (lq, dv))

    def backward(self, g):
        q, k, v = self.inputs
        if is_grad_enabled():  # a graph of the gradient: the same formulas, differentiable
            return self._recorded(q, k, v, g)
        nq, nk, nv = self.needs_input_grad
        pbuf, sc, empty = self.pbuf, self.scale, self.empty
        s, b, lq = pbuf.shape
        q3, k3, v3 = (t._data.reshape(b, *t.shape[-2:]) for t in (q, k, v))
        g3 = g._data.reshape(b, lq, -1)
        gt = _c(np.swapaxes(g3, 1, 2)) if nq or nk else g3  # (g3: not read)
        qc = _c(q3) if nk else q3
        dq, dk, dv = (
            np.empty(a.shape, pbuf.dtype) if n else None for a, n in zip((q3, k3, v3), (nq, nk, nv))
        )
        dbuf = np.empty(pbuf.shape, pbuf.dtype) if nq or nk else None
        # sum_j dL/dP_ij P_ij with every product exact (float32 in float64), as the composed
        # softmax backward (SoftmaxBackward, after torch's fused multiply-adds) forms it
        wide = np.float64 if pbuf.dtype.itemsize < 8 else pbuf.dtype

        def heads(lo: int, hi: int) -> None:
            pp = pbuf[:, lo:hi]
            pt = pp.transpose(1, 0, 2)
            if dv is not None:
                np.matmul(pt, g3[lo:hi], out=dv[lo:hi])
            if dbuf is None:
                return
            part = dbuf[:, lo:hi]
            dpt = part.transpose(1, 0, 2)  # (dL/dP)^T, in P^T's memory order
            np.matmul(v3[lo:hi], gt[lo:hi], out=dpt)
            part -= np.einsum("sbl,sbl->bl", pp, part, dtype=wide).astype(part.dtype, copy=False)
            part *= pp  # (dL/dS)^T
            if empty is not None:  # P is constant 0 there: select 0, even for dL/dP = inf
                part[:, empty[lo:hi]] = 0
            part *= np.asarray(sc, part.dtype)  # s dL/dS first, as the composition orders it
            if dq is not None:
                np.matmul(np.swapaxes(dpt, 1, 2), k3[lo:hi], out=dq[lo:hi])
            if dk is not None:
                np.matmul(dpt, qc[lo:hi], out=dk[lo:hi])

        _each_head(heads, b, pbuf.size)
        grads = (dq, dk, dv)
        return tuple(
            None if a is None else Tensor._wrap(a.reshape(t.shape))
            for a, t in zip(grads, (q, k, v))
        )

    def _recorded(self, q: Tensor, k: Tensor, v: Tensor, g: Tensor) -> tuple:
        scores = (q @ k.mT) * self.scale
        if self.mask is not None:
            scores = scores + Tensor._wrap(self.mask)
        p = safe_softmax(scores)
        ds = SoftmaxBackward.apply(g @ v.mT, p, dim=-1) * self.scale
        return ds @ k, ds.mT @ q, p.mT @ g


def safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim, but 0 for a row whose scores are all -inf (a query that may
    see no key), as torch's ``_safe_softmax``: a constant there, with finite scores in its place
    so that no NaN of softmax's meets the zero gradient the selection sends back. Differentiable
    (the composed attention and the fused primitive's recorded backward)."""
    empty = (scores._data == -np.inf).all(-1, keepdims=True)
    if not empty.any():
        return softmax(scores, -1)
    rows = Tensor._wrap(empty)
    return where(rows, 0.0, softmax(where(rows, 0.0, scores), -1))


def fused_attention_fits(q: Tensor, k: Tensor, v: Tensor) -> bool:
    """Whether the primitive takes these inputs: 3-D or more with the same leading dims, nothing
    empty, one float dtype (anything else is composed, which broadcasts and handles emptiness
    as torch)."""
    return (
        q.ndim >= 3
        and q.ndim == k.ndim == v.ndim
        and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
        and q.shape[-1] == k.shape[-1]
        and k.shape[-2] == v.shape[-2]
        and q.numel() > 0
        and k.numel() > 0
        and v.numel() > 0
        and q.dtype == k.dtype == v.dtype
        and q.dtype.kind == "f"
    )


__all__: list[str] = []
