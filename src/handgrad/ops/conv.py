"""Convolutions: three primitives that are one another's derivatives, ``conv2d``,
``conv_transpose2d`` and ``conv2d_weight``, and the functions users call (PyTorch's names and
arguments): ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``. The 1-D functions
run the 2-D primitives on a height-1 image.

The arithmetic, written for one spatial axis (the second is the same, with pairs for ``y``, ``t``).
An input ``x`` of length H is padded by ``(lo, hi)`` zeros, ``xp[m] = x[m - lo]``; a kernel of k
taps
with dilation d slides with stride s:

    out[n, o, y] = b[o] + sum_{c, t} w[o, c, t] xp[n, g(o) Cg + c, y s + t d]        0 <= y < Ho

with ``Ho = floor((H + lo + hi - (k - 1) d - 1) / s) + 1``, ``Cg = C / groups`` input channels per
group and ``g(o)`` the group of output channel o (a cross-correlation, as in every framework).

Derivatives (out is linear in x and linear in w):

- ``d out[y] / d x[m] = w[t]`` for every (y, t) with ``y s + t d - lo = m``, so
  ``dL/dx[m] = sum_{y s + t d - lo = m} g[y] w[t]``: each ``g[y]`` scatters a copy of the kernel to
  the positions its window read. That is the *transposed convolution* of g with the same weight,
  stride and dilation, cropped by the padding: ``dL/dx = conv_transpose2d(g, w)``.
- ``dL/dw[o, c, t] = sum_{n, y} g[n, o, y] xp[n, c, y s + t d]``: the correlation of the padded
  input with g, ``conv2d_weight(x, g)``.
- ``dL/db[o] = sum_{n, y} g[n, o, y]``.

The transposed convolution is the adjoint of the convolution, ``<conv(x, w), G> = <x, convT(G, w)>``
for all x and G. Differentiating that identity gives its derivatives: ``d convT(g, w) / dg`` applied
to G is ``conv(G, w)`` (the crop becomes the padding), and ``dL/dw = conv2d_weight(G, g)``.
``conv2d_weight(x, g)`` is bilinear, ``<W, conv2d_weight(x, g)> = <conv(x, W), g>``, so its
derivatives are ``convT(g, W)`` for x and ``conv(x, W)`` for g. The three primitives are closed
under differentiation, so every order of derivative exists.

A transposed convolution's output of full length ``F = (Hi - 1) s + (k - 1) d + 1`` is cropped by
``(lo, hi)``: PyTorch's ``padding`` p and ``output_padding`` q are ``(p, p - q)``. A negative crop
extends the output with zeros; a negative padding of a convolution crops its input. The public
functions never make these, the derivatives do (the rows a strided convolution never read get a
zero gradient).

Layout. Inside, images are *batch-innermost*, (C, H, W, N) in memory. Then the window view
(``sliding_window_view``) of a stride-1 convolution has contiguous runs of ``Wo * N`` floats, the
im2col matrix ``(C kh kw, Ho Wo N)`` is a copy, the forward and both gradients are matrix
products (a batched one per group), and col2im is ``kh kw`` slice additions whose inner run is
again ``Wo * N`` floats. The im2col matrix is never built whole: it is copied and multiplied a
band of output rows at a time, about 1 MiB, so that the product reads it from cache
(``_BAND_BYTES``). The input gradient of a stride-1 convolution is computed as the convolution it
equals (flipped kernel, channel axes swapped, g padded by ``(k - 1) d - lo``), a strided one's as
the transposed convolution. The results are returned as NCHW views of that memory (no copy), so the
next convolution, a ReLU or a pooling layer keeps the layout for free; NumPy's element-wise
operations preserve it. Measured on this machine (1 thread) against channels-first and
channels-last im2col, this layout was the fastest for every convolution of the LeNet and
64x3x32x32 benchmarks (bench/bench_conv.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._tensor_base import lift
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .blas import blas_threads, each_part, side_by_side

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


Pair = tuple  # (h, w)
Pads = tuple  # ((top, bottom), (left, right)); negative = crop


# ---- the NumPy kernels (arrays in, arrays out) ------------------------------------------------


def _pad_crop(a: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """``a`` of shape (C, H, W, N) padded with ``value`` (positive widths) or cropped (negative
    widths). A view when nothing is padded."""
    (t, b), (l, r) = pads
    _, h, w, _ = a.shape
    a = a[:, max(-t, 0) : max(h - max(-b, 0), 0), max(-l, 0) : max(w - max(-r, 0), 0)]
    t, b, l, r = max(t, 0), max(b, 0), max(l, 0), max(r, 0)
    if not (t or b or l or r):
        return a
    c, h, w, n = a.shape
    # only the border is filled: np.full wrote every element once more than the copy does
    out = np.empty((c, h + t + b, w + l + r, n), dtype=a.dtype)

    def channels(lo: int, hi: int) -> None:
        o = out[lo:hi]
        o[:, :t] = value
        o[:, t + h :] = value
        o[:, t : t + h, :l] = value
        o[:, t : t + h, l + w :] = value
        o[:, t : t + h, l : l + w] = a[lo:hi]

    # shared among the BLAS pool's threads when large, as the bands that read it: alone it was
    # a sixth of a 16-channel 32 x 32 layer's forward at two threads (0.19 of 1.5 ms)
    each_part(channels, c, blas_threads() if a.size >= _PARALLEL_ELEMENTS else 1)
    return out


def _chwn(a: np.ndarray) -> np.ndarray:
    """A (N, C, H, W) array's values as a contiguous (C, H, W, N) array (a view when its memory is
    already batch-innermost). From NCHW memory, the transposition is done 8 images at a time:
    NumPy's one-call copy walks the destination with a stride of C H W floats in the source and
    is 2.5x slower for the 64 x 32 x 32 x 32 gradient of the benchmark."""
    t = a.transpose(1, 2, 3, 0)
    if t.flags.c_contiguous:
        return t
    out = np.empty(t.shape, a.dtype)
    if not a.flags.c_contiguous:
        np.copyto(out, t)
        return out
    n = a.shape[0]
    rows, flat = a.reshape(n, -1), out.reshape(-1, n)
    for i in range(0, n, 8):
        flat[:, i : i + 8] = rows[i : i + 8].T
    return out


def _out_len(size: int, k: int, s: int, d: int) -> int:
    return (size - (k - 1) * d - 1) // s + 1


# The im2col matrix is built and multiplied a band of output rows at a time, a band of about this
# many bytes, so that a band is still in the core's cache (1 MiB of L2 here) when its matrix
# product reads it. Built whole (19 MB for a 16-channel 32 x 32 layer at batch 32) and then
# multiplied, both the copy and the product ran from memory: 9.6 ms against 4.7 ms banded for
# that layer, 1 thread (bench/bench_conv.py).
_BAND_BYTES = 1 << 20


def _windows(xc: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, pads: Pads):
    """The windows of ``xc`` (C, H, W, N) padded by ``pads``, a view (no copy)
    ``win[c, i, j, y, x, n] = xp[c, y sh + i dh, x sw + j dw, n]``, and (Ho, Wo)."""
    if xc.strides[3] != xc.itemsize and xc.shape[3] > 1:
        # A batch-outermost input (a user's NCHW array): one transposing copy first, so the
        # window copies read runs of Wo * N floats instead of single floats.
        xc = _chwn(xc.transpose(3, 0, 1, 2))
    xp = _pad_crop(xc, pads)
    _, hp, wp, _ = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    ho, wo = _out_len(hp, kh, sh, dh), _out_len(wp, kw, sw, dw)
    win = sliding_window_view(xp, (eh, ew), axis=(1, 2))[:, ::sh, ::sw, :, ::dh, ::dw]
    return win.transpose(0, 4, 5, 1, 2, 3), (ho, wo)


def _band_rows(rows: int, row_bytes: int) -> int:
    return max(1, min(rows, _BAND_BYTES // max(row_bytes, 1)))


# Below this many im2col elements (1 MiB of float32) a convolution's bands stay on the calling
# thread: handing half of them to a second thread costs tens of microseconds. At 1 << 20 the
# ResNet's stem and its 32 -> 64 stride-2 layer ran on one thread; shared, 0.89 -> 0.63 and
# 1.22 -> 0.97 ms forward (2 threads, bench/bench_models.py's shapes).
_PARALLEL_ELEMENTS = 1 << 18


def _col_bands(win: np.ndarray, starts: Sequence[int], step: int):
    """Yield ``(y0, y1, cols)`` for the bands of output rows that start at ``starts``: ``cols``
    (C kh kw, (y1 - y0) Wo N) is the im2col matrix of rows y0 <= y < y1, ``cols[(c, i, j), (y, x,
    n)] = win[c, i, j, y, x, n]``, in one buffer reused by every band (consume it before the
    next)."""
    c, kh, kw, ho, wo, n = win.shape
    k, per_row = c * kh * kw, wo * n
    buf = np.empty(k * step * per_row, win.dtype)
    for y0 in starts:
        y1 = min(ho, y0 + step)
        cols = buf[: k * (y1 - y0) * per_row].reshape(c, kh, kw, y1 - y0, wo, n)
        np.copyto(cols, win[:, :, :, y0:y1])
        yield y0, y1, cols.reshape(k, (y1 - y0) * per_row)  # sizes given: k may be 0


def _each_band(win: np.ndarray, body: Any, parallel: bool = True) -> list:
    """``[body(y0, y1, cols) for each band]`` (see ``_col_bands``), in band order whatever the
    threads (so sums of the results round alike); ``body`` may only write rows y0..y1 of shared
    arrays. Every band's product runs on one BLAS thread: the products are small (a 16 x 144 by
    144 x 1024 one for a 16-channel layer), and two BLAS threads made a ResNet layer 1.8x slower.
    With a BLAS pool of more than one thread (``set_num_threads``) and ``parallel``, the bands
    are shared among that many Python threads instead, each with its own buffer: NumPy's copies
    and products release the GIL, and a band gains more from a core of its own."""
    c, kh, kw, ho, wo, n = win.shape
    step = _band_rows(ho, c * kh * kw * wo * n * win.itemsize)
    starts = range(0, ho, step)
    big = parallel and c * kh * kw * ho * wo * n >= _PARALLEL_ELEMENTS
    workers = blas_threads() if big else 1

    def run(lo: int, hi: int) -> list:
        return [body(y0, y1, cols) for y0, y1, cols in _col_bands(win, starts[lo:hi], step)]

    return [r for part in each_part(run, len(starts), workers) for r in part]


def _col2im_add(
    out: np.ndarray, cols: np.ndarray, row0: int, stride: Pair, dilation: Pair, crop: Pads
) -> None:
    """The adjoint of the im2col copy, for a band of input rows starting at ``row0``: ``cols``
    (C, kh, kw, Hb, Wi, N) holds the contributions of input position (row0 + y, x) through tap
    (i, j); they are added to ``out[c, (row0 + y) sh + i dh - lo, x sw + j dw - left]``, ``out``
    (C, Ho, Wo, N), those outside it dropped (the crop). One slice addition per tap."""
    _, kh, kw, hb, wi, _ = cols.shape
    _, ho, wo, _ = out.shape
    sh, sw = stride
    rows = [_tap_span(row0 * sh + i * dilation[0] - crop[0][0], sh, hb, ho) for i in range(kh)]
    spans = [_tap_span(j * dilation[1] - crop[1][0], sw, wi, wo) for j in range(kw)]
    for i, rs in enumerate(rows):
        if rs is None:
            continue
        y0, ny, m0 = rs
        for j, cs in enumerate(spans):
            if cs is None:
                continue
            x0, nx, p0 = cs
            out[:, m0 : m0 + (ny - 1) * sh + 1 : sh, p0 : p0 + (nx - 1) * sw + 1 : sw] += cols[
                :, i, j, y0 : y0 + ny, x0 : x0 + nx
            ]


def _weight_grad_valid(
    xc: np.ndarray, g4: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, pads: Pads, groups
) -> np.ndarray:
    """``conv2d_weight`` summed over the input positions only, never over the padding: for xc
    (C, H, W, N) and g4 (O, Ho, Wo, N), tap (i, j) pairs output row y with input row
    ``y sh + i dh - lo`` where that row exists. Equal to the im2col product when everything is
    finite; used when that product is not, because there an infinite g times a padding zero gave
    NaN where PyTorch's weight gradient, which skips the padding, is finite. The products are
    summed in a wider float (float64 for float32, long double for float64) and rounded once: a
    sum whose terms near the largest float cancel is finite where it exactly is, where the
    dtype's BLAS order can meet inf - inf = NaN (fuzz seed 1521067179: float32 x holding 3.4e38,
    exact -1.9e38, torch's -1.9e38, handgrad's NaN)."""
    c, h, w, n = xc.shape
    o, ho, wo, _ = g4.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    cg, og = c // groups, o // groups
    gw = np.zeros((o, cg, kh, kw), np.result_type(xc, g4))
    wide = np.float64 if gw.dtype.itemsize <= 4 else np.longdouble
    for i in range(kh):
        rs = _tap_span(i * dh - pads[0][0], sh, ho, h)
        for j in range(kw):
            cs = _tap_span(j * dw - pads[1][0], sw, wo, w)
            if rs is None or cs is None:
                continue
            (y0, ny, m0), (x0, nx, p0) = rs, cs
            gs = g4[:, y0 : y0 + ny, x0 : x0 + nx].reshape(groups, og, ny * nx * n)
            xs = xc[:, m0 : m0 + (ny - 1) * sh + 1 : sh, p0 : p0 + (nx - 1) * sw + 1 : sw]
            xs = xs.reshape(groups, cg, ny * nx * n).astype(wide)
            with np.errstate(over="ignore", invalid="ignore"):  # beyond the dtype's range: inf
                prod = np.matmul(gs.astype(wide), xs.transpose(0, 2, 1))
                gw[:, :, i, j] = prod.reshape(o, cg)
    return gw


def _tap_span(offset: int, s: int, n_in: int, n_out: int):
    """For a tap that sends input y to output ``y s + offset``: the first input, the count and the
    first output position that land inside [0, n_out), or None."""
    y0 = max(0, -(offset // s))  # ceil(-offset / s)
    y1 = min(n_in - 1, (n_out - 1 - offset) // s)
    if y1 < y0:
        return None
    return y0, y1 - y0 + 1, y0 * s + offset


def _conv_full_len(h_in: int, k: int, s: int, d: int) -> int:
    return (h_in - 1) * s + (k - 1) * d + 1


# ---- primitives -------------------------------------------------------------------------------


class Conv2d(Function):
    """out = conv(x, w) + b for x (N, C, H, W), w (O, C / groups, kh, kw), b (O,); see the module
    docstring for the formula and its derivatives:

        dL/dx = conv_transpose2d(g, w)   dL/dw = conv2d_weight(x, g)   dL/db = sum of g over n, y, x

    Gradients are computed only for the inputs that need them (the first layer's image does not).
    """

    name = "conv2d"

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        n = x.shape[0]
        o, cg, kh, kw = w.shape
        win, (ho, wo) = _windows(x.transpose(1, 2, 3, 0), (kh, kw), stride, dilation, padding)
        out = np.empty((o, ho, wo, n), np.result_type(x, w))
        wg = w.reshape(groups, o // groups, cg * kh * kw)
        # PyTorch's float64 kernel (MKL's dgemm) writes the products w * x themselves, not +0 plus
        # them, when each output sums a single product (one input channel per group, a 1x1 kernel,
        # no dilation, no bias) and a group has two or more output channels; so a padding zero
        # times a negative weight is -0.0 there, and +0.0 in every other case.
        products = (
            out.dtype == np.float64
            and b is None
            and cg * kh * kw == 1
            and dilation == (1, 1)
            and o // groups >= 2
        )

        def band(y0: int, y1: int, cols: np.ndarray) -> None:
            length = cols.shape[1]  # sizes spelled out: NumPy cannot infer -1 from 0 elements
            dst = out[:, y0:y1].reshape(o, length)  # a view: rows y0..y1 of every output channel
            if products:
                np.multiply(
                    wg, cols.reshape(groups, 1, length), out=dst.reshape(wg.shape[:2] + (length,))
                )
            elif groups == 1:
                np.matmul(wg[0], cols, out=dst)
            else:
                product = np.matmul(wg, cols.reshape(groups, cg * kh * kw, length))
                dst[...] = product.reshape(o, length)

        _each_band(win, band)
        if b is not None:
            out += b[:, None, None, None]
        return out.transpose(3, 0, 1, 2)

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        nx, nw = self.needs_input_grad[:2]
        gx = gw = gb = None
        if nx and nw and not g._requires_grad:
            # Both gradients read g batch-innermost: transpose a user's NCHW g once, not twice
            # (a constant g: no graph runs through it).
            g = Tensor._wrap(_chwn(g._data).transpose(3, 0, 1, 2))

        o, cg, kh, kw = w.shape
        # stride 1 and enough input channels: the input gradient as a convolution; with few (3
        # or 8: its product would have 3 or 8 rows) the transposed one was faster (1.5x at 3),
        # with one group. With groups the transposed one is a batch of outer products and
        # scatters: the convolution was 1.9-4.8x faster (depthwise 3x3 64 channels at 16 x 16
        # 8.4 -> 1.7 ms; 1 to 8 channels a group), only a 1x1 depthwise one 1.07x slower.
        as_convolution = self.stride == (1, 1) and (cg >= 16 or self.groups > 1)

        def input_grad() -> Tensor:
            if as_convolution:
                return _input_grad_stride1(g, w, self.dilation, self.padding, self.groups)
            return ConvTranspose2d.apply(
                g,
                w,
                stride=self.stride,
                dilation=self.dilation,
                groups=self.groups,
                padding=_adjoint_crop(
                    x.shape[2:], w.shape[2:], self.stride, self.dilation, self.padding
                ),
            )

        def weight_grad() -> Tensor:
            return Conv2dWeight.apply(
                x,
                g,
                kernel_size=w.shape[2:],
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
            )

        if (
            nx
            and nw
            and not is_grad_enabled()
            and as_convolution
            and (o // self.groups) * kh * kw > 1  # (else the input gradient forms products)
            and g.dtype in (np.float32, np.float64)
            and g.dtype == x.dtype == w.dtype
        ):
            gx, gw = (
                Tensor._wrap(a)
                for a in _gradients_stride1(
                    g._data, x._data, w._data, self.dilation, self.padding, self.groups
                )
            )
        elif nx and nw and not is_grad_enabled():
            # Independent: each on a core of its own when the BLAS pool has two threads.
            gx, gw = side_by_side(input_grad, weight_grad)
        else:
            gx = input_grad() if nx else None
            gw = weight_grad() if nw else None
        if len(self.inputs) == 3:
            gb = g.sum(dim=(0, 2, 3)) if self.needs_input_grad[2] else None
            return gx, gw, gb
        return gx, gw


def _input_grad_stride1(g: Tensor, w: Tensor, dilation: Pair, pads: Pads, groups: int) -> Tensor:
    """dL/dx of a stride-1 convolution, ``conv_transpose2d(g, w)`` cropped by the padding, as the
    convolution it equals: ``dL/dx[m] = sum_t g[m + lo - t d] w[t] = sum_t gp[m + t d] w'[t]``
    with the kernel flipped, ``w'[t] = w[k - 1 - t]``, its two channel axes swapped (per group),
    and g padded by ``((k - 1) d - lo, (k - 1) d - hi)`` (a negative pad crops). Same values;
    one im2col copy per band instead of the transposed convolution's k^2 scattered additions
    (bench/bench_models.py: the ResNet's input gradients ran 1.4x faster this way)."""
    o, cg, kh, kw = w.shape
    og = o // groups
    wt = w.reshape(groups, og, cg, kh, kw).permute(0, 2, 1, 3, 4).reshape(groups * cg, og, kh, kw)
    wt = wt.flip((2, 3))
    pad = _flipped_pads((kh, kw), dilation, pads)
    return Conv2d.apply(g, wt, stride=(1, 1), padding=pad, dilation=dilation, groups=groups)


def _flipped_pads(kernel: Pair, dilation: Pair, pads: Pads) -> Pads:
    """g's padding in the convolution that is a stride-1 convolution's input gradient,
    ``((k - 1) d - lo, (k - 1) d - hi)`` per axis (a negative pad crops)."""
    return tuple(
        ((k - 1) * d - lo, (k - 1) * d - hi) for k, d, (lo, hi) in zip(kernel, dilation, pads)
    )


def _gradients_stride1(
    g: np.ndarray, x: np.ndarray, w: np.ndarray, dilation: Pair, pads: Pads, groups: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dx, dL/dw) of a stride-1 convolution, without a graph, from one
    im2col copy of g per band instead of one of g and one of x. The input gradient is
    ``_input_grad_stride1``'s convolution, G W' with G the im2col matrix of g padded by
    ``((k - 1) d - lo, (k - 1) d - hi)``, ``G[(o, i', j'), m] = g[o, m + i' d - (k - 1) d + lo]``
    (m = (u, v, n) an input position). The weight gradient reads the same G:

        dL/dw[o, c, i, j] = sum_{n, y, x} g[n, o, y, x] x[n, c, y + i d - lo, x + j d - lo']
                          = sum_m x[c, m] g[o, m - (i d - lo, j d - lo')]   (m = the input position)
                          = sum_m G[(o, k - 1 - i, k - 1 - j), m] x[c, m]

    so dL/dw is ``G X^T`` with its taps flipped, X = x as (C, H W N), and the sum runs over the
    input positions only, never over x's padding (a padding zero is in G instead, as a zero of
    g's). The input gradient has the bits of ``_input_grad_stride1``'s (the same bands and
    products); the weight gradient sums in another order than ``Conv2dWeight``'s. Where it is not
    finite it is formed again by ``_weight_grad_valid`` (an inf of x times a padding zero of g
    gave NaN, where torch's is finite). bench/bench_models.py's ResNet layers, 1 thread, both
    gradients: 16 channels at 32 x 32 5.8 -> 4.5 ms, 32 at 16 x 16 4.1 -> 3.6 ms.

    With groups, each group's rows of G and of W' and its channels of x make the same two
    products (a depthwise 3x3 layer, 64 channels at 16 x 16, batch 32: forward and backward
    12.2 -> 4.8 ms at one thread, with ``_input_grad_stride1`` taking groups too)."""
    o, cg, kh, kw = w.shape
    og, c = o // groups, cg * groups
    g4, xc = _chwn(g), _chwn(x)
    win, (h, wd) = _windows(g4, (kh, kw), (1, 1), dilation, _flipped_pads((kh, kw), dilation, pads))
    # w' (groups, Cg, Og kh kw): flipped, its channel axes swapped, as _input_grad_stride1's
    wt = w[:, :, ::-1, ::-1].reshape(groups, og, cg, kh, kw).transpose(0, 2, 1, 3, 4)
    wt = np.ascontiguousarray(wt).reshape(groups, cg, og * kh * kw)
    gx = np.empty((c, h, wd, g4.shape[3]), np.result_type(g, w))

    def band(y0: int, y1: int, cols: np.ndarray) -> np.ndarray:
        length = cols.shape[1]
        colg = cols.reshape(groups, og * kh * kw, length)
        np.matmul(wt, colg, out=gx[:, y0:y1].reshape(groups, cg, length))
        xg = xc[:, y0:y1].reshape(groups, cg, length)
        with np.errstate(invalid="ignore", over="ignore"):  # (a NaN is formed again below)
            return np.matmul(colg, xg.transpose(0, 2, 1))  # (groups, Og kh kw, Cg): this band's

    acc = np.zeros((groups, og * kh * kw, cg), gx.dtype)
    for part in _each_band(win, band):  # in band order, whatever the threads
        acc += part
    gw = acc.reshape(o, kh, kw, cg)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    gw = np.ascontiguousarray(gw)
    if not np.isfinite(gw).all():
        gw = _weight_grad_valid(xc, g4, (kh, kw), (1, 1), dilation, pads, groups)
    return gx.transpose(3, 0, 1, 2), gw


class ConvTranspose2d(Function):
    """out = convT(y, w) + b for y (N, Cin, Hi, Wi), w (Cin, Cout / groups, kh, kw), b (Cout,):
    every input position scatters a copy of the kernel, weighted by its value, to
    ``m = i s + t d - lo`` (then cropped by ``padding``, pairs (lo, hi); see the module docstring).

        dL/dy = conv2d(g, w) with padding (lo, hi)   dL/dw = conv2d_weight(g, y)   dL/db = sum of g
    """

    name = "conv_transpose2d"

    def forward(self, y, w, b=None, *, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        n, cin, hi, wi = y.shape
        _, og, kh, kw = w.shape
        ig = cin // groups
        out_hw = tuple(
            _conv_full_len(size, k, s, d) - lo - hi_
            for size, k, s, d, (lo, hi_) in zip((hi, wi), (kh, kw), stride, dilation, padding)
        )
        dtype = np.result_type(y, w)
        out = np.zeros((og * groups, *out_hw, n), dtype)
        y4 = _chwn(y)
        wt = w.reshape(groups, ig, og * kh * kw).transpose(0, 2, 1)
        # A band of input rows at a time (see _BAND_BYTES): its columns are scattered while
        # they are still in cache.
        step = _band_rows(hi, og * groups * kh * kw * wi * n * dtype.itemsize)

        def channels(o0: int, o1: int) -> None:
            # output channels o0..o1 (groups == 1: rows o0 kh kw.. of wt), every band; the
            # scatters of neighbouring bands overlap in rows, those of channels never do
            ws = wt[:, o0 * kh * kw : o1 * kh * kw]
            for y0 in range(0, hi, step):
                y1 = min(hi, y0 + step)
                cols = np.matmul(ws, y4[:, y0:y1].reshape(groups, ig, (y1 - y0) * wi * n))
                cols = cols.reshape((o1 - o0) * groups, kh, kw, y1 - y0, wi, n)
                _col2im_add(out[o0:o1] if groups == 1 else out, cols, y0, stride, dilation, padding)

        big = groups == 1 and og >= 8 and cin * hi * wi * n * kh * kw >= _PARALLEL_ELEMENTS
        each_part(channels, og, blas_threads() if big else 1)
        if b is not None:
            out += b[:, None, None, None]
        return out.transpose(3, 0, 1, 2)

    def backward(self, g):
        y, w = self.inputs[0], self.inputs[1]
        ny, nw = self.needs_input_grad[:2]
        gy = gw = None
        if ny:
            gy = Conv2d.apply(
                g,
                w,
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
            )
        if nw:
            gw = Conv2dWeight.apply(
                g,
                y,
                kernel_size=w.shape[2:],
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
            )
        if len(self.inputs) == 3:
            gb = g.sum(dim=(0, 2, 3)) if self.needs_input_grad[2] else None
            return gy, gw, gb
        return gy, gw


class Conv2dWeight(Function):
    """out[o, c, t] = sum_{n, y} g[n, o, y] xp[n, g(o) Cg + c, y s + t d]: the weight gradient of
    a convolution, for x (N, C, H, W) and g (N, O, Ho, Wo) of the convolution's output shape.

    Bilinear: ``<W, out> = <conv2d(x, W), g>``, so
    ``dL/dx = conv_transpose2d(g, G)`` and ``dL/dg = conv2d(x, G)`` for the incoming gradient G.
    ``cols`` may pass x's im2col matrix when the caller already has it.
    """

    name = "conv2d_weight"

    def forward(self, x, g, *, kernel_size, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        xc = x.transpose(1, 2, 3, 0)
        win, _ = _windows(xc, kernel_size, stride, dilation, padding)
        o, cg = g.shape[1], x.shape[1] // groups
        k = cg * kernel_size[0] * kernel_size[1]
        g4 = _chwn(g)

        # (K, O) = cols @ g^T per band: this orientation of the product ran 1.3-1.5x faster than
        # g @ cols^T for the benchmark's layers (long L, small O and K).
        def band(y0: int, y1: int, cols: np.ndarray) -> np.ndarray:
            length = cols.shape[1]
            gb = g4[:, y0:y1].reshape(groups, o // groups, length)
            return np.matmul(cols.reshape(groups, k, length), gb.transpose(0, 2, 1))

        acc = np.zeros((groups, k, o // groups), np.result_type(x, g))
        for part in _each_band(win, band):
            acc += part
        gw = np.ascontiguousarray(acc.transpose(0, 2, 1)).reshape(o, cg, *kernel_size)
        if not np.isfinite(gw).all():
            # A non-finite sum may hold inf * 0 from the padding, which PyTorch never forms.
            gw = _weight_grad_valid(xc, g4, kernel_size, stride, dilation, padding, groups)
        return gw

    def backward(self, gg):
        x, g = self.inputs
        nx, ng = self.needs_input_grad
        gx = gg_ = None
        if nx:
            gx = ConvTranspose2d.apply(
                g,
                gg,
                stride=self.stride,
                dilation=self.dilation,
                groups=self.groups,
                padding=_adjoint_crop(
                    x.shape[2:], gg.shape[2:], self.stride, self.dilation, self.padding
                ),
            )
        if ng:
            gg_ = Conv2d.apply(
                x,
                gg,
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
            )
        return gx, gg_


def _adjoint_crop(
    size: Sequence[int], kernel: Sequence[int], stride: Pair, dilation: Pair, pads: Pads
) -> Pads:
    """The crop of the transposed convolution that is the adjoint of a convolution of an input of
    ``size`` with ``pads``: (lo, hi - r), where r rows at the end of the padded input were never
    read by a window (their gradient is zero)."""
    out = []
    for n, k, s, d, (lo, hi) in zip(size, kernel, stride, dilation, pads):
        padded = n + lo + hi
        used = _conv_full_len(_out_len(padded, k, s, d), k, s, d)
        out.append((lo, hi - (padded - used)))
    return tuple(out)


# ---- argument handling ------------------------------------------------------------------------


def _ntuple(op: str, what: str, value: Any, n: int, minimum: int) -> tuple:
    """``value`` (an int or a sequence of n ints) as an n-tuple of ints >= minimum."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * n
    else:
        try:
            out = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(
                f"{op}: {what} must be an int or a tuple of {n} ints, got {value!r}"
            ) from None
        if len(out) == 1:
            out = out * n
        if len(out) != n:
            raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in out):
        raise ValueError(f"{op}: {what} must be >= {minimum}, got {value!r}")
    return out


def _batched(op: str, x: Tensor, nd: int) -> tuple[Tensor, bool]:
    """(x with a batch dimension, whether one was added); checks the number of dimensions."""
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    raise RuntimeError(
        f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input {layout}, got an "
        f"input of shape {x.shape}"
    )


def _same_dtype(x: Tensor, *others: Tensor | None) -> list:
    dtype = np.result_type(x._data, *[o._data for o in others if o is not None])
    if dtype.kind not in "f":
        dtype = np.dtype(np.float32) if dtype.kind in "iub" else dtype
    return [None if t is None else (t if t.dtype == dtype else t.to(dtype)) for t in (x,) + others]


def _conv_padding(
    op: str, padding: Any, nd: int, kernel: tuple, dilation: tuple, stride: tuple
) -> tuple:
    """PyTorch's padding argument as (lo, hi) pairs: an int, a tuple, 'valid' or 'same' (which
    pads (k - 1) d in total, the odd unit at the end, and needs stride 1)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride})"
                )
            total = [(k - 1) * d for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(
            f"{op}: padding must be 'valid', 'same', an int or a tuple of {nd} ints, "
            f"got {padding!r}"
        )
    p = _ntuple(op, "padding", padding, nd, 0)
    return tuple((v, v) for v in p)


def _check_fits(op: str, x: Tensor, kernel: tuple, dilation: tuple, pads: tuple) -> None:
    spatial = x.shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    eff = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation))
    if any(e > p for e, p in zip(eff, padded)):
        dil = f" (dilated to {eff})" if eff != tuple(kernel) else ""
        raise RuntimeError(
            f"{op}: kernel size {tuple(kernel)}{dil} is larger than the padded input {padded} "
            f"(input shape {x.shape}, padding {tuple(p for p in pads)})"
        )


def _check_bias(op: str, bias: Tensor | None, channels: int) -> None:
    if bias is not None and bias.shape != (channels,):
        raise RuntimeError(
            f"{op}: bias has shape {bias.shape} but the convolution has {channels} output "
            f"channels (expected bias shape ({channels},))"
        )


def _to2d(nd: int, *pairs: tuple) -> list:
    """Lift 1-D geometry to the height-1 2-D geometry the primitives use."""
    if nd == 2:
        return list(pairs)
    return [((1,) if not isinstance(p[0], tuple) else ((0, 0),)) + p for p in pairs]


class EmptyBatchConvolution(Function):
    """out = 0, the scalar that ties a convolution's output over an empty batch to its input x,
    weight w and bias b (``empty_batch``). Its gradients are sums over the empty batch: dL/dx,
    dL/dw, dL/db are zeros of their shapes. torch forms them in one convolution_backward(g, x, w):
    recorded (create_graph), they require grad wherever g, x or w does (a gradient penalty on an
    empty batch is a graph, not an error), and their own derivative is undefined there: no path
    at all (``EmptyBatchConvolutionBackward``, expanded to each shape). Tied to g by a formula
    instead, the zeros of x and w met the NaN of a later step in a second derivative (0 * NaN;
    fuzz seeds 1711444431, 455506935). The bias's gradient, g summed, has a graph back to g as
    well (``empty_batch`` also ties the bias by b.sum() * 0)."""

    name = "empty_batch_convolution"
    uses_inputs = False

    def forward(self, x, *weights):
        return np.zeros((), x.dtype)

    def backward(self, g):
        zero = EmptyBatchConvolutionBackward.apply(g, *self.inputs)
        return tuple(
            zero.expand(t.shape) if need else None
            for t, need in zip(self.inputs, self.needs_input_grad)
        )


class EmptyBatchConvolutionBackward(Function):
    """out = 0: torch's convolution_backward(g, x, w) over an empty batch, a function of all
    three whose derivative torch leaves undefined (its double backward returns undefined
    gradients for an empty batch), so the derivative is None for every input: no path, as in
    torch. A scalar that the gradients expand, so that the engine, which gives the inputs of an
    empty output zeros without calling the backward, never reaches x or w through it (zeros
    there, times a later step's inf, were NaN where torch has no path)."""

    name = "empty_batch_convolution_backward"
    uses_inputs = False

    def forward(self, g, *saved):
        return np.zeros((), g.dtype)

    def backward(self, g):
        return (None,) * len(self.inputs)


def empty_batch(fn: Any) -> Any:
    """Let ``fn(op, nd, input, ...)`` (a convolution or pooling of nd spatial dims) take a batch
    of 0 (an empty last batch), as PyTorch does: the output shape is found on a probe batch of
    one zero example, and the result is an empty tensor of that shape, connected to every tensor
    argument with weight 0 (so their gradients are zeros, as torch's)."""

    @functools.wraps(fn)
    def wrapper(op: str, nd: int, input: Any, *args: Any, **kwargs: Any) -> Any:
        x = lift(input)
        if x.ndim != nd + 2 or x.shape[0] != 0:
            return fn(op, nd, input, *args, **kwargs)
        from ..autograd import no_grad

        probe = Tensor._wrap(np.zeros((1,) + x.shape[1:], x._data.dtype))
        others = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        with no_grad():
            out = fn(
                op,
                nd,
                probe,
                *[a.detach() if isinstance(a, Tensor) else a for a in args],
                **{k: a.detach() if isinstance(a, Tensor) else a for k, a in kwargs.items()},
            )
        outs = out if isinstance(out, tuple) else (out,)
        floats = [t for t in others if t._data.dtype.kind == "f"]
        if op.startswith("conv"):  # see EmptyBatchConvolution
            bias = args[1] if len(args) > 1 else None
            tie = EmptyBatchConvolution.apply(x, *floats)
            floats = [t for t in floats if t is bias]  # tied to g as well: g summed
        else:
            tie = x.sum() * 0
        for t in floats:
            tie = tie + t.sum() * 0
        empty = [Tensor._wrap(np.zeros((0,) + o.shape[1:], o._data.dtype)) for o in outs]
        empty[0] = empty[0] + tie.to(empty[0]._data.dtype)
        return tuple(empty) if isinstance(out, tuple) else empty[0]

    return wrapper


@empty_batch
def _convnd(
    op: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    x, w, b = lift(input), lift(weight), None if bias is None else lift(bias)
    x, w, b = _same_dtype(x, w, b)
    if w.ndim != nd + 2:
        shape = (
            "(out_channels, in_channels / groups, kW)"
            if nd == 1
            else "(out_channels, in_channels / groups, kH, kW)"
        )
        raise RuntimeError(f"{op}: weight must be {nd + 2}-D {shape}, got shape {w.shape}")
    x, unbatched = _batched(op, x, nd)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    o, cg = w.shape[:2]
    c = x.shape[1]
    if c != cg * groups:
        raise RuntimeError(
            f"{op}: input has {c} channels but weight expects {cg * groups} "
            f"(weight shape {w.shape}, groups={groups})"
        )
    if o % groups:
        raise RuntimeError(
            f"{op}: weight has {o} output channels, not divisible by groups={groups} "
            f"(weight shape {w.shape})"
        )
    _check_bias(op, b, o)
    kernel = w.shape[2:]
    s = _ntuple(op, "stride", stride, nd, 1)
    d = _ntuple(op, "dilation", dilation, nd, 1)
    pads = _conv_padding(op, padding, nd, kernel, d, s)
    _check_fits(op, x, kernel, d, pads)
    if nd == 1:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
    s2, d2, p2 = _to2d(nd, s, d, pads)
    args = (x, w) if b is None else (x, w, b)
    out = Conv2d.apply(*args, stride=s2, padding=p2, dilation=d2, groups=int(groups))
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


@empty_batch
def _conv_transposend(
    op: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Tensor:
    x, w, b = lift(input), lift(weight), None if bias is None else lift(bias)
    x, w, b = _same_dtype(x, w, b)
    if w.ndim != nd + 2:
        shape = (
            "(in_channels, out_channels / groups, kW)"
            if nd == 1
            else "(in_channels, out_channels / groups, kH, kW)"
        )
        raise RuntimeError(f"{op}: weight must be {nd + 2}-D {shape}, got shape {w.shape}")
    x, unbatched = _batched(op, x, nd)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c = x.shape[1]
    if c != w.shape[0]:
        raise RuntimeError(
            f"{op}: input has {c} channels but weight expects {w.shape[0]} "
            f"(weight shape {w.shape} is (in_channels, out_channels / groups, ...), "
            f"groups={groups})"
        )
    if c % groups:
        raise RuntimeError(
            f"{op}: input has {c} channels, not divisible by groups={groups} "
            f"(weight shape {w.shape})"
        )
    cout = w.shape[1] * groups
    _check_bias(op, b, cout)
    kernel = w.shape[2:]
    s = _ntuple(op, "stride", stride, nd, 1)
    d = _ntuple(op, "dilation", dilation, nd, 1)
    p = _ntuple(op, "padding", padding, nd, 0)
    q = _ntuple(op, "output_padding", output_padding, nd, 0)
    for qi, si, di in zip(q, s, d):
        if qi >= max(si, di):
            raise ValueError(
                f"{op}: output_padding {q} must be smaller than either stride {s} or dilation "
                f"{d} in every dimension"
            )
    size = tuple(
        _conv_full_len(n, k, si, di) - 2 * pi + qi
        for n, k, si, di, pi, qi in zip(x.shape[2:], kernel, s, d, p, q)
    )
    if any(n < 0 for n in size):
        raise RuntimeError(
            f"{op}: the output would be empty: input of shape {x.shape} with kernel {kernel}, "
            f"stride {s}, padding {p}, output_padding {q}, dilation {d} gives size {size}"
        )
    crop = tuple((pi, pi - qi) for pi, qi in zip(p, q))
    if nd == 1:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
    s2, d2, c2 = _to2d(nd, s, d, crop)
    args = (x, w) if b is None else (x, w, b)
    out = ConvTranspose2d.apply(*args, stride=s2, padding=c2, dilation=d2, groups=int(groups))
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


# ---- functions --------------------------------------------------------------------------------


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """``F.conv1d``: input (N, C, L) or (C, L), weight (O, C / groups, k), bias (O,).
    ``padding`` is an int, 'valid' or 'same'."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """``F.conv2d``: input (N, C, H, W) or (C, H, W), weight (O, C / groups, kH, kW), bias (O,).
    ``stride``, ``padding`` and ``dilation`` are ints or pairs; ``padding`` may also be 'valid' or
    'same' (stride 1; an odd total puts the extra zero at the end, as in PyTorch)."""
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """``F.conv_transpose1d``: input (N, Cin, L), weight (Cin, Cout / groups, k). Output length
    (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""
    return _conv_transposend(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """``F.conv_transpose2d``: input (N, Cin, H, W), weight (Cin, Cout / groups, kH, kW): the
    adjoint (gradient with respect to the input) of ``conv2d`` with the same weight and geometry.
    Output size (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1."""
    return _conv_transposend(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
