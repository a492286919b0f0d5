"""``Embedding``: a lookup table of learnable vectors, and its function form."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..autograd import no_grad
from .._tensor import Tensor, get_default_dtype, lift
from . import init
from .module import Module, Parameter


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """out[..., :] = weight[input[...], :] (``F.embedding``).

    The lookup is ``getitem`` on the rows, whose backward adds g into the looked-up rows (a row
    used twice gets both gradients). ``padding_idx``: positions holding it pass the row's value but
    no gradient. ``scale_grad_by_freq``: a row's gradient is divided by how often it occurs in the
    batch. ``max_norm``: rows looked up whose ``norm_type``-norm exceeds it are rescaled in place
    to norm ``max_norm`` before the lookup (PyTorch's ``embedding_renorm_``, factor
    max_norm / (norm + 1e-7)). ``sparse`` is accepted and ignored: gradients are dense.
    """
    idx = lift(input)._data
    w = lift(weight)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: indices must be integers (int64), got {idx.dtype}")
    n = w.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"embedding: index {bad} is out of range [0, {n}) of the table")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        rows = np.unique(idx)
        with no_grad():
            sub = w._data[rows]
            norms = np.linalg.norm(sub, ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            w._data[rows] = (sub * scale[:, None]).astype(w.dtype)
            w._version[0] += 1
    out = ops.getitem(w, idx)
    if not out.requires_grad:
        return out
    if padding_idx is not None and (idx == padding_idx).any():
        mask = Tensor._wrap((idx == padding_idx)[..., None])
        out = ops.where(mask, out.detach(), out)
    if scale_grad_by_freq:
        counts = np.bincount(idx.ravel(), minlength=n)
        scale = Tensor._wrap((1.0 / counts[idx])[..., None].astype(w.dtype))
        frozen = out.detach()
        out = frozen + (out - frozen) * scale  # the value is unchanged, the gradient scaled
    return out


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1)
    (the ``padding_idx`` row, if any, zero), looked up by integer index."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx={padding_idx} must be within num_embeddings="
                    f"{num_embeddings}"
                )
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            array = lift(_weight)._data
            if array.shape != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight has shape {array.shape}, expected "
                    f"{(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(array.copy(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, **kwargs: Any) -> "Embedding":
        rows, cols = lift(embeddings).shape
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, **kwargs)

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s


__all__ = ["Embedding", "embedding"]
