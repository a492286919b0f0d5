"""3-D convolution and pooling over (N, C, D, H, W), composed from the 2-D primitives.

A 3-D convolution is a sum over the kernel's depth taps of 2-D convolutions: with the input
padded in depth and x_t the depth slices x[:, :, z s + t d] for the output depths z,

    out[:, :, z] = sum_t conv2d(x[:, :, z s_D + t d_D], w[:, :, t]),

and folding the output depths into the batch makes each tap one conv2d call. Its gradients are
those of conv2d, slicing and summing. Max and average pooling over a (kD, kH, kW) window are the
maximum or mean over the depth taps of the 2-D pooled depth slices (an element-wise maximum of
2-D maxima is the 3-D maximum).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.conv import _ntuple, conv2d, conv_transpose2d
from ..ops.elementwise import maximum
from ..ops.pool import avg_pool2d, max_pool2d
from ..ops.shape import getitem, pad, stack
from .arrange import index_add

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _batched5(op: str, x: Tensor) -> tuple[Tensor, bool]:
    if x.ndim == 4:
        return x.unsqueeze(0), True
    if x.ndim != 5:
        raise RuntimeError(
            f"{op}: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, got shape {x.shape}"
        )
    return x, False


def _depth_slices(x: Tensor, k: int, s: int, d: int) -> list[Tensor]:
    """For each depth tap t, the slices x[:, :, z s + t d] (z over the output depths) folded into
    the batch: (N * Do, C, H, W)."""
    n, c, depth = x.shape[:3]
    do = (depth - (k - 1) * d - 1) // s + 1
    if do < 1:
        raise RuntimeError(f"depth {depth} is too small for a kernel of {k} taps with dilation {d}")
    out = []
    for t in range(k):
        sl = getitem(x, (slice(None), slice(None), slice(t * d, t * d + (do - 1) * s + 1, s)))
        out.append(sl.transpose(1, 2).reshape(n * do, c, *x.shape[3:]))
    return out


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """``F.conv3d`` for (N, C, D, H, W) inputs and weights (O, C / groups, kD, kH, kW)."""
    x, unbatched = _batched5("conv3d", lift(input))
    w = lift(weight)
    if w.ndim != 5:
        raise RuntimeError(
            f"conv3d: weight must be 5-D (out_channels, in_channels / groups, kD, "
            f"kH, kW), got shape {w.shape}"
        )
    s = _ntuple("conv3d", "stride", stride, 3, 1)
    d = _ntuple("conv3d", "dilation", dilation, 3, 1)
    if isinstance(padding, str):
        raise ValueError(f"conv3d: padding must be an int or 3 ints, got {padding!r}")
    p = _ntuple("conv3d", "padding", padding, 3, 0)
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(
            f"conv3d: input has {x.shape[1]} channels but weight expects "
            f"{w.shape[1] * groups} (weight shape {w.shape}, groups={groups})"
        )
    if p[0]:
        x = pad(x, (0, 0, 0, 0, p[0], p[0]))
    n = x.shape[0]
    try:
        slices = _depth_slices(x, w.shape[2], s[0], d[0])
    except RuntimeError as e:
        raise RuntimeError(f"conv3d: {e} (input {lift(input).shape}, weight {w.shape})") from None
    out = None
    for t, sl in enumerate(slices):
        y = conv2d(sl, getitem(w, (slice(None), slice(None), t)), None, s[1:], p[1:], d[1:], groups)
        out = y if out is None else out + y
    assert out is not None  # _depth_slices returns at least one slice (or raises)
    do = out.shape[0] // n
    out = out.reshape(n, do, *out.shape[1:]).transpose(1, 2)
    if bias is not None:
        out = out + lift(bias, out).reshape(-1, 1, 1, 1)
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """``F.conv_transpose3d``, weight (C_in, C_out / groups, kD, kH, kW): each depth tap t is a
    2-D transposed convolution of every input depth slice z, added at output depth z s + t d;
    then ``padding`` crops (and ``output_padding`` extends) the depth as in 2-D."""
    x, unbatched = _batched5("conv_transpose3d", lift(input))
    w = lift(weight)
    if w.ndim != 5 or x.shape[1] != w.shape[0]:
        raise RuntimeError(
            f"conv_transpose3d: weight must be 5-D (in_channels, out_channels / "
            f"groups, kD, kH, kW) matching {x.shape[1]} input channels, got "
            f"{w.shape}"
        )
    s = _ntuple("conv_transpose3d", "stride", stride, 3, 1)
    d = _ntuple("conv_transpose3d", "dilation", dilation, 3, 1)
    p = _ntuple("conv_transpose3d", "padding", padding, 3, 0)
    op = _ntuple("conv_transpose3d", "output_padding", output_padding, 3, 0)
    n, c, depth = x.shape[:3]
    kd = w.shape[2]
    full = (depth - 1) * s[0] + (kd - 1) * d[0] + 1 + op[0]
    folded = x.transpose(1, 2).reshape(n * depth, c, *x.shape[3:])
    out = None
    for t in range(kd):
        y = conv_transpose2d(
            folded,
            getitem(w, (slice(None), slice(None), t)),
            None,
            s[1:],
            p[1:],
            op[1:],
            groups,
            d[1:],
        )
        y = y.reshape(n, depth, *y.shape[1:])
        if out is None:
            out = Tensor._wrap(np.zeros((n, full) + tuple(y.shape[2:]), y._data.dtype))
        out = index_add(out, 1, Tensor._wrap(np.arange(depth) * s[0] + t * d[0]), y)
    assert out is not None  # the kernel has kd >= 1 depth taps
    out = getitem(out, (slice(None), slice(p[0], full - p[0]))).transpose(1, 2)
    if bias is not None:
        out = out + lift(bias, out).reshape(-1, 1, 1, 1)
    return out.squeeze(0) if unbatched else out


def _pool3d(
    op: str, input: Tensor, kernel_size: Any, stride: Any, padding: Any, reduce: str, **kw: Any
) -> Tensor:
    x, unbatched = _batched5(op, lift(input))
    k = _ntuple(op, "kernel_size", kernel_size, 3, 1)
    s = k if stride is None else _ntuple(op, "stride", stride, 3, 1)
    p = _ntuple(op, "padding", padding, 3, 0)
    if any(2 * pi > ki for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    if p[0]:
        fill = float("-inf") if reduce == "max" else 0.0
        x = pad(x, (0, 0, 0, 0, p[0], p[0]), value=fill)
    n = x.shape[0]
    try:
        slices = _depth_slices(x, k[0], s[0], 1)
    except RuntimeError as e:
        raise RuntimeError(f"{op}: {e} (input {lift(input).shape})") from None
    if reduce == "max":
        pooled = [max_pool2d(sl, k[1:], s[1:], p[1:]) for sl in slices]
        out = pooled[0]
        for y in pooled[1:]:
            out = maximum(out, y)
    else:
        out = stack([avg_pool2d(sl, k[1:], s[1:], p[1:], **kw) for sl in slices], 0).mean(0)
    do = out.shape[0] // n
    out = out.reshape(n, do, *out.shape[1:]).transpose(1, 2)
    return out.squeeze(0) if unbatched else out


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """``F.max_pool3d`` (dilation 1, no indices): the maximum over each (kD, kH, kW) window."""
    return _pool3d("max_pool3d", input, kernel_size, stride, padding, "max")


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
) -> Tensor:
    """``F.avg_pool3d``: the mean over each window (padding counted, as torch's default)."""
    if not count_include_pad:
        raise NotImplementedError("avg_pool3d: count_include_pad=False is not supported")
    return _pool3d("avg_pool3d", input, kernel_size, stride, padding, "avg")


__all__: list = []  # reached through handgrad.nn.functional
