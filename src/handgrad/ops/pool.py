"""Pooling. Max pooling is a primitive (``max_pool2d``, whose backward ``max_pool2d_backward`` is
one
too); average, power-average and adaptive pooling are compositions:

- ``avg_pool2d``: a window sum (a depthwise ``conv2d`` with a kernel of ones, so its gradient is
  that convolution's) divided by a constant count per output;
- ``lp_pool2d``: ``(k sum of x^p / k)^(1/p)``, PyTorch's formula on top of avg_pool2d;
- ``adaptive_avg_pool2d``: a separable linear map, ``P_h x P_w^T`` with averaging matrices;
- ``adaptive_max_pool2d``: the window maxima located in NumPy and picked with ``gather``, whose
  backward (``scatter_add``) sends each gradient to its maximum.

The 1-D functions pool a height-1 image.

Output length (PyTorch): ``floor((L + 2p - d (k - 1) - 1) / s) + 1``, rounded up instead with
``ceil_mode``, except that a last window starting in the right padding is dropped.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from ._select import select as _select
from .conv import Conv2d, _ntuple, _pad_crop, empty_batch
from .elementwise import where
from .zero_derivative import piecewise_linear_input, tie_gradient

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

PoolResult = namedtuple("PoolResult", ["values", "indices"])


def _pool_out_len(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # the last window would start in the right padding
    return out


def _empty_like_layout(shape: tuple, dtype: Any, like: np.ndarray, fill: float | None = None):
    """An array of ``shape`` whose memory order of axes is that of ``like`` (so a batch-innermost
    tensor stays batch-innermost), filled with ``fill`` if given."""
    order = sorted(range(like.ndim), key=lambda i: -abs(like.strides[i]))
    out = np.empty([shape[i] for i in order], dtype=dtype).transpose(np.argsort(order))
    if fill is not None:
        out.fill(fill)
    return out


def _axis_order(a: np.ndarray) -> tuple:
    """The axes from the slowest to the fastest varying in memory (size-1 axes left out)."""
    return tuple(
        sorted((i for i in range(a.ndim) if a.shape[i] > 1), key=lambda i: -abs(a.strides[i]))
    )


class _Windows:
    """The windows of a 2-D pooling of an input of ``shape``: output size, the padding (the right
    one enlarged for ceil_mode) and, per kernel tap in row-major order, the strided slice of the
    padded input that the tap reads for every output position."""

    def __init__(
        self,
        shape: tuple,
        kernel: tuple,
        stride: tuple,
        padding: tuple,
        dilation: tuple,
        ceil_mode: bool,
    ) -> None:
        self.shape = shape
        h, w = shape[-2:]
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        self.out_hw = ho, wo = tuple(
            _pool_out_len(n, k, s, p, d, ceil_mode)
            for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
        )
        self.pads = tuple(
            (p, max(p, (o - 1) * s + (k - 1) * d + 1 - n - p))
            for n, o, k, s, p, d in zip((h, w), self.out_hw, kernel, stride, padding, dilation)
        )
        self.offsets = [(i * dh, j * dw) for i in range(kh) for j in range(kw)]
        self.slices = [
            (..., slice(a, a + (ho - 1) * sh + 1, sh), slice(b, b + (wo - 1) * sw + 1, sw))
            for a, b in self.offsets
        ]
        self.stride = stride
        # Disjoint windows: every input position is read by at most one (window, tap); if
        # they also tile the padded input, the backward writes every position.
        self.disjoint = sh >= (kh - 1) * dh + 1 and sw >= (kw - 1) * dw + 1
        self.covers = (
            self.disjoint
            and (sh, sw) == (kh, kw)
            and (dh, dw) == (1, 1)
            and ho * sh == h + sum(self.pads[0])
            and wo * sw == w + sum(self.pads[1])
        )

    def pad(self, x: np.ndarray, value: float) -> np.ndarray:
        (t, b), (l, r) = self.pads
        if not (t or b or l or r):
            return x
        h, w = x.shape[-2:]
        out = _empty_like_layout(x.shape[:-2] + (h + t + b, w + l + r), x.dtype, x, value)
        out[..., t : t + h, l : l + w] = x
        return out

    def crop(self, xp: np.ndarray) -> np.ndarray:
        (t, _), (l, _) = self.pads
        h, w = self.shape[-2:]
        return xp[..., t : t + h, l : l + w]

    def first_argmax(self, xp: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The kernel tap (row-major number) holding each window's first maximum, as PyTorch
        breaks ties. With ``n_t = [tap t is not the maximum]``, the first maximum is
        ``n_0 (1 + n_1 (1 + n_2 (1 + ...)))``: evaluated from the inside out, a few passes of
        small-integer arithmetic (a masked assignment per tap is ten times slower)."""
        last = len(self.slices) - 1
        arg = np.zeros_like(out, dtype=np.uint8 if last < 255 else np.int32)
        if last == 0:
            return arg
        # A window whose maximum is -inf must not pick a padded (-inf) tap: torch reads only the
        # input there, so the padding is marked as never the maximum (only in that rare case).
        # A window holding a NaN has the NaN as its maximum: its last NaN (set below), as
        # torch's (val > max || isnan(val)) scan keeps taking each NaN it meets.
        outside = None
        if any(p for pair in self.pads for p in pair) and (out == -np.inf).any():
            (t0, _), (l0, _) = self.pads
            h, w = self.shape[-2:]
            outside = np.ones(xp.shape[-2:], bool)
            outside[t0 : t0 + h, l0 : l0 + w] = False
        miss = np.empty_like(out, dtype=bool)
        nan_out = np.isnan(out) if out.dtype.kind == "f" and np.isnan(out).any() else None

        def missed(t: int) -> None:
            tap = xp[self.slices[t]]
            np.not_equal(tap, out, out=miss)
            if outside is not None:
                np.logical_or(miss, outside[self.slices[t][1:]], out=miss)

        missed(last - 1)
        np.copyto(arg, miss)
        for t in range(last - 2, -1, -1):
            missed(t)
            arg += 1
            np.multiply(arg, miss, out=arg)
        if (
            nan_out is not None
        ):  # the last NaN tap (fuzz seed 22288941: torch's index 1 of [nan, nan])
            for t, sl in enumerate(self.slices):
                arg[np.isnan(xp[sl]) & nan_out] = t
        return arg

    def indices(self, xp: np.ndarray, out: np.ndarray) -> np.ndarray:
        """PyTorch's return_indices: the flat position h * W + w of each maximum in its plane."""
        (ph, _), (pw, _) = self.pads
        w = self.shape[-1]
        (ho, wo), (sh, sw) = self.out_hw, self.stride
        base = (np.arange(ho) * sh - ph)[:, None] * w + (np.arange(wo) * sw - pw)[None, :]
        offsets = np.array([a * w + b for a, b in self.offsets], dtype=np.int64)
        return base + offsets[self.first_argmax(xp, out)]

    def scatter(self, g: np.ndarray, xp: np.ndarray, arg: np.ndarray) -> np.ndarray:
        """Zeros of the padded input's shape with each g[y, x] at its window's first maximum."""
        fill = None if self.covers else 0
        gxp = _empty_like_layout(xp.shape, g.dtype, xp, fill)
        if _axis_order(g) != _axis_order(arg):
            # One copy into the windows' memory order: a ufunc mixing memory orders is ~10x
            # slower, and the loop below makes one per tap.
            same = np.empty_like(arg, dtype=g.dtype)
            np.copyto(same, g)
            g = same
        hit = np.empty_like(arg, dtype=bool)
        zero = np.zeros((), g.dtype)
        # g is placed where its window's maximum is, never multiplied by the 0/1 mask: an
        # infinite g must leave exact zeros at the other positions (0 * inf = NaN)
        for t, sl in enumerate(self.slices):
            np.equal(arg, t, out=hit)
            dst = gxp[sl]
            if self.disjoint:
                # a selection written whole (a bitwise AND, see _select): NumPy's masked copy
                # into these strided views took 1.4 of a LeNet step's 7 ms
                dst[...] = _select(hit, g, zero)
            else:
                np.add(dst, g, out=dst, where=hit)
        return gxp


