"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` with
PyTorch's constructor arguments, attribute names (``weight``, ``bias``, ``kernel_size`` as a tuple,
...) and initialisation: ``kaiming_uniform_(weight, a=sqrt(5))``, which is U(-1/sqrt(fan_in),
1/sqrt(fan_in)), and the bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where fan_in is the weight's
second size times the kernel area (in_channels / groups for a convolution, out_channels / groups
for a transposed one, as PyTorch computes it)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor, get_default_dtype
from ..ops.conv import _ntuple
from . import init
from .functional.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .functional.vision import pad
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Conv1d/2d/3d (and, through ``_ConvTransposeNd``, the transposed ones): one constructor with
    torch's arguments and defaults, one forward. A subclass names its dimension ``_nd`` and its
    function ``_function`` (``F.conv{1,2,3}d`` or ``F.conv_transpose{1,2,3}d``)."""

    _nd = 2
    _transposed = False
    _function: Callable[..., Tensor]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self._setup(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            dtype,
        )

    def _setup(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: Any,
        dtype: Any,
    ) -> None:
        """The checks and parameters shared by both constructors (whose argument orders differ,
        as in torch)."""
        super().__init__()
        name, nd = type(self).__name__, self._nd
        for what, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        if in_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} must be divisible by groups={groups}"
            )
        if out_channels % groups:
            raise ValueError(
                f"{name}: out_channels={out_channels} must be divisible by groups={groups}"
            )
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        if padding_mode != "zeros" and self._transposed:
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported (as in PyTorch), "
                f"got {padding_mode!r}"
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _ntuple(name, "kernel_size", kernel_size, nd, 1)
        self.stride = _ntuple(name, "stride", stride, nd, 1)
        self.dilation = _ntuple(name, "dilation", dilation, nd, 1)
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: padding must be an int or a tuple of ints"
                    + ("" if self._transposed else ", 'same' or 'valid'")
                    + f", got {padding!r}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided "
                    f"convolutions (stride={self.stride})"
                )
            self.padding: Any = padding
        else:
            self.padding = _ntuple(name, "padding", padding, nd, 0)
        self.output_padding = _ntuple(name, "output_padding", output_padding, nd, 0)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        # F.pad's widths for the non-zero modes, last dim first; 'same' puts the odd extra
        # element on the right, as PyTorch does.
        if self.padding == "valid":
            widths = [(0, 0)] * nd
        elif self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            widths = [(t // 2, t - t // 2) for t in totals]
        else:
            widths = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = tuple(w for lo_hi in widths[::-1] for w in lo_hi)
        self.transposed = self._transposed
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        conv = type(self)._function
        if self.padding_mode != "zeros":
            input = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        nd = self._nd
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) inputs: ``F.conv1d`` with this layer's weight (out_channels,
    in_channels / groups, k) and bias."""

    _nd = 1
    _function = staticmethod(conv1d)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) inputs: ``F.conv2d`` with this layer's weight
    (out_channels, in_channels / groups, kH, kW) and bias. Output size per axis
    floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1."""

    _nd = 2
    _function = staticmethod(conv2d)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) inputs: ``F.conv3d`` (a sum of 2-D convolutions over
    the kernel's depth taps) with weight (out_channels, in_channels / groups, kD, kH, kW)."""

    _nd = 3
    _function = staticmethod(conv3d)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self._setup(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return type(self)._function(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple:
        """PyTorch's rule: the output_padding that gives ``output_size`` (which must lie within
        one stride of the smallest possible size)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = tuple(output_size)[-nd:]
        if len(size) != nd:
            raise ValueError(
                f"{type(self).__name__}: output_size must have {nd} or {nd + 2} "
                f"elements, got {tuple(output_size)}"
            )
        out = []
        for d in range(nd):
            n = input.shape[input.ndim - nd + d]
            smallest = (
                (n - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            largest = smallest + self.stride[d] - 1
            if not smallest <= size[d] <= largest:
                raise ValueError(
                    f"{type(self).__name__}: requested output size {size} is not possible for "
                    f"input of shape {input.shape}: dimension {d} must be between {smallest} "
                    f"and {largest}"
                )
            out.append(size[d] - smallest)
        return tuple(out)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of Conv1d with respect to its input) over
    (N, C, L) inputs; weight (in_channels, out_channels / groups, k)."""

    _nd = 1
    _function = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (the gradient of Conv2d with respect to its input) over
    (N, C, H, W) inputs; weight (in_channels, out_channels / groups, kH, kW). Output size per axis
    (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1; ``forward(x,
    output_size)`` picks the output_padding that gives ``output_size``."""

    _nd = 2
    _function = staticmethod(conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution (the gradient of Conv3d with respect to its input) over
    (N, C, D, H, W) inputs; weight (in_channels, out_channels / groups, kD, kH, kW)."""

    _nd = 3
    _function = staticmethod(conv_transpose3d)


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
