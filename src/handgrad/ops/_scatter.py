"""``np.add.at`` for the scatter-add of getitem's backward (``index_accumulate``), with the case
that resampling and ``index_select`` often make done by runs.

An index along one axis that never decreases (interpolate's taps: nearest upsampling by 2 reads
source pixels 0, 0, 1, 1, ...) sends each run of equal indices to one place. ``np.add.at``
visits the elements one by one (9.5 ms for the gradient of a 2x nearest upsampling of
(32, 32, 16, 16) along one axis). Here the k-th elements of all runs go in one scatter-add,
k = 0, 1, ..., as slices where they are evenly spaced (0.6 ms): each output is summed in
``np.add.at``'s order, 0 + g_1 + g_2 + ..., with its bits (``np.add.reduceat`` would sum a run
as g_1 + (g_2 + g_3), an ulp off)."""

from __future__ import annotations

import numpy as np

# Runs longer than this are left to np.add.at (one pass over the output per element of a run).
_MAX_RUN = 8


def add_at(out: np.ndarray, index: tuple, g: np.ndarray) -> None:
    """``np.add.at(out, index, g)``."""
    runs = _runs(index, out.shape)
    if runs is None:
        np.add.at(out, index, g)  # (its error names an index out of range)
        return
    axis, pos, starts, lengths = runs
    g = np.broadcast_to(g, out.shape[:axis] + (pos.size,) + out.shape[axis + 1 :])
    lead = (slice(None),) * axis
    for k in range(int(lengths.max())):  # the k-th element of every run longer than k
        src = starts[lengths > k] + k
        out[lead + (_as_slice(pos[src]),)] += g[lead + (_as_slice(src),)]


def _runs(index: tuple, shape: tuple) -> tuple | None:
    """(axis, positions, the runs' starts, their lengths) of an index along one axis that never
    decreases, in range and with runs of at most ``_MAX_RUN``; else None."""
    axis = _one_axis(index)
    if axis is None:
        return None
    pos = np.asarray(index[axis])
    pos = np.where(pos < 0, pos + shape[axis], pos)
    if pos.size < 2 or (pos < 0).any() or (pos >= shape[axis]).any() or (pos[1:] < pos[:-1]).any():
        return None
    starts = np.flatnonzero(np.concatenate(([True], pos[1:] != pos[:-1])))
    lengths = np.diff(np.append(starts, pos.size))
    return None if lengths.max() > _MAX_RUN else (axis, pos, starts, lengths)


def _one_axis(index: tuple) -> int | None:
    """The axis of an index that is whole slices but for one 1-d integer array, or None."""
    if not isinstance(index, tuple):
        return None
    arrays = [i for i, v in enumerate(index) if not (isinstance(v, slice) and v == slice(None))]
    if len(arrays) != 1:
        return None
    v = index[arrays[0]]
    if not isinstance(v, np.ndarray) or v.ndim != 1 or v.dtype.kind not in "iu":
        return None
    return arrays[0]


def _as_slice(ix: np.ndarray) -> slice | np.ndarray:
    """An increasing arithmetic progression of indices as the slice it is (a view, where an index
    array copies element by element: 11 -> 1 ms along a last axis), else the array."""
    if ix.size > 1:
        step = int(ix[1] - ix[0])
        if step > 0 and (np.diff(ix) == step).all():
            return slice(int(ix[0]), int(ix[-1]) + 1, step)
    return ix
