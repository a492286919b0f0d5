"""Scaled dot-product attention as one primitive (issue 13): the forward and the whole backward of
``softmax(Q K^T s + M) V`` by hand, for the unmasked or constant-masked attention of a
Transformer's training step. ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``
call it when nothing asks for more (no dropout, no mask that needs a gradient, no attention
weights returned); otherwise they compose the same formula from matmul and softmax.

Why a primitive: composed, the attention is five recorded nodes forward and their backwards, and
its softmax runs along the contiguous last axis of (B, L, S) scores, where NumPy pays a per-row
cost for every reduction (the row maximum of 8192 rows of 64 took 0.52 ms, the whole array's
0.03 ms). Here the scores are formed transposed, ``S^T = K Q^T s`` of shape (B, S, L), so that the
softmax's reductions run across rows, over the contiguous axis, and the backward needs no extra
copies: a Transformer layer's attention (bench/bench_models.py, 128 heads of 64 x 32) went from
about 7.5 ms to about 4.7 ms forward and backward, 1 thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .softmax import SoftmaxBackward, softmax

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _softmax_columns(pt: np.ndarray) -> None:
    """softmax along axis 0 of ``pt`` (S, B, L), in place, as ``ops.softmax`` forms it along its
    dim: the maximum subtracted first (0 for a column that is all -inf, which then gives
    0 / 0 = NaN, as torch), exp, divided by the sum."""
    m = pt.max(axis=0)
    with np.errstate(invalid="ignore"):
        pt -= np.where(m == -np.inf, 0, m).astype(pt.dtype, copy=False)
        np.exp(pt, out=pt)
        pt /= pt.sum(axis=0)


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
        buf = np.empty((s, b, lq), np.result_type(q, k, v))
        pt = buf.transpose(1, 0, 2)  # (B, S, L): P^T of every head
        np.matmul(k3, _c(np.swapaxes(q3, -1, -2)), out=pt)
        buf *= np.asarray(scale, buf.dtype)
        if mask is not None:
            full = np.broadcast_to(mask, lead + (lq, s)).reshape(b, lq, s)
            pt += np.swapaxes(full, -1, -2)
        _softmax_columns(buf)
        self.pt = pt
        return np.matmul(np.swapaxes(pt, -1, -2), v3).reshape(lead + (lq, dv))

    def backward(self, g):
        q, k, v = self.inputs
        if is_grad_enabled():  # a graph of the gradient: the same formulas, differentiable
            return self._recorded(q, k, v, g)
        nq, nk, nv = self.needs_input_grad
        pt, s = self.pt, self.scale
        g3 = g._data.reshape(pt.shape[0], pt.shape[2], -1)
        dv = np.matmul(pt, g3).reshape(v.shape) if nv else None
        dq = dk = None
        if nq or nk:
            dbuf = np.empty((pt.shape[1], pt.shape[0], pt.shape[2]), pt.dtype)
            dpt = dbuf.transpose(1, 0, 2)  # (dL/dP)^T, in P^T's memory order
            np.matmul(
                v._data.reshape(pt.shape[0], pt.shape[1], -1), _c(np.swapaxes(g3, 1, 2)), out=dpt
            )
            pbuf = pt.transpose(1, 0, 2)
            dbuf -= np.einsum("sbl,sbl->bl", pbuf, dbuf)
            dbuf *= pbuf  # (dL/dS)^T
            if nq:
                dq = np.matmul(
                    np.swapaxes(dpt, 1, 2), k._data.reshape(pt.shape[0], pt.shape[1], -1)
                )
                dq = (dq * np.asarray(s, dq.dtype)).reshape(q.shape)
            if nk:
                dk = np.matmul(dpt, _c(q._data.reshape(pt.shape[0], pt.shape[2], -1)))
                dk = (dk * np.asarray(s, dk.dtype)).reshape(k.shape)
        return tuple(None if a is None else Tensor._wrap(a) for a in (dq, dk, dv))

    def _recorded(self, q: Tensor, k: Tensor, v: Tensor, g: Tensor) -> tuple:
        scores = (q @ k.mT) * self.scale
        if self.mask is not None:
            scores = scores + Tensor._wrap(self.mask)
        p = softmax(scores, -1)
        ds = SoftmaxBackward.apply(g @ v.mT, p, dim=-1) * self.scale
        return ds @ k, ds.mT @ q, p.mT @ g


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
