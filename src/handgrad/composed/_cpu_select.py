"""Which of several equal elements torch's CPU kernels return, for ``topk`` and ``kthvalue``.

Neither kernel is a stable sort, so among equal values (ties, -0.0 and 0.0, NaNs) the index they
return is fixed by the algorithm, deterministically:

- ``kthvalue``: torch's own quickselect (``quick_select_template`` in ATen's Sorting.cpp:
  median-of-three pivot, Sedgewick's partition), NaN counted as the largest;
- ``amax`` / ``amin``, ``median()``: which of -0.0 and +0.0 (``amax_zero_sign``,
  ``median_index``);
- ``topk``: ``std::partial_sort`` when ``64 k <= n``, else ``std::nth_element`` followed by
  ``std::sort`` of the first k - 1 (``topk_impl_loop`` in ATen's TopKImpl.h), run by the GNU C++
  library (libstdc++) that torch's Linux wheels are built with. The functions below follow
  libstdc++'s introselect, introsort and heap operations step by step.

They run in Python on one slice at a time; ``sort.py`` calls them only for the slices where a tie
can change the answer (a stable sort gives it everywhere else).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Less = Callable[[Any, Any], bool]


def _isnan(v: Any) -> bool:
    return bool(v != v)


def _lg(n: int) -> int:
    return n.bit_length() - 1


def _move_median_to_first(q: list, result: int, a: int, b: int, c: int, less: Less) -> None:
    if less(q[a], q[b]):
        m = b if less(q[b], q[c]) else (c if less(q[a], q[c]) else a)
    elif less(q[a], q[c]):
        m = a
    else:
        m = c if less(q[b], q[c]) else b
    q[result], q[m] = q[m], q[result]


def _unguarded_partition(q: list, first: int, last: int, pivot: int, less: Less) -> int:
    while True:
        while less(q[first], q[pivot]):
            first += 1
        last -= 1
        while less(q[pivot], q[last]):
            last -= 1
        if not first < last:
            return first
        q[first], q[last] = q[last], q[first]
        first += 1


def _unguarded_partition_pivot(q: list, first: int, last: int, less: Less) -> int:
    mid = first + (last - first) // 2
    _move_median_to_first(q, first, first + 1, mid, last - 1, less)
    return _unguarded_partition(q, first + 1, last, first, less)


def _unguarded_linear_insert(q: list, last: int, less: Less) -> None:
    val, nxt = q[last], last - 1
    while less(val, q[nxt]):
        q[last] = q[nxt]
        last, nxt = nxt, nxt - 1
    q[last] = val


def _insertion_sort(q: list, first: int, last: int, less: Less) -> None:
    for i in range(first + 1, last):
        if less(q[i], q[first]):
            val = q[i]
            q[first + 1 : i + 1] = q[first:i]
            q[first] = val
        else:
            _unguarded_linear_insert(q, i, less)


def _push_heap(q: list, first: int, hole: int, top: int, value: Any, less: Less) -> None:
    parent = (hole - 1) // 2
    while hole > top and less(q[first + parent], value):
        q[first + hole] = q[first + parent]
        hole, parent = parent, (parent - 1) // 2
    q[first + hole] = value


def _adjust_heap(q: list, first: int, hole: int, n: int, value: Any, less: Less) -> None:
    top = child = hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if less(q[first + child], q[first + child - 1]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    _push_heap(q, first, hole, top, value, less)


def _heap_select(q: list, first: int, middle: int, last: int, less: Less) -> None:
    n = middle - first
    if n >= 2:  # make_heap
        for parent in range((n - 2) // 2, -1, -1):
            _adjust_heap(q, first, parent, n, q[first + parent], less)
    for i in range(middle, last):
        if less(q[i], q[first]):  # pop_heap into position i
            value, q[i] = q[i], q[first]
            _adjust_heap(q, first, 0, n, value, less)


def _partial_sort(q: list, first: int, middle: int, last: int, less: Less) -> None:
    _heap_select(q, first, middle, last, less)
    while middle - first > 1:  # sort_heap
        middle -= 1
        value, q[middle] = q[middle], q[first]
        _adjust_heap(q, first, 0, middle - first, value, less)


def _introsort_loop(q: list, first: int, last: int, depth: int, less: Less) -> None:
    while last - first > 16:
        if depth == 0:
            _partial_sort(q, first, last, last, less)
            return
        depth -= 1
        cut = _unguarded_partition_pivot(q, first, last, less)
        _introsort_loop(q, cut, last, depth, less)
        last = cut


def _sort(q: list, first: int, last: int, less: Less) -> None:
    if first == last:
        return
    _introsort_loop(q, first, last, 2 * _lg(last - first), less)
    if last - first > 16:
        _insertion_sort(q, first, first + 16, less)
        for i in range(first + 16, last):
            _unguarded_linear_insert(q, i, less)
    else:
        _insertion_sort(q, first, last, less)


def _nth_element(q: list, first: int, nth: int, last: int, less: Less) -> None:
    if first == last or nth == last:
        return
    depth = 2 * _lg(last - first)
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last, less)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _unguarded_partition_pivot(q, first, last, less)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last, less)


def _largest_first(x: tuple, y: tuple) -> bool:
    return (_isnan(x[0]) and not _isnan(y[0])) or x[0] > y[0]


def _smallest_first(x: tuple, y: tuple) -> bool:
    return (not _isnan(x[0]) and _isnan(y[0])) or x[0] < y[0]


def topk_indices(values: list, k: int, largest: bool, sorted: bool) -> list:  # noqa: A002
    """The indices torch.topk returns for one slice (NaN counts as the largest)."""
    n = len(values)
    if k == 0:
        return []
    q = [(v, j) for j, v in enumerate(values)]
    less = _largest_first if largest else _smallest_first
    if k * 64 <= n:
        _partial_sort(q, 0, k, n, less)
    else:
        _nth_element(q, 0, k - 1, n, less)
        if sorted:
            _sort(q, 0, k - 1, less)
    return [j for _, j in q[:k]]


def median_index(values: list) -> int:
    """The index of the element torch.median() (no dim, no NaN) returns: its std::nth_element
    of the lower median over the values in memory order."""
    n = len(values)
    q = [(v, j) for j, v in enumerate(values)]
    _nth_element(q, 0, (n - 1) // 2, n, lambda x, y: x[0] < y[0])
    return int(q[(n - 1) // 2][1])


def kthvalue_index(values: list, k: int) -> int:
    """The index torch.kthvalue returns for one slice (k from 1; NaN counts as the largest)."""
    arr, idx = list(values), list(range(len(values)))

    def gt(x: Any, y: Any) -> bool:
        return (_isnan(x) and not _isnan(y)) or x > y

    def swap(i: int, j: int) -> None:
        arr[i], arr[j] = arr[j], arr[i]
        idx[i], idx[j] = idx[j], idx[i]

    kk, lo, hi = k - 1, 0, len(arr) - 1
    while hi > lo:
        if hi == lo + 1:
            if gt(arr[lo], arr[hi]):
                swap(lo, hi)
            break
        swap((lo + hi) >> 1, lo + 1)  # median of three as pivot, at lo
        if gt(arr[lo + 1], arr[hi]):
            swap(lo + 1, hi)
        if gt(arr[lo], arr[hi]):
            swap(lo, hi)
        if gt(arr[lo + 1], arr[lo]):
            swap(lo + 1, lo)
        i, j, piv = lo + 1, hi, arr[lo]
        while True:
            i += 1
            while gt(piv, arr[i]):
                i += 1
            j -= 1
            while gt(arr[j], piv):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= kk:
            lo = i
        if j >= kk:
            hi = j - 1
    return idx[kk]


def amax_zero_sign(a: np.ndarray, dims: tuple, kept: np.ndarray, first: bool) -> np.ndarray:
    """kept (a's maximum over ``dims``, keepdims) with each zero given the sign torch's amax gives
    it: of -0.0 and +0.0 the one its reduction keeps (NumPy's max keeps either; fuzz seed
    504934291: amax over (-0.0, 0.0) is -0.0 in torch). See ``_torch_max_keeps_negative_zero``.
    ``first``: the sign of the slice's first zero (its scalar loop) whatever the layout."""
    rest = [i for i in range(a.ndim) if i not in dims]
    t = a.transpose(rest + list(dims)).reshape([a.shape[i] for i in rest] + [-1])
    # torch's layout: the reduced dims of more than one element, when adjacent, are one
    # reduced dim; the kept dims after them, one contiguous column dim of ``inner`` elements
    big = [i for i in range(a.ndim) if a.shape[i] > 1]
    red = [i for i in big if i in dims]
    block = bool(red) and big[big.index(red[0]) : big.index(red[0]) + len(red)] == red
    inner = int(np.prod([a.shape[i] for i in big if red and i > red[-1]], dtype=np.int64))
    vec = 0 if first or not block else 32 // a.dtype.itemsize
    flat_kept, rows = kept.reshape(-1), t.reshape(-1, t.shape[-1])
    out = flat_kept.copy()
    for r in np.flatnonzero(flat_kept == 0):
        v = rows[r].tolist()
        if vec and inner > 1:
            # an outer reduction (``vectorized_outer_reduction``): the first 4 vec-wide blocks
            # of columns reduce with ``maximum`` row by row, which keeps the later of equal
            # values: the last zero; the remaining columns with std::max: the first zero
            last = r % inner < inner // (4 * vec) * (4 * vec)
            zeros = [x for x in v if x == 0]
            neg = bool(np.signbit(zeros[-1] if last else zeros[0]))
        else:
            neg = _torch_max_keeps_negative_zero(v, vec)
        out[r] = -0.0 if neg else 0.0
    return out.reshape(kept.shape)


def _torch_max_keeps_negative_zero(v: list, vec: int) -> bool:
    """Whether torch's max reduction of v (whose maximum is 0) returns -0.0. Its scalar loop
    (``max_impl``: std::max, which keeps the earlier of equal values) keeps the first zero; a
    contiguous slice of 4 ``vec`` elements or more (``vec`` lanes of 32 bytes, what torch 2.13's
    wheels run here; 0: not contiguous) is reduced first in blocks of 4 vectors by
    ``vectorized_inner_reduction``, whose ``maximum`` (_mm256_max) keeps the later of equal
    values lane by lane, then combines the four vectors the same way (0 with 1, 2 with 3, then
    the two), then the lanes with std::max, then the tail with std::max."""
    block = 4 * vec
    count = len(v) // block if vec else 0
    acc = -np.inf
    if count:
        lanes = v[:block]
        for i in range(1, count):
            lanes = [x if x > y else y for x, y in zip(lanes, v[i * block : (i + 1) * block])]
        q = [lanes[j * vec : (j + 1) * vec] for j in range(4)]
        q01 = [x if x > y else y for x, y in zip(q[0], q[1])]
        q23 = [x if x > y else y for x, y in zip(q[2], q[3])]
        tail = [x if x > y else y for x, y in zip(q01, q23)] + v[count * block :]
    else:
        tail = v
    for x in tail:  # std::max across the lanes, then along the tail
        acc = x if acc < x else acc
    return bool(np.signbit(acc))
