"""Resampling, all compositions of primitives (convolution, index_select):

- ``interpolate`` (nearest, nearest-exact, linear, bilinear, area): resizing is separable, a
  fixed linear map per axis (the weights PyTorch gives to the input pixels), applied as sparse
  taps (index_select and a weighted sum, ``apply_taps``) rather than a dense matrix, so an inf or
  NaN reaches only the outputs that read it. The gradient is index_select's scatter-add.
- ``translate``: a sub-pixel shift with bilinear interpolation, a depthwise convolution with a 2x2
  kernel whose padding and cropping carry the integer part of the shift.
- ``unfold`` / ``fold`` (im2col and col2im as PyTorch exposes them): a grouped convolution with
  one-hot kernels and its transpose, so each is the other's gradient.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.conv import Conv2d, ConvTranspose2d, _conv_full_len, _ntuple, _out_len
from ..ops.pool import _window_taps, adaptive_avg_pool1d, adaptive_avg_pool2d, apply_taps

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area")


# ---- interpolate ------------------------------------------------------------------------------


def _nearest_taps(n_in: int, n_out: int, scale: float | None, exact: bool) -> list:
    """PyTorch's nearest source index, computed in float32 as PyTorch does:
    floor(dst * s) (or floor((dst + 0.5) s) for nearest-exact), s = 1 / scale_factor or
    n_in / n_out, clamped to n_in - 1. One tap of weight 1. No shortcut for n_out = n_in or
    2 n_in: torch's CPU kernel has none, and with a scale_factor (1.07 say) the formula reads
    other pixels than a copy would."""
    dst = np.arange(n_out)
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    pos = (dst.astype(np.float32) + np.float32(0.5)) * s if exact else dst.astype(np.float32) * s
    src = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
    return [(src, None, None)]


@functools.lru_cache(maxsize=256)
def _source_index(
    n_in: int, n_out: int, scale: float | None, align_corners: bool, cubic: bool, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """torch's source index and fraction for each output pixel (area_pixel_compute_source_index
    and guard_index_and_lambda), in torch's arithmetic, which decides which weights are exactly
    0 (and so where an inf next to them gives NaN):

    - the scale and the position in the input's dtype (float32 for float32 input);
    - ``scale (dst + 0.5) - 0.5`` rounded once, as the fused multiply-add torch's compiled kernel
      uses (computed exactly here): 0.2 * 2.5 - 0.5 is 2.8e-17 there, not 0;
    - clamped at 0 except for cubic; the index floor(float32(src)) (torch's floorf, also for
      float64: 0.9999999999999999 gives index 1 and fraction 0), at most n_in - 1; the fraction
      src - index clamped to [0, 1]."""
    f = np.dtype(dtype).type
    if align_corners:
        sc = f(n_in - 1) / f(n_out - 1) if n_out > 1 else f(0.0)
        src = np.arange(n_out).astype(dtype) * sc
    else:
        sc = f(1.0 / scale) if scale else f(n_in) / f(n_out)
        exact = [
            Fraction(float(sc)) * Fraction(d * 2 + 1, 2) - Fraction(1, 2) for d in range(n_out)
        ]
        if dtype == "float32":
            src = np.array([_round_f32(e) for e in exact], np.float32)
        else:
            src = np.array([float(e) for e in exact], np.float64)
        if not cubic:
            src = np.maximum(src, f(0.0))
    i0 = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
    frac = np.clip(src - i0.astype(dtype), f(0.0), f(1.0)).astype(dtype)
    return i0, frac


def _round_f32(e: Fraction) -> np.float32:
    """The float32 nearest to the exact ``e``: through the nearest float64, which is right
    unless that float64 is itself a float32 tie (double rounding); then e decides."""
    d = float(e)
    r = np.float32(d)
    if Fraction(d) == e or Fraction(d) == Fraction(float(r)):
        return r
    up = Fraction(d) > Fraction(float(r))
    other = np.nextafter(r, np.float32(np.inf if up else -np.inf))
    if 2 * Fraction(d) == Fraction(float(r)) + Fraction(float(other)):  # d is a float32 tie
        if abs(e - Fraction(float(other))) < abs(e - Fraction(float(r))):
            return np.float32(other)
    return r


def _linear_taps(
    n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype: Any = np.float64
) -> list:
    """PyTorch's linear interpolation: source position ``src = dst (n_in - 1) / (n_out - 1)``
    with align_corners, else ``(dst + 0.5) s - 0.5`` clamped at 0 (s = 1 / scale_factor or
    n_in / n_out); weights 1 - f and f on floor(src) and the next pixel (the last pixel repeats
    at the border), in torch's arithmetic (``_source_index``). Both taps are always used, as in
    PyTorch (so an inf next to a weight 0 gives NaN there, as it does in torch, and nowhere
    else). When n_out = n_in torch copies, whatever the scale: both taps read the output's own
    pixel, with weights 1 and 0 (an inf there gives NaN, its neighbours stay finite)."""
    dtype = np.dtype(dtype)
    if n_out == n_in:
        dst = np.arange(n_out)
        return [(dst, np.ones(n_out, dtype), None), (dst, np.zeros(n_out, dtype), None)]
    i0, frac = _source_index(n_in, n_out, scale, align_corners, False, dtype.name)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return [(i0, dtype.type(1.0) - frac, None), (i1, frac, None)]


def _cubic_taps(
    n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype: Any = np.float64
) -> list:
    """PyTorch's bicubic weights per axis: the source position as for linear but not clamped at
    0, and Keys' cubic convolution kernel (a = -0.75) on the four pixels floor(src) - 1 ..
    floor(src) + 2, whose indices are clamped to the image (the border pixel repeats)."""
    dtype = np.dtype(dtype)
    i0, t = _source_index(n_in, n_out, scale, align_corners, True, dtype.name)
    t = t.astype(np.float64)
    a_ = -0.75

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a_ + 2) * x - (a_ + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a_ * x - 5 * a_) * x + 8 * a_) * x - 4 * a_

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    return [(np.clip(i0 - 1 + k, 0, n_in - 1), w, None) for k, w in enumerate(weights)]


def _dense(taps: list, n_in: int) -> np.ndarray:
    """The taps as a dense (n_out, n_in) matrix (the receptive-field analysis reads these)."""
    n_out = len(taps[0][0])
    a = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    for idx, w, valid in taps:
        v = np.ones(n_out) if w is None else np.asarray(w, np.float64)
        np.add.at(a, (rows, idx), v if valid is None else np.where(valid, v, 0.0))
    return a


def _nearest_matrix(n_in: int, n_out: int, scale: float | None, exact: bool) -> np.ndarray:
    return _dense(_nearest_taps(n_in, n_out, scale, exact), n_in)


def _linear_matrix(n_in: int, n_out: int, scale: float | None, align_corners: bool) -> np.ndarray:
    return _dense(_linear_taps(n_in, n_out, scale, align_corners), n_in)


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    taps, count = _window_taps(n_in, n_out)
    return _dense(taps, n_in) / count[:, None]


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """``F.interpolate`` for (N, C, L) and (N, C, H, W) inputs: modes 'nearest', 'nearest-exact',
    'linear' (3-D), 'bilinear' and 'bicubic' (4-D) and 'area' (adaptive average pooling), with
    PyTorch's source coordinates (see ``_linear_taps``, ``_cubic_taps``). Give exactly one of
    ``size`` and ``scale_factor``; the
    output size is floor(input size * scale_factor), and the scale factor itself sets the source
    coordinates unless ``recompute_scale_factor``."""
    x = lift(input)
    nd = x.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(
            f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {x.shape}"
        )
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (one of {_MODES})")
    if mode == "linear" and nd != 1:
        raise NotImplementedError(f"interpolate: mode 'linear' needs a 3-D input, got {x.shape}")
    if mode in ("bilinear", "bicubic") and nd != 2:
        raise NotImplementedError(f"interpolate: mode {mode!r} needs a 4-D input, got {x.shape}")
    linear = mode in ("linear", "bilinear", "bicubic")
    if align_corners is not None and not linear:
        raise ValueError(
            "interpolate: align_corners can only be set with the interpolating modes "
            f"linear, bilinear and bicubic, got mode={mode!r}"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = x.shape[2:]
    if size is not None:
        out_size = _ntuple("interpolate", "size", size, nd, 1)
        scales: tuple = (None,) * nd
    else:
        sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        if len(sf) != nd or any(s <= 0 for s in sf):
            raise ValueError(
                f"interpolate: scale_factor must be positive, {nd} of them, got {scale_factor!r}"
            )
        out_size = tuple(math.floor(n * float(s)) for n, s in zip(spatial, sf))
        if any(n < 1 for n in out_size):
            raise ValueError(
                f"interpolate: scale_factor {scale_factor!r} makes the output of "
                f"{x.shape} empty ({out_size})"
            )
        scales = (None,) * nd if recompute_scale_factor else tuple(float(s) for s in sf)
    if mode == "area":
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(x, out_size)
    if (
        mode == "bicubic"
        and out_size == spatial
        and (align_corners or all(s in (None, 1.0) for s in scales))
    ):
        # the identity's taps; with another scale_factor torch's forward reads other pixels and
        # its backward still copies, not its forward's gradient: handgrad's is (docs/differences)
        return _bicubic_same_size(x, bool(align_corners))
    # torch's opmath: the source positions in float32 for half and float32, else float64
    wdt = np.dtype(np.float64 if x._data.dtype == np.float64 else np.float32)
    # the last axis first, then the one before: PyTorch's order of the bilinear sums
    for axis in range(x.ndim - 1, 1, -1):
        n_in, n_out, s = spatial[axis - 2], out_size[axis - 2], scales[axis - 2]
        if mode == "bicubic":
            taps = _cubic_taps(n_in, n_out, s, bool(align_corners), wdt)
        elif linear:
            taps = _linear_taps(n_in, n_out, s, bool(align_corners), wdt)
        else:
            taps = _nearest_taps(n_in, n_out, s, mode == "nearest-exact")
        x = apply_taps(x, axis, taps)
    return x


def _bicubic_same_size(x: Tensor, align_corners: bool) -> Tensor:
    """Bicubic at the input's own size and scale 1. torch's forward still applies the taps, whose
    weights are exactly (0, 1, 0, 0): x itself, except NaN wherever a weight 0 meets an inf or NaN
    neighbour; its backward is a plain copy of g (no weight-0 taps, so an inf in g stays on its
    own pixel). Hence x plus a constant that is NaN exactly there: the value of the taps, the
    gradient of a copy."""
    taps = x.detach()
    for axis in range(x.ndim - 1, 1, -1):
        taps = apply_taps(
            taps, axis, _cubic_taps(x.shape[axis], x.shape[axis], None, align_corners, x.dtype)
        )
    with np.errstate(invalid="ignore"):
        spread = np.isnan(taps._data) & ~np.isnan(x._data)
    return x + Tensor._wrap(np.where(spread, np.nan, 0.0).astype(x._data.dtype))


# ---- translate --------------------------------------------------------------------------------


def translate(input: Tensor, dy: float, dx: float) -> Tensor:
    """Shift images by (dy, dx) pixels (down, right), fractional shifts by bilinear interpolation,
    zeros outside: ``out[i, j] = x(i - dy, j - dx)`` where x(u, v) interpolates bilinearly between
    the four pixels around (u, v) and is 0 off the image. Input (..., H, W).

    Write dy = a + f with a = floor(dy), 0 <= f < 1. Along one axis
    ``out[i] = (1 - f) x[i - a] + f x[i - a - 1]``: a cross-correlation of x, shifted by a, with the
    kernel [f, 1 - f] (used in exercise 000-a4a). In 2-D the kernel is the outer
    product of the two axes' kernels, applied to every channel alone (a depthwise conv2d whose
    padding (a + 1, -a) carries the integer shift). Being a convolution, it commutes with every
    stride-1 convolution away from the borders: convolutions are equivariant to sub-pixel shifts.
    Linear in x; the gradient is the shift by (-dy, -dx) (the transposed convolution).
    """
    x = lift(input)
    if x.ndim < 2:
        raise RuntimeError(f"translate: expected an input (..., H, W), got shape {x.shape}")
    shape = x.shape
    h, w = shape[-2:]
    x4 = x.reshape((-1, 1, h, w))
    ay, ax = math.floor(dy), math.floor(dx)
    if not (-h - 1 <= ay <= h and -w - 1 <= ax <= w):  # shifted entirely off the image
        return x * 0.0
    fy, fx = float(dy) - ay, float(dx) - ax
    kernel = np.outer([fy, 1.0 - fy], [fx, 1.0 - fx]).astype(x.dtype)
    out = Conv2d.apply(
        x4,
        Tensor._wrap(kernel.reshape(1, 1, 2, 2)),
        stride=(1, 1),
        padding=((ay + 1, -ay), (ax + 1, -ax)),
        dilation=(1, 1),
        groups=1,
    )
    return out.reshape(shape)


# ---- unfold / fold ----------------------------------------------------------------------------


def _one_hot_kernels(c: int, kernel: tuple, dtype: Any) -> Tensor:
    """Weight (C kh kw, 1, kh, kw): output channel c kh kw + t copies tap t of channel c."""
    kk = kernel[0] * kernel[1]
    eye = np.eye(kk, dtype=dtype).reshape(kk, 1, *kernel)
    return Tensor._wrap(np.tile(eye, (c, 1, 1, 1)))


def _fold_args(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    return (
        _ntuple(op, "kernel_size", kernel_size, 2, 1),
        _ntuple(op, "dilation", dilation, 2, 1),
        _ntuple(op, "padding", padding, 2, 0),
        _ntuple(op, "stride", stride, 2, 1),
    )


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """``F.unfold`` (im2col): (N, C, H, W) -> (N, C kh kw, L), column l holding the block that the
    l-th window (row-major) covers, rows ordered (c, i, j). A grouped convolution with one-hot
    kernels, so its gradient is ``fold``."""
    x = lift(input)
    unbatched = x.ndim == 3
    if x.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected a 3-D or 4-D input (N, C, H, W), got shape {x.shape}")
    if unbatched:
        x = x.unsqueeze(0)
    k, d, p, s = _fold_args("unfold", kernel_size, dilation, padding, stride)
    n, c, h, w = x.shape
    eff = tuple((ki - 1) * di + 1 for ki, di in zip(k, d))
    if any(e > size + 2 * pi for e, size, pi in zip(eff, (h, w), p)):
        raise RuntimeError(
            f"unfold: kernel size {k} (dilated to {eff}) is larger than the padded input "
            f"{(h + 2 * p[0], w + 2 * p[1])} (input shape {x.shape}, padding {p})"
        )
    out = Conv2d.apply(
        x,
        _one_hot_kernels(c, k, x.dtype),
        stride=s,
        padding=tuple((pi, pi) for pi in p),
        dilation=d,
        groups=c,
    )
    out = out.reshape(n, c * k[0] * k[1], -1)
    return out.squeeze(0) if unbatched else out


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """``F.fold`` (col2im): (N, C kh kw, L) -> (N, C, H, W), summing every block back where its
    window lies (overlaps add up). The transpose of ``unfold``."""
    x = lift(input)
    unbatched = x.ndim == 2
    if x.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D or 3-D input (N, C kh kw, L), got {x.shape}")
    if unbatched:
        x = x.unsqueeze(0)
    size = _ntuple("fold", "output_size", output_size, 2, 1)
    k, d, p, s = _fold_args("fold", kernel_size, dilation, padding, stride)
    n, ckk, length = x.shape
    kk = k[0] * k[1]
    if ckk % kk:
        raise RuntimeError(
            f"fold: input has {ckk} rows in dim 1, not divisible by the kernel size "
            f"{k[0]} * {k[1]} = {kk}"
        )
    blocks = tuple(_out_len(m + 2 * pi, ki, si, di) for m, ki, si, di, pi in zip(size, k, s, d, p))
    if blocks[0] < 1 or blocks[1] < 1 or blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"fold: output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s} "
            f"give {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]} blocks, but the input "
            f"has {length} (input shape {x.shape})"
        )
    c = ckk // kk
    crop = []
    for m, b, ki, si, di, pi in zip(size, blocks, k, s, d, p):
        full = _conv_full_len(b, ki, si, di)
        crop.append((pi, full - pi - m))  # the rows no block reaches stay zero
    out = ConvTranspose2d.apply(
        x.reshape(n, ckk, *blocks),
        _one_hot_kernels(c, k, x.dtype),
        stride=s,
        padding=tuple(crop),
        dilation=d,
        groups=c,
    )
    return out.squeeze(0) if unbatched else out


__all__: list = []  # reached as handgrad.nn.functional.interpolate, translate, unfold, fold
