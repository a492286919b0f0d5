"""Pooling as functions: max, average, power-average (LP) and adaptive pooling in 1, 2 and 3
dims (fused primitives in ``handgrad.ops.pool`` and ``handgrad.composed.volume``), and
``F.max_unpool2d``, the partial inverse of max pooling, composed of scatters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import composed, ops
from ..._tensor import Tensor, lift
from ...composed.volume import avg_pool3d, max_pool3d
from ...ops.pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Put each pooled value back at the position its index names (h * W + w in its plane),
    zeros elsewhere; the gradient of each pooled value is g read back at its position."""
    x, idx = lift(input), lift(indices)
    k = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
    s = k if stride is None else ((stride,) * 2 if isinstance(stride, int) else tuple(stride))
    p = (padding,) * 2 if isinstance(padding, int) else tuple(padding)
    if x.shape != idx.shape or x.ndim not in (3, 4):
        raise ValueError(
            f"max_unpool2d: input {x.shape} and indices {idx.shape} must have the "
            "same 3-D or 4-D shape"
        )
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
        raise ValueError(
            f"max_unpool2d: indices must lie in [0, {out_hw[0] * out_hw[1]}) for an "
            f"output of {out_hw}, got {flat_i.min()}..{flat_i.max()}"
        )
    index = Tensor._wrap(flat_i.astype(np.int64))
    # Overlapping pooling windows can name one position twice (with the same value). The value
    # is then written once; the gradient follows torch's convention, the adjoint of pooling's
    # gather: every pooled entry reads g at its index. scatter_add has exactly that gradient,
    # so it carries the gradient while its value is swapped for the written one.
    summed = ops.scatter_add(zeros, -1, index, flat_x)
    out = composed.scatter(zeros, -1, index, flat_x).detach() + (summed - summed.detach())
    return out.reshape(*lead, *out_hw)


__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_unpool2d",
]
