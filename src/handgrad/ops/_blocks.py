"""Element-wise formulas over cache-sized blocks (``blockwise``).

A primitive's forward such as sigmoid's, ``e = exp(-|a|); select(a >= 0, 1 / (1 + e),
e / (1 + e))``, is half a dozen NumPy passes. On a large array each pass reads and writes memory:
a (32, 64, 32, 32) float32 activation is 8 MiB, four times the core's L2 cache. Run over blocks
of ``_BLOCK`` elements, every pass after the first finds its block in the cache. Each element's
value is computed by the same operations either way, so the bits do not change."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

_BLOCK = 1 << 15  # elements: a float32 block and its half-dozen temporaries fit in 1 MiB


def blockwise(forward: Any) -> Any:
    """Decorate an element-wise primitive's ``forward(self, *arrays, **params)``: when its
    arrays share one shape (or are 0-d) and one memory order, and span several blocks, the
    forward runs on each block's flat views and fills one output of that memory order. ``params``
    that are arrays of the shape are cut into blocks too. The forward must not keep per-call
    state on ``self`` other than its parameters."""

    @functools.wraps(forward)
    def run(self: Any, *arrays: np.ndarray, **params: Any) -> Any:
        flat = _flat_views(arrays, params)
        if flat is None:
            return forward(self, *arrays, **params)
        views, keys, order, shape = flat
        n = int(np.prod(shape))
        out = None
        for i in range(0, n, _BLOCK):
            j = min(n, i + _BLOCK)
            part = [v[i:j] if v.ndim else v for v in views]
            kw = dict(params, **{k: p for k, p in zip(keys, part[len(arrays) :])})
            block = forward(self, *part[: len(arrays)], **kw)
            if out is None:
                out = np.empty(n, block.dtype)
            out[i:j] = block
        assert out is not None
        return unflat(out, shape, order)

    return run


def _flat_views(arrays: tuple, params: dict) -> tuple | None:
    arrays = tuple(one_value(a) for a in arrays)
    full = [a for a in arrays if isinstance(a, np.ndarray) and a.ndim]
    if not full or full[0].size < 2 * _BLOCK:
        return None
    ref = full[0]
    keys = [k for k, v in params.items() if isinstance(v, np.ndarray) and v.shape == ref.shape]
    flat = flat_views(list(arrays) + [one_value(params[k]) for k in keys], ref)
    if flat is None:
        return None
    return flat[0], keys, flat[1], ref.shape


def flat_views(arrays: list, ref: np.ndarray) -> tuple[list, list] | None:
    """(views, order): each of ``arrays`` (of ``ref``'s shape, or 0-d) as a flat view in ref's
    memory order, ``order`` its dims outermost first (a 0-d array as it is); None when one has
    another shape or its memory is not in that order (a copy would cost what blocks save)."""
    if ref.flags.c_contiguous:
        order = list(range(ref.ndim))
    else:
        order = sorted(range(ref.ndim), key=lambda i: -ref.strides[i])
    views = []
    for a in arrays:
        if not isinstance(a, np.ndarray) or (a.ndim and a.shape != ref.shape):
            return None
        if a.ndim:
            t = a.transpose(order)
            if not t.flags.c_contiguous:
                return None
            a = t.reshape(-1)
        views.append(a)
    return views, order


def unflat(flat: np.ndarray, shape: tuple, order: list) -> np.ndarray:
    """The array of ``shape`` whose memory, in ``order`` (``flat_views``), is ``flat``."""
    return flat.reshape([shape[k] for k in order]).transpose(np.argsort(order))


def one_value(a: Any) -> Any:
    """A 0-d array for an array that is one value broadcast (every stride 0: a sum's gradient),
    so that blocks and selections take it as the scalar it is; anything else as it is."""
    if isinstance(a, np.ndarray) and a.ndim and a.size and not any(a.strides):
        return np.asarray(a[(0,) * a.ndim])
    return a
