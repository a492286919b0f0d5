"""Sorting and selection: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``median``.

No new primitive: each finds indices with NumPy (no gradient flows through a choice of indices)
and then gathers the values with ``gather``, whose backward scatters g back to the chosen
positions. So d values_j / d x_i = [i = index_j]: a sorted or selected element carries its
gradient back to where it came from, and second derivatives are those of gather (zero).

Among equal values the index is torch's (CPU): ``sort`` and ``median(dim)`` as its stable sort;
``kthvalue`` and ``topk``, whose kernels are not stable, as those kernels find it
(``_cpu_select``), for the slices where a tie can change it.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.dims import normalize_dims
from ..ops.index import gather
from ..ops.reduce import amax
from ._cpu_select import kthvalue_index, median_index, topk_indices

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

SortResult = namedtuple("SortResult", ["values", "indices"])


def _order(op: str, x: Tensor, dim: int, descending: bool) -> tuple[int, np.ndarray]:
    """(dim, indices that sort x along dim); stable, so ties keep their order, and for
    descending order the ties still come in index order (as torch's stable sort)."""
    d = normalize_dims(op, dim, x.ndim)[0] if x.ndim else 0
    a = x._data if x.ndim else x._data.reshape(1)
    if descending:
        # sort a key that reverses the order: reversing an ascending sort would reverse the
        # order of ties. ~a for integers and booleans (-a overflows at the lowest int64)
        if a.dtype.kind in "biu":
            idx = np.argsort(~a, axis=d, kind="stable")
        else:
            # NaN first (torch counts it as the largest), then -a; lexsort is stable
            idx = np.lexsort((-a, ~np.isnan(a)), axis=d)
    else:
        idx = np.argsort(a, axis=d, kind="stable")
    return d, (idx if x.ndim else idx.reshape(()))


def _tied(x: Tensor, d: int, idx: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Per slice along d (kept as a dim of 1): whether the values at sorted positions
    first..stop - 1 equal their successor (NaNs equal each other, -0.0 equals 0.0)."""
    s = np.take_along_axis(x._data, idx, axis=d)
    n = s.shape[d]
    lo, hi = max(first, 0), min(stop, n - 1)
    if hi <= lo:
        return np.zeros(s.shape[:d] + (1,) + s.shape[d + 1 :], bool)
    a = np.take(s, range(lo, hi), axis=d)
    b = np.take(s, range(lo + 1, hi + 1), axis=d)
    eq = a == b
    if s.dtype.kind == "f":
        eq |= np.isnan(a) & np.isnan(b)
    return eq.any(axis=d, keepdims=True)


def _redo(x: Tensor, d: int, idx: np.ndarray, redo: np.ndarray, pick: Any) -> np.ndarray:
    """idx with the slices marked in ``redo`` (a dim of 1 at d) replaced by pick(values of the
    slice as Python numbers), which returns that slice's indices as torch's kernel finds them."""
    if not redo.any():
        return idx
    a = np.moveaxis(x._data, d, -1)
    out = np.moveaxis(idx, d, -1).copy()
    for pos in np.argwhere(np.moveaxis(redo, d, -1)[..., 0]):  # also for a 1-d x (pos = ())
        out[tuple(pos)] = pick(a[tuple(pos)].tolist())
    return np.moveaxis(out, -1, d)


def sort(
    input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
) -> SortResult:
    """Sorted values along ``dim`` and the indices they came from (always a stable sort)."""
    x = lift(input)
    d, idx = _order("sort", x, dim, descending)
    return SortResult(_take(x, d, idx), Tensor._wrap(idx.astype(np.int64)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    x = lift(input)
    return Tensor._wrap(_order("argsort", x, dim, descending)[1].astype(np.int64))


def topk(
    input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> SortResult:  # noqa: A002
    """The k largest (or smallest) values along ``dim`` and their indices, in sorted order."""
    x = lift(input)
    d = normalize_dims("topk", dim, x.ndim)[0] if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(
            f"topk: k={k} is out of range for dimension {dim} of size {n} (input shape {x.shape})"
        )
    d, idx = _order("topk", x, dim, largest)
    if not x.ndim:
        return SortResult(_take(x, d, idx), Tensor._wrap(idx.astype(np.int64)))
    # torch's kernel is not a stable sort: where equal values meet in the first k, or the order
    # is not sorted (sorted=False leaves nth_element's), its indices are found as it does
    if not sorted and 64 * k > n and k > 1:
        redo = np.ones(idx.shape[:d] + (1,) + idx.shape[d + 1 :], bool)
    else:
        redo = _tied(x, d, idx, 0, k)
    idx = _redo(x, d, idx, redo, lambda v: topk_indices(v, k, largest, sorted) + [0] * (n - k))
    idx = np.take(idx, np.arange(k), axis=d)
    return SortResult(_take(x, d, idx), Tensor._wrap(idx.astype(np.int64)))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> SortResult:
    """The k-th smallest value (k from 1) along ``dim`` and its index."""
    x = lift(input)
    d = normalize_dims("kthvalue", dim, x.ndim)[0] if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue: k={k} is out of range for dimension {dim} of size {n} "
            f"(input shape {x.shape})"
        )
    d, idx = _order("kthvalue", x, dim, False)
    if not x.ndim:
        return SortResult(_take(x, d, idx), Tensor._wrap(idx.astype(np.int64)))
    # torch's quickselect is not stable: when the k-th value has an equal (a tie, -0.0 and 0.0,
    # NaNs), the index among them is the one its quickselect ends on
    redo = _tied(x, d, idx, k - 2, k)
    idx = np.take(idx, [k - 1], axis=d)
    idx = _redo(x, d, idx, redo, lambda v: [kthvalue_index(v, k)])
    values, indices = _take(x, d, idx), Tensor._wrap(idx.astype(np.int64))
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return SortResult(values, indices)


def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median (the ((n - 1) // 2 + 1)-th smallest, as torch): of all elements when
    ``dim`` is None (a tensor), else along ``dim`` (values and indices).

    A NaN makes the median NaN (torch; ``nanmedian`` is the one that skips them), and along a
    dim its index is the first NaN. Without a dim the gradient is torch's: shared evenly by every
    element equal to the median (or by the NaNs), so ties split it; along a dim it goes to the
    index returned. The median of an empty tensor is NaN."""
    x = lift(input)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            return flat.sum() * float("nan")
        a = flat._data
        if np.isnan(a).any():
            v, mask = np.asarray(np.nan, a.dtype), np.isnan(a)
        else:
            v = np.sort(a)[(a.shape[0] - 1) // 2]
            mask = a == v
        order = np.flatnonzero(mask)
        if v == 0 and a.dtype.kind == "f":
            # -0.0 or +0.0: the one torch's std::nth_element leaves at the median's place
            # (fuzz seeds 504938588, 1988568726), put first for amax's rule "first"
            pick = median_index(a.tolist())
            order = np.concatenate([[pick], order[order != pick]])
        # The maximum of the elements equal to the median (all equal, or all NaN): its value is
        # exact and max-without-dim shares g evenly among them.
        chosen = flat.index_select(0, Tensor._wrap(order.astype(np.int64)))
        return amax(chosen, _select=True, _zero_sign="first")
    d = normalize_dims("median", dim, x.ndim)[0] if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    if n == 0:
        raise RuntimeError(f"median: cannot reduce over dim {d} of size 0 (tensor shape {x.shape})")
    if not x.ndim:
        return kthvalue(x, 1, dim, keepdim)
    _, idx = _order("median", x, d, False)
    idx = np.take(idx, [(n - 1) // 2], axis=d)
    nan = np.isnan(x._data) if x._data.dtype.kind == "f" else np.zeros(x.shape, bool)
    has_nan = nan.any(axis=d, keepdims=True)
    idx = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), idx)
    values, indices = _take(x, d, idx), Tensor._wrap(idx.astype(np.int64))
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return SortResult(values, indices)


def _take(x: Tensor, d: int, idx: np.ndarray) -> Tensor:
    if not x.ndim:
        return x * 1
    return gather(x, d, Tensor._wrap(idx.astype(np.int64)))


__all__ = ["sort", "argsort", "topk", "kthvalue", "median"]
