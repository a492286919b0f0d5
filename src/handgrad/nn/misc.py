"""Smaller layers of torch.nn: ``MaxUnpool1d/2d`` (the partial inverse of max pooling),
``LocalResponseNorm`` (AlexNet's normalisation across channels), ``ChannelShuffle`` and
``Softmax2d``. Compositions of handgrad ops."""

from __future__ import annotations

from typing import Any

from .. import ops
from ..tensor import Tensor, lift
from .functional.normalization import local_response_norm
from .functional.pooling import max_unpool2d
from .functional.vision import channel_shuffle
from .module import Module


class MaxUnpool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class ChannelShuffle(Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)


class Softmax2d(Module):
    """Softmax over the channels at every pixel of (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        x = lift(input)
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got shape {x.shape}")
        return ops.softmax(x, -3)


__all__ = ["MaxUnpool2d", "LocalResponseNorm", "ChannelShuffle", "Softmax2d"]
