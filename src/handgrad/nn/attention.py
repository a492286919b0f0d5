"""``MultiheadAttention`` (Vaswani et al. 2017) with torch's arguments, mask conventions and
parameter names; the attention itself and its gradients are described in
``handgrad.nn.functional.attention``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, get_default_dtype, lift
from ..ops.attention import MultiHeadAttention
from . import functional as F
from . import init
from .functional.attention import _additive, scaled_dot_product_attention
from .linear import Linear
from .module import Module, Parameter


class MultiheadAttention(Module):
    """Multi-head attention: queries, keys and values projected (``in_proj_weight`` stacks the
    three E x E projections, or ``q/k/v_proj_weight`` when kdim/vdim differ from E), split into
    ``num_heads`` heads of E / num_heads dims, attended per head, concatenated and projected by
    ``out_proj``. ``forward`` returns (output, weights averaged over heads, or per head with
    ``average_attn_weights=False``, or None). Masks as torch: in ``attn_mask`` and
    ``key_padding_mask`` a True entry is *not* attended; float masks are added."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} must be divisible by "
                f"num_heads={num_heads}"
            )
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError(
                "MultiheadAttention: add_bias_kv and add_zero_attn are not supported"
            )
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
        e = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), dt))
        else:
            self.q_proj_weight = Parameter(np.empty((e, e), dt))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), dt))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), dt))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * e, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dt)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self) -> list[tuple[Tensor, Tensor | None]]:
        e = self.embed_dim
        b = self.in_proj_bias
        bs = [None] * 3 if b is None else [b[i * e : (i + 1) * e] for i in range(3)]
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            return [(w[i * e : (i + 1) * e], bs[i]) for i in range(3)]
        return list(zip((self.q_proj_weight, self.k_proj_weight, self.v_proj_weight), bs))

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple:
        self_attention = query is key and key is value
        q, k, v = lift(query), lift(key), lift(value)
        name = "MultiheadAttention"
        batched = q.ndim == 3
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(
                f"{name}: query, key and value must all be 2-D (unbatched) or 3-D, "
                f"got shapes {q.shape}, {k.shape}, {v.shape}"
            )
        # Inside, batch-first (N, L, E), whatever the caller's layout. The fused primitive
        # (ops/attention.py) reads every head of the (N, L, E) projections in place; the composed
        # path splits the heads by one copy each into contiguous (N * heads, L, head_dim) stacks,
        # and the keys into (N * heads, head_dim, S), so that the per-head products read
        # contiguous matrices. Sequence-first heads (torch's own layout) are matrices with a row
        # stride of N E floats, and the batched products over them ran about 2x slower
        # (bench/bench_models.py).
        if not batched:
            q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = lift(key_padding_mask).unsqueeze(0)
        elif not self.batch_first:
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        (n, lq, e), s = q.shape, k.shape[1]
        if e != self.embed_dim or k.shape[-1] != self.kdim or v.shape[-1] != self.vdim:
            raise ValueError(
                f"{name}: expected query/key/value features {self.embed_dim}/"
                f"{self.kdim}/{self.vdim}, got shapes {tuple(lift(query).shape)}, "
                f"{tuple(lift(key).shape)}, {tuple(lift(value).shape)}"
            )
        if k.shape[:2] != v.shape[:2] or k.shape[0] != n:
            raise ValueError(
                f"{name}: key {tuple(lift(key).shape)} and value {tuple(lift(value).shape)} "
                f"must have the same length and batch as the query's batch {n}"
            )
        h, d = self.num_heads, self.head_dim

        def heads(x: Tensor, t: int, keys: bool = False) -> Tensor:
            # (N, T, E) -> (N * heads, T, head_dim), or (N * heads, head_dim, T) for the keys
            # (explicit sizes: with no keys, T = 0, -1 cannot be inferred)
            x = x.reshape(n, t, h, d)
            if keys:
                return x.permute(0, 2, 3, 1).reshape(n * h, d, t)
            return x.permute(0, 2, 1, 3).reshape(n * h, t, d)

        if self_attention and self._qkv_same_embed_dim:
            # One product with the stacked in_proj_weight (as torch packs it): one node and one
            # larger, faster matrix product forward and backward instead of three; the fused
            # attention takes the packed (N, L, 3 E) result whole and returns its gradient whole.
            projected: tuple = (F.linear(q, self.in_proj_weight, self.in_proj_bias),)
        else:
            (wq, bq), (wk, bk), (wv, bv) = self._projections()
            projected = (F.linear(q, wq, bq), F.linear(k, wk, bk), F.linear(v, wv, bv))
        like = projected[0]
        if is_causal and attn_mask is None:
            attn_mask = Tensor._wrap(~np.tril(np.ones((lq, s), bool)))
        masks = []  # additive, as (n * heads, lq or 1, s)
        if attn_mask is not None:
            m = _additive(attn_mask, like, allowed_when_true=False)
            if m.ndim == 2 and m.shape != (lq, s) or m.ndim == 3 and m.shape != (n * h, lq, s):
                raise ValueError(
                    f"{name}: attn_mask of shape {m.shape}; expected {(lq, s)} or {(n * h, lq, s)}"
                )
            masks.append(m)
        if key_padding_mask is not None:
            m = _additive(key_padding_mask, like, allowed_when_true=False)
            if m.shape != (n, s):
                raise ValueError(f"{name}: key_padding_mask of shape {m.shape}; expected {(n, s)}")
            masks.append(m.reshape(n, 1, 1, s).expand(n, h, 1, s).reshape(n * h, 1, s))
        scale = 1.0 / math.sqrt(d)
        dropping = bool(self.dropout and self.training)
        # the primitive's inputs: nothing empty, one float dtype (else composed, as torch)
        fits = n * lq * s > 0 and len({x.dtype for x in projected}) == 1 and like.dtype.kind == "f"
        if fits and not (need_weights or dropping or any(m._requires_grad for m in masks)):
            mask = None
            for m in masks:
                mask = m._data if mask is None else mask + m._data
            if mask is not None and mask.ndim == 3:  # (n * heads, lq or 1, s), per head
                mask = mask.reshape(n, h, -1, s)
            out = MultiHeadAttention.apply(*projected, heads=h, scale=scale, mask=mask)
            return self._project(out, batched), None
        pq, pk, pv = ops.chunk(projected[0], 3, -1) if len(projected) == 1 else projected
        qh, kt, vh = heads(pq, lq), heads(pk, s, keys=True), heads(pv, s)
        scores = (qh @ kt) * scale
        for m in masks:
            scores = scores + m
        weights = ops.softmax(scores, -1)
        attended = weights
        if self.dropout and self.training:
            attended = F.dropout(weights, self.dropout, True)
        joined = (attended @ vh).reshape(n, h, lq, d).permute(0, 2, 1, 3).reshape(n, lq, h * d)
        out = self._project(joined, batched)
        if not need_weights:
            return out, None
        w = weights.reshape(n, h, lq, s)
        if average_attn_weights:
            w = w.mean(1)
        return out, (w.squeeze(0) if not batched else w)

    def _project(self, heads_out: Tensor, batched: bool) -> Tensor:
        """The heads' outputs side by side (N, L, heads * head_dim), projected by out_proj and
        laid out as the caller's input."""
        out = self.out_proj(heads_out)
        if not batched:
            return out.squeeze(0)
        return out if self.batch_first else out.transpose(0, 1)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


__all__ = ["MultiheadAttention", "scaled_dot_product_attention"]