class MaxPool2d(Function):
    """out[n, c, y, x] = max over the window of (y, x) of the input padded with -inf.

    The maximum is a selection: out = xp[m*] for the first position m* in the window (row-major)
    holding the maximum, so dL/dx[m] = sum of g over the outputs whose m* is m: a scatter of g
    (``max_pool2d_backward``). Ties give the whole gradient to the first maximum, as PyTorch's
    indices do. Computed as the maximum of the kernel's strided slices (no reshape, no copy of
    the windows).
    """

    name = "max_pool2d"
    uses_output = True

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode):
        self.windows = win = _Windows(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        xp = win.pad(x, -np.inf)
        if self.needs_input_grad[0]:
            self.xp = xp
        views = [xp[sl] for sl in win.slices]
        if len(views) == 1:
            return views[0].copy(order="K")
        out = np.maximum(views[0], views[1])
        for v in views[2:]:
            np.maximum(out, v, out=out)
        if out.dtype.kind == "f" and (np.signbit(x) & (x == 0)).any():
            _first_zero_sign(out, views)
        return out

    def backward(self, g):
        # tied to x with derivative 0, as torch's max_pool2d_with_indices_backward(g, x, ...)
        gx = MaxPool2dBackward.apply(g, windows=self.windows, xp=self.xp, out=self.out)
        return tie_gradient(gx, self.inputs[0])


def _first_zero_sign(out: np.ndarray, views: list) -> None:
    """Give each zero maximum in ``out`` the sign of its window's first zero, in place: torch's
    kernel keeps the first maximum (val > max), NumPy's maximum the later of -0.0 and +0.0 (fuzz
    seed 1625040937: max_pool1d over [-0.0, +0.0], torch -0.0; a later 1 / x tells them
    apart). Only called when the input holds a -0.0."""
    zero = out == 0
    if not zero.any():
        return
    seen, neg = np.zeros(out.shape, bool), np.zeros(out.shape, bool)
    for v in views:
        hit = (v == 0) & ~seen
        neg |= hit & np.signbit(v)
        seen |= hit
    out[zero] = np.where(neg[zero], -0.0, 0.0)


class MaxPool2dBackward(Function):
    """out = dL/dx of max pooling for the incoming gradient g: zeros with each g[y, x] added at the
    position of its window's (first) maximum. Linear in g; its derivative picks the gradient back
    at those positions, ``gather(G, indices)``, whose own derivative is this scatter again."""

    name = "max_pool2d_backward"
    uses_inputs = False

    def forward(self, g, windows, xp, out):
        self.windows, self.xp, self.out_ = windows, xp, out
        return windows.crop(windows.scatter(g, xp, windows.first_argmax(xp, out)))

    def backward(self, gg):
        idx = self.windows.indices(self.xp, self.out_)
        lead, (h, w) = gg.shape[:-2], gg.shape[-2:]
        flat = gg.reshape(lead + (h * w,))
        picked = flat.gather(-1, Tensor._wrap(idx.reshape(lead + (-1,))))
        return picked.reshape(idx.shape)


# ---- argument handling ------------------------------------------------------------------------


def _pool_args(
    op: str,
    x: Tensor,
    nd: int,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
) -> tuple:
    if x.ndim not in (nd + 1, nd + 2):
        layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise RuntimeError(
            f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input {layout}, got "
            f"an input of shape {x.shape}"
        )
    k = _ntuple(op, "kernel_size", kernel_size, nd, 1)
    s = (
        k
        if stride is None or (not isinstance(stride, int) and len(stride) == 0)
        else _ntuple(op, "stride", stride, nd, 1)
    )
    p = _ntuple(op, "padding", padding, nd, 0)
    d = _ntuple(op, "dilation", dilation, nd, 1)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(
            f"{op}: padding {p} should be at most half of the kernel size {k} (every window "
            "must hold an input element)"
        )
    size = x.shape[-nd:]
    out = tuple(
        _pool_out_len(n, ki, si, pi, di, ceil_mode) for n, ki, si, pi, di in zip(size, k, s, p, d)
    )
    if any(o < 1 for o in out):
        raise RuntimeError(
            f"{op}: the output would be empty: input of shape {x.shape} with kernel {k}, stride "
            f"{s}, padding {p}, dilation {d} gives output size {out}"
        )
    return k, s, p, d


def _as2d(nd: int, x: Tensor, *pairs: tuple) -> tuple:
    """1-D pooling runs on a height-1 image: (..., L) -> (..., 1, L), geometry (1, k) etc."""
    if nd == 2:
        return (x,) + pairs
    lifted = tuple((fill,) + p for p, fill in zip(pairs, (1, 1, 0, 1)))
    return (x.unsqueeze(-2),) + lifted


@empty_batch
def _maxpoolnd(
    op: str,
    nd: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x = lift(input)
    k, s, p, d = _pool_args(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    x2, k, s, p, d = _as2d(nd, x, k, s, p, d)
    out = MaxPool2d.apply(
        x2, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=bool(ceil_mode)
    )
    if not return_indices:
        return out.squeeze(-2) if nd == 1 else out
    win = _Windows(x2.shape, k, s, p, d, bool(ceil_mode))
    idx = Tensor._wrap(win.indices(win.pad(x2._data, -np.inf), out._data))
    if nd == 1:
        return PoolResult(out.squeeze(-2), idx.squeeze(-2))
    return PoolResult(out, idx)


class WindowSum(Conv2d):
    """out[n, c, y, x] = sum over the taps (i, j) of xp[n, c, y sh + i, x sw + j], x zero-padded by
    the padding: the depthwise convolution of x with a kernel w of ones (the second input, a
    constant), whose derivatives it keeps (``Conv2d.backward``: dL/dx = conv_transpose2d(g, w),
    and that is linear in g again). Only the order of the sum differs from the convolution's:
    the taps are added one by one in row-major order to a zero, as torch's CPU avg_pool2d adds
    a window's values; the BLAS's order (the convolution's product with ones) made a window of
    -7.6e-30, -1, 1, 2.9e-20 sum to 0 where torch's is 2.9e-20, and lp_pool2d's gradient there
    0 against torch's (fuzz seed 194620718)."""

    name = "window_sum"

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        (kh, kw), (sh, sw) = w.shape[2:], stride
        xp = _pad_crop(x.transpose(1, 2, 3, 0), padding)  # (C, H, W, N)
        ho, wo = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
        out = np.zeros((xp.shape[0], ho, wo, xp.shape[3]), xp.dtype)
        for i in range(kh):
            for j in range(kw):
                out += xp[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw]
        return out.transpose(3, 0, 1, 2)

    def backward(self, g):
        # dL/dx tied to x with derivative 0, as torch's avg_pool2d_backward(g, x, ...); the ones
        # are a constant (no gradient)
        gx, _ = super().backward(g)[:2]
        return tie_gradient(gx, self.inputs[0]), None


def _window_sum(x: Tensor, kernel: tuple, stride: tuple, pads: tuple) -> Tensor:
    """Sum over each window of a (N, C, H, W) tensor (``WindowSum``)."""
    c = x.shape[1]
    ones = Tensor._wrap(np.ones((c, 1) + tuple(kernel), dtype=x.dtype))
    return WindowSum.apply(x, ones, stride=tuple(stride), padding=pads, dilation=(1, 1), groups=c)


def _avg_divisor(size: int, out: int, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    """PyTorch's count per output: the window clipped to [-p, size + p), then, without
    count_include_pad, to the input [0, size)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


@empty_batch
def _avgpoolnd(
    op: str,
    nd: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Any,
) -> Tensor:
    x = lift(input)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {x.dtype}")
    k, s, p, _ = _pool_args(op, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    x2, k, s, p = _as2d(nd, x, k, s, p)
    unbatched = x2.ndim == 3
    if unbatched:
        x2 = x2.unsqueeze(0)
    win = _Windows(x2.shape, k, s, p, (1, 1), bool(ceil_mode))
    summed = _window_sum(x2, k, s, win.pads)
    # torch's kernel divides each window's sum (not a product with the reciprocal, which rounds
    # 5 / 3 an ulp lower) and adds the quotient to a zeroed output: + 0.0, so that a window whose
    # mean rounds to -0.0 (-5e-324 over 2) gives +0.0 as torch's (fuzz seed 656052753)
    if divisor_override:
        out = summed / float(divisor_override) + 0.0
    else:
        (ho, wo), (h, w) = win.out_hw, x2.shape[-2:]
        dh = _avg_divisor(h, ho, k[0], s[0], p[0], count_include_pad)
        dw = _avg_divisor(w, wo, k[1], s[1], p[1], count_include_pad)
        out = summed / Tensor._wrap(np.outer(dh, dw).astype(x2.dtype)) + 0.0
    if unbatched:
        out = out.squeeze(0)
    return out.squeeze(-2) if nd == 1 else out


def _adaptive_windows(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Window i covers [floor(i n_in / n_out), ceil((i + 1) n_in / n_out))."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, ((i + 1) * n_in + n_out - 1) // n_out


def _adaptive_size(op: str, x: Tensor, nd: int, output_size: Any) -> tuple:
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{op}: expected a {nd + 1}-D or {nd + 2}-D input, got an input of shape {x.shape}"
        )
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise ValueError(
            f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}"
        )
    size = tuple(n if o is None else int(o) for n, o in zip(x.shape[-nd:], output_size))
    if any(o < 1 for o in size):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if any(n < 1 for n in x.shape[-nd:]):
        raise RuntimeError(f"{op}: input of shape {x.shape} has an empty spatial dimension")
    return size


def _adaptive_max_indices(x: np.ndarray, out_hw: tuple) -> np.ndarray:
    """Flat index h * W + w of the first maximum (row-major) of every adaptive window, or of
    its last NaN."""
    h, w = x.shape[-2:]
    axes = []
    for n_in, n_out in zip((h, w), out_hw):
        start, end = _adaptive_windows(n_in, n_out)
        width = int((end - start).max())
        # Positions past a window's end repeat its last element: harmless for the maximum and,
        # coming last, never the first maximum.
        axes.append(np.minimum(start[:, None] + np.arange(width), end[:, None] - 1))
    rows, cols = axes
    win = x[..., rows[:, :, None, None], cols[None, None, :, :]]  # (..., Ho, kh, Wo, kw)
    nd = win.ndim
    win = np.moveaxis(win, nd - 3, nd - 2)  # (..., Ho, Wo, kh, kw)
    kh, kw = rows.shape[1], cols.shape[1]
    flat = win.reshape(win.shape[:-2] + (kh * kw,))
    a = flat.argmax(-1)  # argmax returns the first maximum (and the first NaN)
    nan = np.isnan(flat) if flat.dtype.kind == "f" else None
    if nan is not None and nan.any():
        # torch's kernel takes val > max or isnan(val): the last NaN of its window (fuzz seed
        # 757798091); the repeated positions past a window's end repeat its last index
        a = np.where(nan.any(-1), kh * kw - 1 - nan[..., ::-1].argmax(-1), a)
    ho_idx = np.arange(rows.shape[0])[:, None]
    wo_idx = np.arange(cols.shape[0])[None, :]
    return rows[ho_idx, a // kw] * w + cols[wo_idx, a % kw]


# ---- functions --------------------------------------------------------------------------------


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """``F.max_pool1d`` on (N, C, L) or (C, L); see ``max_pool2d``."""
    return _maxpoolnd(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """``F.max_pool2d`` on (N, C, H, W) or (C, H, W): the maximum over each window (stride
    defaults to the kernel size; padding counts as -inf and may be at most half the kernel).
    With ``return_indices`` also the flat position ``h * W + w`` of each maximum; ties go to the
    first maximum in row-major order, and so does the gradient."""
    return _maxpoolnd(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """``F.avg_pool1d`` on (N, C, L) or (C, L); see ``avg_pool2d``."""
    return _avgpoolnd(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """``F.avg_pool2d``: the mean over each window. The divisor is PyTorch's: the window size
    including the zero padding (``count_include_pad``) or only the input elements it covers, or
    ``divisor_override``. A window sum (depthwise conv2d with ones) times a constant, so the
    gradient spreads g / divisor evenly over each window."""
    return _avgpoolnd(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _lppoolnd(
    op: str,
    nd: int,
    input: Tensor,
    norm_type: float,
    kernel_size: Any,
    stride: Any,
    ceil_mode: bool,
) -> Tensor:
    from .elementwise import relu, sign

    x = lift(input)
    k = _ntuple(op, "kernel_size", kernel_size, nd, 1)
    avg = _avgpoolnd(op, nd, x ** float(norm_type), k, stride, 0, ceil_mode, True, None)
    return (sign(avg) * relu(avg.abs()) * float(math.prod(k))) ** (1.0 / float(norm_type))


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """``F.lp_pool1d``: (sum over each window of x^p)^(1/p)."""
    return _lppoolnd("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """``F.lp_pool2d``: (sum over each window of x^p)^(1/p), computed as PyTorch does,
    ``(sign(a) relu(|a|) kH kW)^(1/p)`` with a = avg_pool2d(x^p): p = 1 is sum pooling, p -> inf
    max pooling. Its gradient at a window whose sum is 0 is inf or nan, as in PyTorch."""
    return _lppoolnd("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """``F.adaptive_avg_pool1d``: see ``adaptive_avg_pool2d``."""
    x = lift(input)
    if output_size in (1, (1,), [1]) and x.ndim in (2, 3):
        return x.mean(-1, keepdim=True)  # torch's shortcut: a mean, so an empty length gives NaN
    (lo,) = _adaptive_size("adaptive_avg_pool1d", x, 1, output_size)
    return _adaptive_avg(x, (lo,))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """``F.adaptive_avg_pool2d``: output (Ho, Wo) whatever the input size; output i averages
    input [floor(i H / Ho), ceil((i + 1) H / Ho)). The windows are separable: a window sum along
    W, then along H, divided by the window area. Each sum reads only its window (sparse taps, not
    a dense averaging matrix), so an inf or NaN stays in the windows that contain it."""
    x = lift(input)
    if output_size in (1, (1, 1), [1, 1]) and x.ndim in (3, 4):
        return x.mean((-2, -1), keepdim=True)  # torch's shortcut: a mean (NaN if empty)
    return _adaptive_avg(x, _adaptive_size("adaptive_avg_pool2d", x, 2, output_size))


# Sparse separable maps (also used by interpolate in composed/resample.py).


def _window_taps(n_in: int, n_out: int) -> tuple[list, np.ndarray]:
    """The adaptive windows [floor(i n_in / n_out), ceil((i + 1) n_in / n_out)) as taps of
    weight 1 (``valid`` marks the taps inside a shorter window) and the window sizes."""
    i = np.arange(n_out)
    start, end = (i * n_in) // n_out, ((i + 1) * n_in + n_out - 1) // n_out
    taps = []
    for k in range(int((end - start).max())):
        valid = start + k < end
        taps.append((np.minimum(start + k, n_in - 1), None, None if valid.all() else valid))
    return taps, end - start


def apply_taps(x: Tensor, axis: int, taps: list) -> Tensor:
    """out[..., o, ...] = sum over taps (idx, w, valid) of w[o] x[..., idx[o], ...] along
    ``axis``, where valid[o] (all if None). A sparse separable map: each output reads only its
    own source pixels, so an inf or NaN elsewhere cannot reach it (a dense matrix would multiply
    it by 0). The weights are constants; the gradient is index_select's (a scatter-add)."""
    axis = axis % x.ndim
    bshape = (-1,) + (1,) * (x.ndim - 1 - axis)
    out = None
    for idx, w, valid in taps:
        t = x.index_select(axis, Tensor._wrap(np.asarray(idx, np.int64)))
        if w is not None:
            t = t * Tensor._wrap(np.asarray(w, x._data.dtype).reshape(bshape))
        if valid is not None:
            t = where(Tensor._wrap(valid.reshape(bshape)), t, 0.0)
        out = t if out is None else out + t
    assert out is not None, "apply_taps: no taps"  # every map has at least one tap
    return out


def _adaptive_avg(x: Tensor, size: tuple) -> Tensor:
    if x._data.size == 0:  # an empty batch or channel dim (torch accepts it)
        return Tensor._wrap(np.zeros(x.shape[: -len(size)] + size, x._data.dtype)) + x.sum() * 0
    count = np.ones((), np.int64)
    x = piecewise_linear_input(x)  # as torch's _adaptive_avg_pool2d_backward(g, x)
    for k in range(len(size)):
        axis = x.ndim - 1 - k
        taps, n = _window_taps(x.shape[axis], size[-1 - k])
        x = apply_taps(x, axis, taps)
        count = count * n.reshape((-1,) + (1,) * k)
    # torch's kernel sums each window from +0 (sum = 0; sum += x): a window of -0.0 averages to
    # +0.0, which a later 1 / x tells apart (fuzz seed 757845857)
    return (x + 0.0) / Tensor._wrap(count.astype(x._data.dtype))


@empty_batch
def _adaptive_maxnd(op: str, nd: int, input: Tensor, output_size: Any, return_indices: bool) -> Any:
    from .index import gather

    x = lift(input)
    size = _adaptive_size(op, x, nd, output_size)
    # the gradient tied to x, as torch's adaptive_max_pool2d_backward(g, x, indices)
    x = piecewise_linear_input(x)
    x2 = x if nd == 2 else x.unsqueeze(-2)
    size2 = size if nd == 2 else (1,) + size
    idx = _adaptive_max_indices(x2._data, size2)
    lead, (h, w) = x2.shape[:-2], x2.shape[-2:]
    out = gather(x2.reshape(lead + (h * w,)), -1, Tensor._wrap(idx.reshape(lead + (-1,))))
    out = out.reshape(idx.shape)
    index = Tensor._wrap(idx)
    if nd == 1:
        out, index = out.squeeze(-2), index.squeeze(-2)
    return PoolResult(out, index) if return_indices else out


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """``F.adaptive_max_pool1d``: see ``adaptive_max_pool2d``."""
    return _adaptive_maxnd("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """``F.adaptive_max_pool2d``: the maximum over the adaptive windows (see
    adaptive_avg_pool2d), picked with ``gather`` at the first maximum (row-major), so the gradient
    goes there (``scatter_add``)."""
    return _adaptive_maxnd("adaptive_max_pool2d", 2, input, output_size, return_indices)


__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]
