"""Smaller layers of torch.nn: ``MaxUnpool1d/2d`` (the partial inverse of max pooling),
``LocalResponseNorm`` (AlexNet's normalisation across channels), ``ChannelShuffle`` and
``Softmax2d``. Compositions of handgrad ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import composed, ops
from ..ops.shape import pad
from .._tensor import Tensor, lift
from .module import Module


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """Put each pooled value back at the position its index names (h * W + w in its plane),
    zeros elsewhere; the gradient of each pooled value is g read back at its position."""
    x, idx = lift(input), lift(indices)
    k = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
    s = k if stride is None else ((stride,) * 2 if isinstance(stride, int) else tuple(stride))
    p = (padding,) * 2 if isinstance(padding, int) else tuple(padding)
    if x.shape != idx.shape or x.ndim not in (3, 4):
        raise ValueError(f"max_unpool2d: input {x.shape} and indices {idx.shape} must have the "
                         "same 3-D or 4-D shape")
    h_in, w_in = x.shape[-2:]
    if output_size is None:
        out_hw = ((h_in - 1) * s[0] - 2 * p[0] + k[0], (w_in - 1) * s[1] - 2 * p[1] + k[1])
    else:
        out_hw = tuple(output_size)[-2:]
    lead = x.shape[:-2]
    flat_x = x.reshape(*lead, h_in * w_in)
    zeros = Tensor._wrap(np.zeros(lead + (out_hw[0] * out_hw[1],), x._data.dtype))
    flat_i = idx._data.reshape(lead + (h_in * w_in,))
    if flat_i.size and (flat_i.min() < 0 or flat_i.max() >= out_hw[0] * out_hw[1]):
        raise ValueError(f"max_unpool2d: indices must lie in [0, {out_hw[0] * out_hw[1]}) for an "
                         f"output of {out_hw}, got {flat_i.min()}..{flat_i.max()}")
    index = Tensor._wrap(flat_i.astype(np.int64))
    # Overlapping pooling windows can name one position twice (with the same value). The value
    # is then written once; the gradient follows torch's convention, the adjoint of pooling's
    # gather: every pooled entry reads g at its index. scatter_add has exactly that gradient,
    # so it carries the gradient while its value is swapped for the written one.
    summed = ops.scatter_add(zeros, -1, index, flat_x)
    out = composed.scatter(zeros, -1, index, flat_x).detach() + (summed - summed.detach())
    return out.reshape(*lead, *out_hw)


class MaxUnpool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """b_c = a_c / (k + alpha / size * sum of a_c'^2 over the ``size`` channels around c)^beta
    (Krizhevsky et al. 2012), the window zero-padded at the channel ends as torch."""
    x = lift(input)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input (N, C, ...) with at least 3 "
                         f"dims, got shape {x.shape}")
    c = x.shape[1]
    sq = (x * x).movedim(1, -1)  # channels last, so F.pad's last-dim rule pads them
    padded = pad(sq, (size // 2, (size - 1) // 2))
    window = sum(padded[..., i:i + c] for i in range(size))
    div = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return x / div


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * m, ...) -> channels reordered (g, m) -> (m, g) (ShuffleNet, Zhang et al. 2018)."""
    x = lift(input)
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: {c} channels are not divisible into {groups} groups")
    rest = x.shape[2:]
    return x.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


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
