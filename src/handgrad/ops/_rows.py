"""Normalization kernels on contiguous rows, for the common case: every value
finite, no row sum overflowing, no row whose variance overflows. The statistics of a row are
matrix-vector products with a vector of ones (the BLAS sums a (R, M) matrix's rows in one pass,
where NumPy's reduction along a short last axis pays a per-row cost: 0.24 ms against 0.03 ms for
the 2048 rows of 128 of a Transformer's activations), and the backward without a graph is the
formula of ``LayerNorm.backward`` in the same order of operations, on arrays: a Transformer step
spent 11% of its time in its four layer norms, composed of a dozen element-wise nodes. Anything
else (a non-finite value, an overflow, a layout that is not rows) returns None and the caller
takes the general path, which handles it as torch does.

Batch normalization's channels are rows too, in the batch-innermost memory a convolution returns
(``channels_first_2d``); its kernels here compute exactly what ``BatchNorm``'s general path
computes, row by row, and share the channels among the BLAS pool's threads (``each_part``): a
row's arithmetic does not depend on which thread runs it, so one and two threads give the same
bits."""

from __future__ import annotations

import numpy as np

from . import _compiled
from .blas import blas_threads, each_part
from .reduce import _sum

# Below this many elements a normalization's channels stay on the calling thread.
_PARALLEL_ELEMENTS = 1 << 18


# A normalization's passes run over blocks of channel rows of about this many elements: each of
# its half-dozen passes then reads the block from the core's cache, where whole 2 MiB arrays came
# from memory every pass (bench/bench_models.py's ResNet, 1 thread, 2026-12-07: its nine batch norms
# 10.1 -> 8.9 ms a step, forward and backward; a 16-channel layer's backward 0.99 -> 0.77 ms).
_BLOCK_ELEMENTS = 1 << 16


def _rows(a: np.ndarray, k: int) -> np.ndarray | None:
    """A (R, M) view of ``a`` with its last k dims as rows of M, or None (not contiguous, empty)."""
    if a.size == 0 or not a.flags.c_contiguous:
        return None
    return a.reshape(-1, int(np.prod(a.shape[a.ndim - k :])))


# A layer norm's rows run in blocks of this many elements, the blocks shared among the BLAS pool's
# threads. Fixed blocks, not one per thread: the BLAS's product with a ones vector (a row's sum,
# 0.013 ms for 2048 rows of 128, einsum's 0.019) rounds a row differently by its place among the
# rows of the call, and the blocks keep one and two threads to the same bits. At 1 << 16 one
# thread's forward was 5% slower than whole, at 1 << 17 as fast (2048 rows of 128, 2 blocks).
_ROW_BLOCK_ELEMENTS = 1 << 17


# With more than one thread, a thread's share of a batch norm's channels runs as one block of up
# to this many elements. Each NumPy call a thread makes releases the GIL and must take it back
# from the other thread, some microseconds each time on this VM, so a dozen calls per block of
# 1 << 16 elements made two threads no faster than one: the ResNet's 16-channel batch norm
# forward 0.68 ms on two threads as on one, 0.42 ms with one block per thread (bench/bench_models.py
# shapes, 2026-12-07).
_SHARE_ELEMENTS = 1 << 18


