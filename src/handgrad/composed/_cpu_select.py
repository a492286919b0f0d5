"""Which of several equal elements torch's CPU kernels return, for ``topk`` and ``kthvalue``.

Neither kernel is a stable sort, so among equal values (ties, -0.0 and 0.0, NaNs) the index they
return is fixed by the algorithm, deterministically:

- ``kthvalue``: torch's own quickselect (``quick_select_template`` in ATen's Sorting.cpp:
  median-of-three pivot, Sedgewick's partition), NaN counted as the largest;
- ``median()``: which of -0.0 and +0.0 (``median_index``; amax's is ops/_cpu_reduce.py);
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
