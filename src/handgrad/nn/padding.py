"""Padding layers (``ZeroPad2d``, ``ConstantPad1d/2d``, ``ReflectionPad1d/2d``,
``ReplicationPad1d/2d``, ``CircularPad1d/2d``): ``F.pad`` with the layer's widths and mode."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ..ops.shape import pad
from .module import Module


class _PadNd(Module):
    _nd = 1
    _mode = "constant"

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        n = 2 * self._nd
        self.padding = (padding,) * n if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != n:
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or {n} ints, got {padding!r}"
            )
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if self._mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self._mode == "constant" else "")


class ConstantPad1d(_PadNd):
    """Pad the last 1 dim with mode 'constant' (see F.pad)."""

    _nd = 1
    _mode = "constant"


class ConstantPad2d(_PadNd):
    """Pad the last 2 dims with mode 'constant' (see F.pad)."""

    _nd = 2
    _mode = "constant"


class ReflectionPad1d(_PadNd):
    """Pad the last 1 dim with mode 'reflect' (see F.pad)."""

    _nd = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last 2 dims with mode 'reflect' (see F.pad)."""

    _nd = 2
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last 1 dim with mode 'replicate' (see F.pad)."""

    _nd = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last 2 dims with mode 'replicate' (see F.pad)."""

    _nd = 2
    _mode = "replicate"


class CircularPad1d(_PadNd):
    """Pad the last 1 dim with mode 'circular' (see F.pad)."""

    _nd = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last 2 dims with mode 'circular' (see F.pad)."""

    _nd = 2
    _mode = "circular"


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


__all__ = [
    "ConstantPad1d",
    "ConstantPad2d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "CircularPad1d",
    "CircularPad2d",
    "ZeroPad1d",
    "ZeroPad2d",
]