def _each_block(part, rows: int, row_size: int, block_elements: int, shared: bool = False) -> None:
    """``part(lo, hi)`` over blocks of rows of about ``block_elements`` elements, the blocks
    shared among the BLAS pool's threads when large, every product on one BLAS thread. Each of a
    normalization's passes then reads its block from the core's cache. The blocks are fixed,
    whatever the thread count, so a row's sums round alike for one thread or two, even the
    BLAS's (layer norm's products with a ones vector round a row by its place in the call).
    ``shared``: the rows' results do not depend on the blocks (batch norm's per-row sums), so
    with several threads each thread's share runs as one block (see ``_SHARE_ELEMENTS``)."""
    step = max(1, block_elements // max(row_size, 1))
    workers = blas_threads() if rows * row_size >= _PARALLEL_ELEMENTS else 1
    if shared and workers > 1:
        step = max(step, min(-(-rows // workers), _SHARE_ELEMENTS // max(row_size, 1)))
    count = -(-rows // step)

    def blocks(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            part(i * step, min(rows, (i + 1) * step))

    each_part(blocks, count, workers)


# A channel row's sums of products run as einsum's sums of blocks of this many products, the
# blocks' sums then added in float64 (``_row_dots``).
_DOT_BLOCK = 1024


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_j a[i, j] b[i, j] for each row of two (R, M) arrays of float32 or float64, as float64:
    einsum's sums of blocks of 1024 products in the dtype, then the blocks' sums in float64.
    As accurate as NumPy's pairwise sum of the product array (2.5e-8 against 2.7e-8 relative,
    one float32 row of 32768) and 2.8x faster, with no product array (11 against 32 us): batch
    norm's variance and weight gradient; torch sums both in double."""
    r, m = a.shape
    k = m - m % _DOT_BLOCK
    out = np.zeros(r)
    if k:
        blocks = (r, k // _DOT_BLOCK, _DOT_BLOCK)
        out += np.einsum("ikj,ikj->ik", a[:, :k].reshape(blocks), b[:, :k].reshape(blocks)).sum(
            axis=1, dtype=np.float64
        )
    if k < m:
        out += np.einsum("ij,ij->i", a[:, k:], b[:, k:], dtype=np.float64)
    return out


def _row_params(a, shape: tuple, k: int) -> np.ndarray:
    """A weight or bias ``a`` that broadcasts against x of ``shape`` but varies along x's leading
    dims (group_norm's per channel, (G, C / G, 1) against (N, G, C / G, S)), as one array per row
    of x (R, *tail), tail its last k dims' shape (C / G, 1): a block's rows then apply it from
    the core's cache, where the whole array, multiplied after the blocks, came from memory
    (GroupNorm(8, 64) on (32, 64, 16, 16): forward and backward 3.24 -> 3.05 ms, one thread,
    bench/bench_layers.py)."""
    full = a.reshape((1,) * (len(shape) - a.ndim) + a.shape)
    lead, tail = shape[: len(shape) - k], full.shape[len(shape) - k :]
    return np.ascontiguousarray(np.broadcast_to(full, lead + tail)).reshape((-1,) + tail)


def layer_norm_forward(x: np.ndarray, k: int, w, b, eps: float):
    """(out, x^, 1 / sigma) with x^ = (x - mean) / sigma over the last k dims (an array, or
    from the compiled kernel a ``Normalized``: see ``as_array``), or None. The rows run in
    blocks, which two threads share (``_each_block``). The weight and bias broadcast
    against x: of the last k dims' shape, or (group_norm's per channel) varying along some
    leading dims too (``_row_params``); either way applied row by row, in the blocks."""
    x2 = _rows(x, k)
    if x2 is None or x.dtype.kind != "f":
        return None
    r, m = x2.shape
    last = x.shape[x.ndim - k :]
    per_row = all(a is None or (a.size == m and a.shape[a.ndim - k :] == last) for a in (w, b))
    groups = None if per_row else _channel_groups(x.shape, k, w, b)
    compiled = _kernels_for(x, w, b) if per_row or groups else None
    if compiled is not None:
        return _layer_norm_forward_compiled(compiled, x, x2, k, w, b, eps, groups)
    ones = np.ones(m, x.dtype)
    out, xhat = np.empty_like(x2), np.empty_like(x2)
    rstd = np.empty(r, x.dtype)
    wv = None if w is None or not per_row else w.reshape(-1)
    bv = 0.0 if b is None or not per_row else b.reshape(-1)  # +0.0, as torch
    wr = None if w is None or per_row else _row_params(w, x.shape, k)
    br = None if b is None or per_row else _row_params(b, x.shape, k)
    finite = np.ones(r, bool)

    def part(lo: int, hi: int) -> None:
        xr, h, o = x2[lo:hi], xhat[lo:hi], out[lo:hi]
        s = xr @ ones
        if not np.isfinite(s).all():  # a non-finite value or an overflowing sum: general path
            finite[lo:hi] = False
            return
        np.subtract(xr, (s / m).astype(x.dtype, copy=False)[:, None], out=h)
        # the mean corrected by the mean of the residuals: the BLAS's sum of a constant row can
        # be an ulp off, and 1 / sigma = 1 / sqrt(eps) made that x^ = 1.9e-5 where torch's is 0
        # (fuzz seed 922836319: 30 float32 values -0.6931472, the weight gradient 100 times
        # torch's)
        h -= ((h @ ones) / m).astype(x.dtype, copy=False)[:, None]
        var = np.einsum("ij,ij->i", h, h) / m
        rs = rstd[lo:hi]
        rs[...] = 1.0 / np.sqrt(var + eps)
        h *= rs[:, None]
        if per_row:
            if wv is not None:
                np.multiply(h, wv, out=o)
            else:
                o[...] = h
            o += bv
            return
        h3, o3 = h.reshape((hi - lo,) + last), o.reshape((hi - lo,) + last)
        if wr is not None:
            np.multiply(h3, wr[lo:hi], out=o3)
        else:
            o3[...] = h3
        o3 += br[lo:hi] if br is not None else 0.0

    with np.errstate(over="ignore", invalid="ignore"):
        _each_block(part, r, m, _ROW_BLOCK_ELEMENTS)
    if not (finite.all() and (rstd > 0).all()):  # or a variance that overflowed: torch's
        return None  # output there is the bias
    xhat, out = xhat.reshape(x.shape), out.reshape(x.shape)
    return out, xhat, rstd.reshape(x.shape[: x.ndim - k] + (1,) * k)


def _kernels_for(x: np.ndarray, *params):
    """The compiled kernels (ops/_compiled.py) when numba is there and x and its parameters share
    one dtype, float32 or float64; else None (the NumPy passes)."""
    if x.dtype not in (np.float32, np.float64) or any(
        a is not None and a.dtype != x.dtype for a in params
    ):
        return None
    return _compiled.kernels()


def _workers(size: int) -> int:
    return blas_threads() if size >= _PARALLEL_ELEMENTS else 1


def _affine(a, m: int, dtype, fill: float) -> np.ndarray:
    """A weight or bias as a contiguous vector of m, or m copies of ``fill`` where there is
    none: x^ 1 is x^ and x^ + 0.0 is what the NumPy path adds (+0.0, as torch)."""
    return np.full(m, fill, dtype) if a is None else np.ascontiguousarray(a.reshape(-1))


def _channel_groups(shape: tuple, k: int, *params) -> int | None:
    """G where x is group_norm's (..., G, C / G, S) and each given weight or bias (G, C / G, 1):
    one value per channel along its positions; else None."""
    if k != 2 or len(shape) < 3 or all(a is None for a in params):
        return None
    want = (shape[-3], shape[-2], 1)
    return shape[-3] if all(a is None or a.shape == want for a in params) else None


def _group_or_layer(compiled, direction: str, groups: int | None) -> tuple:
    """(kernel, extra arguments): group_norm's, which takes the group count after layer norm's
    arguments, or layer norm's."""
    if groups is None:
        return getattr(compiled, "layer_norm_" + direction), ()
    return getattr(compiled, "group_norm_" + direction), (groups,)


def _layer_norm_forward_compiled(compiled, x, x2, k, w, b, eps, groups=None):
    r, m = x2.shape
    out, rstd, moments = np.empty_like(x2), np.empty(r, x.dtype), np.empty((r, 3))
    size = m if groups is None else w.size if w is not None else b.size  # (per channel: C)
    wv, bv = _affine(w, size, x.dtype, 1.0), _affine(b, size, x.dtype, 0.0)
    limit, correct = float(np.finfo(x.dtype).max), x.dtype == np.float64

    # group_norm: a weight per channel along its positions, the group count last
    kernel, extra = _group_or_layer(compiled, "forward", groups)

    def part(lo: int, hi: int) -> bool:
        return kernel(x2, wv, bv, eps, limit, correct, out, rstd, moments, lo, hi, *extra)

    if not all(each_part(part, r, _workers(x2.size))):
        return None  # a non-finite value or an overflow: the general path
    shape = x.shape[: x.ndim - k] + (1,) * k
    return out.reshape(x.shape), Normalized(x, x2, moments), rstd.reshape(shape)


# The compiled layer-norm backward sums the weight and bias gradients over fixed blocks of this
# many rows, then adds the blocks' sums in order: the same bits for any number of threads.
_COMPILED_BLOCK_ROWS = 256


def _layer_norm_backward_compiled(compiled, g2, xhat, rstd, w, needs, shape, k, groups=None):
    r, m = xhat.rows.shape
    blocks = -(-r // _COMPILED_BLOCK_ROWS)
    size = m if groups is None else shape[-3] * shape[-2]  # (per channel: C)
    dw, db = np.empty((blocks, size)), np.empty((blocks, size))
    dx = np.empty_like(g2) if needs[0] else np.empty((0, m), g2.dtype)
    wv = _affine(w, size, g2.dtype, 1.0)
    rs = np.ascontiguousarray(rstd.reshape(-1))
    correct = g2.dtype == np.float64

    kernel, extra = _group_or_layer(compiled, "backward", groups)

    def part(lo: int, hi: int) -> None:
        kernel(
            g2,
            xhat.rows,
            xhat.moments,
            rs,
            wv,
            correct,
            dx,
            bool(needs[0]),
            dw,
            db,
            _COMPILED_BLOCK_ROWS,
            lo,
            hi,
            *extra,
        )

    each_part(part, blocks, _workers(g2.size))
    last = shape[len(shape) - k :] if groups is None else (shape[-3], shape[-2], 1)
    return (
        dx.reshape(shape) if needs[0] else None,
        dw.sum(axis=0).astype(g2.dtype).reshape(last) if needs[1] else None,
        db.sum(axis=0).astype(g2.dtype).reshape(last) if needs[2] else None,
    )


def layer_norm_backward(g: np.ndarray, xhat, rstd: np.ndarray, w, k: int, needs, pshape=None):
    """(dL/dx, dL/dw, dL/db) (None where not needed) as ``LayerNorm.backward`` forms them,
    ``(d - mean d - x^ mean(d x^)) / sigma`` with d = g w, or None when g is not contiguous.
    dL/dx's rows run in blocks, as the forward's. ``pshape``: the weight's and bias's shape
    where it is not the last k dims' (see layer_norm_forward)."""
    g2 = _rows(g, k)
    if g2 is None or g.dtype != xhat.dtype:
        return None
    per_row = pshape is None or tuple(pshape) == g.shape[g.ndim - k :]  # one weight every row
    groups = None if per_row else _channel_groups(g.shape, k, np.empty(pshape))
    usable = isinstance(xhat, Normalized) and (per_row or groups)
    compiled = _kernels_for(g, w) if usable else None
    if compiled is not None:
        return _layer_norm_backward_compiled(compiled, g2, xhat, rstd, w, needs, g.shape, k, groups)
    xhat = as_array(xhat)
    x2 = _rows(xhat, k)
    if x2 is None:
        return None
    r, m = x2.shape
    dx = dw = db = None
    if needs[0]:
        ones = np.ones(m, g.dtype)
        wv = None if w is None else w.reshape(-1) if per_row else None
        wr = _row_params(w, g.shape, k) if w is not None and not per_row else None
        last = g.shape[g.ndim - k :]
        rs = rstd.reshape(r, 1)
        dx2 = np.empty_like(g2)

        def part(lo: int, hi: int) -> None:
            gr, xr, d_x = g2[lo:hi], x2[lo:hi], dx2[lo:hi]
            if wr is not None:  # (a weight varying along leading dims: _row_params)
                d = (gr.reshape((hi - lo,) + last) * wr[lo:hi]).reshape(hi - lo, m)
            else:
                d = gr * wv if wv is not None else gr
            mean_d = (d @ ones) / m
            mean_dx = np.einsum("ij,ij->i", d, xr) / m
            np.subtract(d, mean_d.astype(d.dtype, copy=False)[:, None], out=d_x)
            # corrected by the mean of the residuals, as the forward's mean: the BLAS's sum of a
            # constant row can be an ulp off, and 1 / sigma = 1 / sqrt(eps) made d - mean d
            # -4.7e-6 where torch's graph gives 0 (fuzz seed 1956664464: group_norm of a
            # constant group)
            d_x -= ((d_x @ ones) / m).astype(d.dtype, copy=False)[:, None]
            mine = wv is not None or wr is not None  # (d is g w made here: its memory serves)
            t = np.multiply(
                xr, mean_dx.astype(d.dtype, copy=False)[:, None], out=d if mine else None
            )
            d_x -= t
            d_x *= rs[lo:hi]

        with np.errstate(over="ignore", invalid="ignore"):
            _each_block(part, r, m, _ROW_BLOCK_ELEMENTS)
        dx = dx2.reshape(g.shape)
    if not per_row:  # summed over the dims the parameters are broadcast along, as sum_to_size
        dw = _sum_to(g * xhat, pshape) if needs[1] else None
        return dx, dw, _sum_to(g, pshape) if needs[2] else None
    if needs[1]:
        dw = np.einsum("ij,ij->j", g2, x2).reshape(g.shape[g.ndim - k :])  # no (R, M) temporary
    if needs[2]:
        db = (np.ones(r, g.dtype) @ g2).reshape(g.shape[g.ndim - k :])
    return dx, dw, db


def _sum_to(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` summed over the dims that an array of ``shape`` is broadcast along, as the engine's
    sum_to_size sums a gradient (the sum that does not overflow from finite terms)."""
    lead = a.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    return _sum(a, dims, True).reshape(shape)


def sums(a: np.ndarray, dim: int) -> np.ndarray:
    """``a.sum(axis=dim, keepdims=True)``; along the last dim of contiguous rows as one product
    with a ones vector (softmax's denominators: 0.24 ms for 8192 rows of 64 with NumPy's
    reduction, 0.03 ms with the BLAS)."""
    if dim != a.ndim - 1 or not a.flags.c_contiguous or a.size == 0 or a.dtype.kind != "f":
        return a.sum(axis=dim, keepdims=True)
    return (a.reshape(-1, a.shape[-1]) @ np.ones(a.shape[-1], a.dtype)).reshape(a.shape[:-1] + (1,))


def dot(a: np.ndarray, b: np.ndarray, dim: int, wide: type) -> np.ndarray:
    """``(a * b).sum(axis=dim, keepdims=True)`` with the products and their sum in ``wide``
    (float32 products are exact in float64), as one ``einsum`` over contiguous rows when ``dim``
    is the last: no full-size float64 temporary (softmax's backward, 0.58 -> 0.31 ms)."""
    rows_ok = dim == a.ndim - 1 and a.shape == b.shape and a.size
    if not (rows_ok and a.flags.c_contiguous and b.flags.c_contiguous):
        return (a.astype(wide) * b).sum(axis=dim, keepdims=True)
    n = a.shape[-1]
    rows = np.einsum("ij,ij->i", a.reshape(-1, n).astype(wide), b.reshape(-1, n))
    return rows.reshape(a.shape[:-1] + (1,))


def channels_first_2d(x: np.ndarray) -> np.ndarray | None:
    """A (C, M) view of x (N, C, ...) with channel c's values in row c, when x's memory allows
    one (NCHW memory does not; the batch-innermost memory a convolution returns does), else None.
    The order of the values within a row does not matter for a per-channel statistic."""
    return _aligned_rows(x, x)


def _aligned_rows(a: np.ndarray, like: np.ndarray) -> np.ndarray | None:
    """``a``'s (C, M) view with its values in the order of ``like``'s channel rows, or None."""
    rest = sorted(range(like.ndim), key=lambda i: (i != 1, -like.strides[i]))
    t = a.transpose(rest)
    return t.reshape(a.shape[1], -1) if t.flags.c_contiguous else None


def batch_norm_forward(x: np.ndarray, w, b, eps: float):
    """(out, x^, mean, var, 1 / sigma) per channel, the last three of shape (C,), x^ an array
    or (compiled) a ``Normalized``, as
    ``BatchNorm.forward`` computes them (mean of the row corrected by the mean of the residuals,
    x - mean, mean of its squares), or
    None: no channel-rows layout, or a mean or variance that overflowed (the general path)."""
    rows = channels_first_2d(x) if x.dtype.kind == "f" and x.size else None
    if rows is None:
        return None
    c = x.shape[1]
    out = np.empty_like(x)
    o_rows = _aligned_rows(out, x)
    if o_rows is None:
        return None
    mean, var, rstd = np.empty(c, x.dtype), np.empty(c, x.dtype), np.empty(c, x.dtype)
    compiled = _kernels_for(x, w, b)
    if compiled is not None:
        wc, bc = _affine(w, c, x.dtype, 1.0), _affine(b, c, x.dtype, 0.0)
        limit, correct = float(np.finfo(x.dtype).max), x.dtype == np.float64
        moments = np.empty((c, 3))

        def rows_of(lo: int, hi: int) -> bool:
            return compiled.batch_norm_forward(
                rows, wc, bc, eps, limit, correct, o_rows, mean, var, rstd, moments, lo, hi
            )

        if not all(each_part(rows_of, c, _workers(x.size))):
            return None
        return out, Normalized(x, rows, moments, channels=True), mean, var, rstd
    xhat = np.empty_like(x)
    h_rows = _aligned_rows(xhat, x)
    assert h_rows is not None  # (empty_like keeps x's memory order)
    wv = None if w is None else w.reshape(-1, 1)
    bv = None if b is None else b.reshape(-1, 1)
    acc = np.float32 if x.dtype == np.float16 else None  # a float16 sum overflows at 65504

    def part(lo: int, hi: int) -> None:
        r, h = rows[lo:hi], h_rows[lo:hi]
        # the mean corrected by the mean of the residuals (two quick einsum sums in place of
        # NumPy's slower mean): a float32 sum of a few values near 1.4 left the mean ulps off,
        # which x - mean = 0.08 made 2e-6 and the bias cancelling w x^ 1e-5 where torch, whose
        # statistics are in double, is 2e-6 (fuzz seed 1925132378)
        m = r.shape[1]
        mean[lo:hi] = np.einsum("ij->i", r, dtype=acc) / m
        np.subtract(r, mean[lo:hi, None], out=h)
        s = np.einsum("ij->i", h, dtype=acc) / m
        h -= s[:, None]
        mean[lo:hi] += s
        o = o_rows[lo:hi]
        if acc is None:
            var[lo:hi] = _row_dots(h, h) / m
        else:  # float16: squares summed in float32
            var[lo:hi] = np.multiply(h, h, out=o).mean(axis=1, dtype=acc)
        rstd[lo:hi] = 1.0 / np.sqrt(var[lo:hi] + eps)
        h *= rstd[lo:hi, None]
        if wv is not None:
            np.multiply(h, wv[lo:hi], out=o)
        else:
            o[...] = h
        o += bv[lo:hi] if bv is not None else 0.0  # +0.0, as torch (see BatchNorm.forward)

    with np.errstate(over="ignore", invalid="ignore"):
        _each_block(part, c, rows.shape[1], _BLOCK_ELEMENTS, shared=True)
    if not (np.isfinite(mean).all() and (rstd > 0).all()):
        return None
    return out, xhat, mean, var, rstd


class Normalized:
    """A normalization's x^ that the compiled forward did not store (it writes only the output,
    as torch's kernels do): x's rows (a layer norm's, or a batch norm's channels) and each row's
    float64 mean, correction and 1 / sigma (``moments``). The compiled backward forms x^ from
    them row by row, and ``array()`` forms it whole (in NumPy) for the general path: the
    forward's formula and bits both ways. The node keeps x anyway (its input), so a step holds
    one activation less per normalization (bench/bench_models.py's ResNet: nine, its
    Transformer: four; step memory 56 -> 45 and 46 -> 42 MiB)."""

    def __init__(
        self, x: np.ndarray, rows: np.ndarray, moments: np.ndarray, channels: bool = False
    ) -> None:
        self.x, self.rows, self.moments, self.channels = x, rows, moments, channels
        self.shape, self.dtype = x.shape, x.dtype

    def array(self) -> np.ndarray:
        # the kernel's float64 arithmetic, one operation at a time, then T's rounding: its bits
        mu, c, r = (self.moments[:, k : k + 1] for k in range(3))
        xhat = np.empty_like(self.x)
        # (a layer norm's rows are x's C-order rows, a batch norm's its channels in memory)
        rows = xhat.reshape(self.rows.shape) if self.x.flags.c_contiguous else None
        rows = _aligned_rows(xhat, self.x) if self.channels else rows
        assert rows is not None  # (empty_like keeps x's memory order)
        rows[...] = ((self.rows.astype(np.float64) - mu) - c) * r
        return xhat


def as_array(xhat) -> np.ndarray:
    """A saved x^ as an array (``Normalized.array()`` where the compiled forward kept none)."""
    return xhat.array() if isinstance(xhat, Normalized) else xhat


def batch_norm_backward(g: np.ndarray, xhat, rstd: np.ndarray, w, need_x: bool):
    """(dL/dx or None, dL/dw, dL/db) per channel as ``BatchNorm.backward`` forms them,
    ``(g - db / M - x^ dw / M) w / sigma`` with db = sum g and dw = sum g x^ over the channel,
    or None when g's memory is not in x^'s order of channel rows. In torch's order: db summed
    in float64 (torch's accumulator for float32) and divided, so that a g constant along a
    channel gives g - db / M = 0 exactly, as torch (fuzz seed 601021626: g = -0.1706 on a
    3-element channel, (db + x^ dw) / M left 2.3e-7, which normalize's 1 / eps amplified)."""
    like = xhat.x if isinstance(xhat, Normalized) else xhat  # (its memory order)
    g_rows, x_rows = _aligned_rows(g, like), channels_first_2d(like)
    if g_rows is None or x_rows is None or g.dtype != xhat.dtype:
        return None
    c, m = x_rows.shape
    db, dw = np.empty(c, g.dtype), np.empty(c, g.dtype)
    dx = np.empty_like(like) if need_x else None
    d_rows = _aligned_rows(dx, like) if dx is not None else None
    if need_x and d_rows is None:
        return None
    scale = rstd.reshape(-1) if w is None else rstd.reshape(-1) * w.reshape(-1)
    compiled = _kernels_for(g, w) if isinstance(xhat, Normalized) else None
    if compiled is not None:
        d = d_rows if d_rows is not None else np.empty((0, m), g.dtype)
        scale = np.ascontiguousarray(scale, g.dtype)
        moments = xhat.moments

        def rows_of(lo: int, hi: int) -> None:
            compiled.batch_norm_backward(
                g_rows, xhat.rows, moments, scale, need_x, d, dw, db, lo, hi
            )

        each_part(rows_of, c, _workers(g.size))
        return dx, dw, db
    if isinstance(xhat, Normalized):  # (numba gone since the forward: x^ formed whole)
        x_rows = channels_first_2d(xhat.array())
        assert x_rows is not None

    def part(lo: int, hi: int) -> None:
        gr, xr = g_rows[lo:hi], x_rows[lo:hi]
        # (einsum's float64 sum of float32 rows: 0.19 -> 0.16 ms for 16 rows of 32768)
        wide = np.einsum("ij->i", gr, dtype=np.float64) if g.dtype == np.float32 else gr.sum(1)
        db[lo:hi] = wide
        dw[lo:hi] = _row_dots(gr, xr) if g.dtype.itemsize >= 4 else (gr * xr).sum(axis=1)
        if d_rows is not None:
            d = d_rows[lo:hi]
            np.subtract(gr, (wide / m).astype(g.dtype)[:, None], out=d)  # g - mean g first
            d -= xr * (dw[lo:hi, None] / m)
            d *= scale[lo:hi, None]

    with np.errstate(over="ignore", invalid="ignore"):
        _each_block(part, c, m, _BLOCK_ELEMENTS, shared=True)
    return dx, dw, db
