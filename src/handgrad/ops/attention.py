"""Scaled dot-product attention as one primitive (issue 13): the forward and the whole backward of
``softmax(Q K^T s + M) V`` by hand, for the unmasked or constant-masked attention of a
Transformer's training step. ``F.scaled_dot_product_attention`` calls ``ScaledDotProductAttention``
and ``nn.MultiheadAttention`` calls ``MultiHeadAttention`` (the same arithmetic on the heads of
projections laid out (N, L, heads * d)) when nothing asks for more (no dropout, no mask that
needs a gradient, no attention weights returned); otherwise they compose the same formula from
matmul and softmax.

Why a primitive: composed, the attention is five recorded nodes forward and their backwards, and
its softmax runs along the contiguous last axis of (B, L, S) scores, where NumPy pays a per-row
cost for every reduction (the row maximum of 8192 rows of 64 took 0.52 ms, the whole array's
0.03 ms). Here the scores are formed transposed, ``S^T = K Q^T s``, in memory of shape
(S, B, L), so that the softmax's reductions run across rows of contiguous values (see the class
docstring): a Transformer layer's attention (bench/bench_models.py, 128 heads of 64 x 32) went from
about 7.5 ms to about 4.7 ms forward and backward, 1 thread.

Why a second one for the heads: split into heads by reshape, permute and the chunks of the packed
projection, each head a contiguous copy, the heads' gradients went back through as many copies,
three full-size ``index_accumulate`` zeros and two sums of the packed gradient (about 3.5 ms of a
33 ms Transformer step, 1 thread). A head of a (N, L, heads * d) projection is already a matrix
the BLAS reads in place (rows of d floats, a row stride of heads * d or 3 heads * d); only the
transposed operands are copied, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .blas import blas_threads, each_part
from .elementwise import where
from .shape import cat
from .softmax import SoftmaxBackward, softmax

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _safe_softmax_columns(pt: np.ndarray, empty: np.ndarray) -> None:
    """softmax along axis 0 of ``pt`` (S, ...), in place, as ``ops.softmax`` forms it along its
    dim (the maximum subtracted first, exp, divided by the sum), except that a column whose
    scores are all -inf (a query that may see no key) is 0, not 0 / 0 = NaN: torch's SDPA does
    that (``_safe_softmax``, since 2.5). Such columns are marked True in ``empty``
    (``pt.shape[1:]``)."""
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


def _each_part(body: Any, parts: int, size: int) -> None:
    """``body(lo, hi)`` over the leading axis (batch items, each with its heads), shared among
    the BLAS pool's threads when large, every product on one BLAS thread (the per-head products
    are small: 64 x 32 x 64 in the benchmark, where a second BLAS thread under each gains
    nothing); a head's arithmetic does not depend on the thread that runs it, so any count of
    threads gives the same bits."""
    each_part(body, parts, blas_threads() if size >= _PARALLEL_ELEMENTS else 1)


def _c(a: np.ndarray) -> np.ndarray:
    # NumPy's batched matmul ran a second operand that is not C-ordered about 2x slower than
    # a contiguous copy of it plus the product (0.84 against 0.13 + 0.43 ms for 128 heads)
    return np.ascontiguousarray(a)


def _rows(a: np.ndarray) -> np.ndarray:
    """``a`` itself when its matrices are rows the BLAS reads in place (unit stride along the
    last dim, rows apart by at least a row: a head of a (N, L, heads * d) projection, 0.20 ms
    against 0.18 ms for a contiguous copy's product), else a contiguous copy (NumPy would
    multiply any other layout without the BLAS)."""
    s, n = a.strides, a.shape
    if a.ndim >= 2 and s[-1] == a.itemsize and s[-2] >= n[-1] * a.itemsize:
        return a
    return np.ascontiguousarray(a)


def _attend(q, k, v, out, scale, mask):
    """out = softmax(Q K^T s + M) V for every head, written into ``out``, from q (N, H, L, d),
    k (N, H, S, d), v (N, H, S, dv) and out (N, H, L, dv), views in any strides; ``mask`` None
    or (N, H, L, S) (a broadcast view). Returns (P^T of every head (S, N, H, L), the (N, H, L)
    marks of queries that see no key, or None)."""
    n, h, lq, s = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
    qt, k, v = _c(np.swapaxes(q, 2, 3)), _rows(k), _rows(v)
    buf = np.empty((s, n, h, lq), out.dtype)
    empty = np.zeros((n, h, lq), bool)

    def part(lo: int, hi: int) -> None:
        p = buf[:, lo:hi]
        pt = p.transpose(1, 2, 0, 3)  # (N, H, S, L)
        np.matmul(k[lo:hi], qt[lo:hi], out=pt)
        p *= np.asarray(scale, buf.dtype)
        if mask is not None:
            pt += np.swapaxes(mask[lo:hi], 2, 3)
        _safe_softmax_columns(p, empty[lo:hi])
        np.matmul(np.swapaxes(pt, 2, 3), v[lo:hi], out=out[lo:hi])

    _each_part(part, n, buf.size)
    return buf, (empty if empty.any() else None)


def _attend_backward(q, k, v, g, pbuf, empty, scale, dq, dk, dv) -> None:
    """The gradients of ``_attend`` (see ScaledDotProductAttention's docstring) written into
    dq, dk, dv (4-D views as q, k, v; None where not needed), for g (N, H, L, dv)."""
    grads_qk = dq is not None or dk is not None
    g = _rows(g)
    gt = _c(np.swapaxes(g, 2, 3)) if grads_qk else g  # (g: not read)
    q, k, v = _rows(q), _rows(k), _rows(v)
    dbuf = np.empty(pbuf.shape, pbuf.dtype) if grads_qk else None
    # sum_j dL/dP_ij P_ij with every product exact (float32 in float64), as the composed
    # softmax backward (SoftmaxBackward, after torch's fused multiply-adds) forms it
    wide = np.float64 if pbuf.dtype.itemsize < 8 else pbuf.dtype

    def part(lo: int, hi: int) -> None:
        pp = pbuf[:, lo:hi]
        pt = pp.transpose(1, 2, 0, 3)
        if dv is not None:
            np.matmul(pt, g[lo:hi], out=dv[lo:hi])
        if dbuf is None:
            return
        d = dbuf[:, lo:hi]
        dpt = d.transpose(1, 2, 0, 3)  # (dL/dP)^T, in P^T's memory order
        np.matmul(v[lo:hi], gt[lo:hi], out=dpt)
        d -= np.einsum("snhl,snhl->nhl", pp, d, dtype=wide).astype(d.dtype, copy=False)
        d *= pp  # (dL/dS)^T
        if empty is not None:  # P is constant 0 there: select 0, even for dL/dP = inf
            d[:, empty[lo:hi]] = 0
        d *= np.asarray(scale, d.dtype)  # s dL/dS first, as the composition orders it
        if dq is not None:
            np.matmul(np.swapaxes(dpt, 2, 3), k[lo:hi], out=dq[lo:hi])
        if dk is not None:
            np.matmul(dpt, q[lo:hi], out=dk[lo:hi])

    _each_part(part, pbuf.shape[1], pbuf.size)


def _recorded(q: Tensor, k: Tensor, v: Tensor, g: Tensor, scale: float, mask: Any) -> tuple:
    """The same gradients as handgrad operations (a graph of the gradient, create_graph=True),
    with P recomputed from Q and K and softmax's backward as its own primitive, so every higher
    derivative exists."""
    scores = (q @ k.mT) * scale
    if mask is not None:
        scores = scores + Tensor._wrap(mask)
    p = safe_softmax(scores)
    ds = SoftmaxBackward.apply(g @ v.mT, p, dim=-1) * scale
    return ds @ k, ds.mT @ q, p.mT @ g


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
        q4, k4, v4 = (a.reshape(-1, 1, *a.shape[-2:]) for a in (q, k, v))  # one head each
        b = q4.shape[0]
        full = None
        if mask is not None:
            full = np.broadcast_to(mask, lead + (lq, s)).reshape(b, 1, lq, s)
        out = np.empty((b, 1, lq, dv), np.result_type(q, k, v))
        self.pbuf, self.empty = _attend(q4, k4, v4, out, scale, full)
        return out.reshape(lead + (lq, dv))

    def backward(self, g):
        q, k, v = self.inputs
        if is_grad_enabled():  # a graph of the gradient: the same formulas, differentiable
            return _recorded(q, k, v, g, self.scale, self.mask)
        pbuf = self.pbuf
        b, lq = pbuf.shape[1], pbuf.shape[3]
        q4, k4, v4 = (t._data.reshape(b, 1, *t.shape[-2:]) for t in (q, k, v))
        grads = tuple(
            np.empty(a.shape, pbuf.dtype) if n else None
            for a, n in zip((q4, k4, v4), self.needs_input_grad)
        )
        g4 = g._data.reshape(b, 1, lq, -1)
        _attend_backward(q4, k4, v4, g4, pbuf, self.empty, self.scale, *grads)
        return tuple(
            None if a is None else Tensor._wrap(a.reshape(t.shape))
            for a, t in zip(grads, (q, k, v))
        )


def _heads(a: np.ndarray, heads: int) -> np.ndarray:
    """(N, T, heads * d) -> its (N, heads, T, d) view: head j is the columns j d .. (j + 1) d."""
    n, t, f = a.shape
    return a.reshape(n, t, heads, f // heads).transpose(0, 2, 1, 3)


class MultiHeadAttention(Function):
    """The attention of ``ScaledDotProductAttention`` per head, on projections that hold the
    heads side by side: from q (N, L, H d), k (N, S, H d), v (N, S, H dv), or one packed
    qkv (N, L, 3 H d) = [q | k | v] along its last dim (self-attention's one in-projection),
    head j of each is its columns j d .. (j + 1) d; out (N, L, H dv) holds head j's
    softmax(Q_j K_j^T s + M_j) V_j in its columns j dv .. (j + 1) dv (torch's concatenation of the
    heads). ``mask`` None or a constant broadcastable to (N, H, L, S).

    The derivation is ScaledDotProductAttention's, head by head: every head is a view of the
    inputs, and its gradients are written into the same columns of dL/dq, dL/dk, dL/dv (of
    dL/dqkv when packed, so the three parts need no sum of zero-padded pieces). With a graph
    (``create_graph=True``) the heads are split and joined by handgrad operations around the
    same formulas."""

    name = "multi_head_attention"

    def forward(self, *xs, heads, scale, mask=None):
        self.heads, self.scale, self.mask = heads, scale, mask
        # a sequence-first caller's projections are (N, T, F) views with rows N F apart; heads
        # of such rows multiplied about 2x slower (nn/attention.py), so they are copied once
        xs = tuple(_c(a) for a in xs)
        q, k, v = _split(xs, heads)
        n, h, lq, s, dv = q.shape[0], heads, q.shape[2], k.shape[2], v.shape[3]
        full = None if mask is None else np.broadcast_to(mask, (n, h, lq, s))
        out = np.empty((n, lq, h * dv), np.result_type(q, k, v))
        self.pbuf, self.empty = _attend(q, k, v, _heads(out, h), scale, full)
        self.arrays = xs
        return out

    def backward(self, g):
        if is_grad_enabled():
            return self._recorded(g)
        xs, h = self.arrays, self.heads
        grads = [
            np.empty(a.shape, a.dtype) if n else None for a, n in zip(xs, self.needs_input_grad)
        ]
        if len(xs) == 1:  # needed, or backward would not run: dL/dqkv, its thirds written
            dq, dk, dv = _split(grads, h)
        else:
            dq, dk, dv = (None if a is None else _heads(a, h) for a in grads)
        q, k, v = _split(xs, h)
        g4 = _heads(g._data, h)
        _attend_backward(q, k, v, g4, self.pbuf, self.empty, self.scale, dq, dk, dv)
        return tuple(None if a is None else Tensor._wrap(a) for a in grads)

    def _recorded(self, g: Tensor) -> Any:
        h, xs = self.heads, self.inputs

        def split(t: Tensor) -> Tensor:
            n, length, f = t.shape
            return t.reshape(n, length, h, f // h).permute(0, 2, 1, 3)

        def join(t: Tensor) -> Tensor:
            n, _, length, d = t.shape
            return t.permute(0, 2, 1, 3).reshape(n, length, h * d)

        if len(xs) == 1:
            e = xs[0].shape[-1] // 3
            q, k, v = (split(xs[0][..., i * e : (i + 1) * e]) for i in range(3))
        else:
            q, k, v = (split(t) for t in xs)
        grads = [join(t) for t in _recorded(q, k, v, split(g), self.scale, self.mask)]
        return cat(grads, -1) if len(xs) == 1 else tuple(grads)


def _split(xs: Any, heads: int) -> tuple:
    """(q, k, v) as (N, H, T, d) head views of three arrays, or of one packed array's thirds."""
    if len(xs) == 3:
        return tuple(_heads(a, heads) for a in xs)
    e = xs[0].shape[-1] // 3
    return tuple(_heads(xs[0][..., i * e : (i + 1) * e], heads) for i in range(3))


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
