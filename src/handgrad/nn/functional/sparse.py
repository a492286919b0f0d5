"""Sparse functions, as torch groups them: ``F.embedding`` (a lookup table read by index) and
``F.one_hot``."""

from __future__ import annotations

import numpy as np

from ... import ops
from ..._tensor import Tensor, lift
from ...autograd import no_grad


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
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
        per_row = Tensor._wrap((1.0 / counts[idx])[..., None].astype(w.dtype))
        frozen = out.detach()
        out = frozen + (out - frozen) * per_row  # the value is unchanged, the gradient scaled
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    idx = lift(tensor)._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer tensor, got {idx.dtype}")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise RuntimeError(
            f"one_hot: class values must be in [0, {n}), got {idx.min()}..{idx.max()}"
        )
    return Tensor._wrap((idx[..., None] == np.arange(n)).astype(np.int64))


__all__ = [
    "embedding",
    "one_hot",
]
