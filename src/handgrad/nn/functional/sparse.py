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


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The sum, mean or max of the looked-up rows of each bag (``F.embedding_bag``): bags are the
    rows of a 2-D ``input``, or the slices ``input[offsets[i]:offsets[i + 1]]`` of a 1-D one (the
    last to the end, unless ``include_last_offset``). Entries equal to ``padding_idx`` are left
    out of their bag (and of a mean's count); an empty bag gives zeros. ``per_sample_weights``
    (mode 'sum') scale each looked-up row. Composed of ``embedding`` and an index addition into
    the bags, so the gradient of a row is the sum of its bags' gradients (divided by the count
    for a mean; for a max, only the row that holds the maximum of a column gets it)."""
    idx = lift(input)._data
    w = lift(weight)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None when input is 2-D (B, N)")
        bags, n_bags = np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.shape[0]
        flat = idx.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: a 1-D input needs offsets (the start of each bag)")
        starts = lift(offsets)._data.astype(np.int64).reshape(-1)
        if starts.size and (starts[0] != 0 or (np.diff(starts) < 0).any() or starts[-1] > idx.size):
            raise ValueError(
                f"embedding_bag: offsets must start at 0 and not decrease or pass the input's "
                f"length {idx.size}, got {starts.tolist()}"
            )
        ends = np.append(starts[1:], idx.size)
        if include_last_offset:
            starts, ends = starts[:-1], ends[:-1]
        n_bags, flat = starts.size, idx
        bags = np.repeat(np.arange(n_bags), ends - starts)
        flat = flat[: bags.size] if include_last_offset else flat
    else:
        raise ValueError(f"embedding_bag: input must be 1-D or 2-D, got shape {idx.shape}")
    if flat.size and (flat.min() < 0 or flat.max() >= w.shape[0]):
        bad = int(np.nonzero((flat < 0) | (flat >= w.shape[0]))[0][0])
        raise RuntimeError(
            f"embedding_bag: index {bad} of input takes value {flat[bad]}, not in the valid range "
            f"[0, {w.shape[0]})"
        )
    keep = np.ones(flat.size, bool) if padding_idx is None else flat != padding_idx % w.shape[0]
    rows = embedding(Tensor._wrap(flat[keep]), w, None, max_norm, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights is only supported for mode='sum', got {mode!r}"
            )
        psw = lift(per_sample_weights).reshape(-1)[Tensor._wrap(np.nonzero(keep)[0])]
        rows = rows * psw.unsqueeze(-1)
    bag_of, dim = bags[keep], w.shape[1]
    if mode == "max":
        if not n_bags:
            return Tensor._wrap(np.zeros((0, dim), w.dtype))
        parts = [rows[Tensor._wrap(np.nonzero(bag_of == b)[0])] for b in range(n_bags)]
        zero = Tensor._wrap(np.zeros(dim, w.dtype))
        return ops.stack([r.amax(0) if r.shape[0] else zero for r in parts])
    zeros = Tensor._wrap(np.zeros((n_bags, dim), w.dtype))
    total = zeros.index_add(0, Tensor._wrap(bag_of), rows)
    if mode == "sum":
        return total
    count = np.bincount(bag_of, minlength=n_bags).astype(w.dtype)
    return total / Tensor._wrap(np.maximum(count, 1)[:, None])


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
    "embedding_bag",
    "one_hot",
]
