"""Normalisation as functions: batch, layer, group, instance and RMS normalisation (Ioffe &
Szegedy 2015; Ba, Kiros & Hinton 2016; Wu & He 2018; Ulyanov et al. 2016; Zhang & Sennrich
2019), ``F.normalize`` and ``F.local_response_norm``.

Training-mode batch normalization and layer normalization are one fused primitive each
(ops/normalization.py: the three-term backward derived by hand, one node instead of about ten;
issue 13). The others, and evaluation-mode batch normalization (a fixed affine map), are
compositions of primitives (mean, subtract, multiply, rsqrt): stable as written, and their
gradients (including the terms through the mean and the variance) come from the primitives'
rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import ops
from ..._tensor import Tensor, lift
from ...ops.normalization import batch_norm_train, layer_norm_fused
from ...ops.shape import pad


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """``F.batch_norm`` over every dim but the channel dim 1.

    Training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias with the batch statistics, the
    variance *biased* (divided by N = number of values per channel); the running statistics are
    updated in place as running = (1 - momentum) running + momentum * batch_stat, using the
    *unbiased* variance (divided by N - 1) for ``running_var``: PyTorch's convention.
    Evaluation: the running statistics replace the batch ones (and no gradient flows to them).
    """
    x = lift(input)
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input with at least 2 dims (N, C, ...), got shape {x.shape}"
        )
    c = x.shape[1]
    view = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c if c else 0
        if n == 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {x.shape}"
            )
        if n > 1:
            # One fused node (ops/normalization.py), which also updates the running statistics.
            return batch_norm_train(
                x,
                None if weight is None else lift(weight, x),
                None if bias is None else lift(bias, x),
                running_mean,
                running_var,
                momentum,
                eps,
            )
        y = x * 1  # an empty batch: an empty output, running statistics untouched (torch)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var are needed when training=False"
            )
        mean = Tensor._wrap(running_mean._data.reshape(view).astype(x.dtype, copy=False))
        var = Tensor._wrap(running_var._data.reshape(view).astype(x.dtype, copy=False))
        y = (x - mean) * ops.rsqrt(var + eps)
    if weight is not None:
        y = y * lift(weight, x).reshape(view)
    if bias is not None:
        y = y + lift(bias, x).reshape(view)
    elif weight is not None:
        y = y + 0.0  # torch's x a + (0 - mean a): +0.0 where y w is -0.0 (a negative weight)
    return y


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """``F.layer_norm``: normalise over the last ``len(normalized_shape)`` dims of each example
    (biased variance), then scale and shift element-wise."""
    x = lift(input)
    shape = tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[-k:]) != shape:
        raise RuntimeError(
            f"layer_norm: normalized_shape {shape} does not match the trailing dims of the "
            f"input of shape {x.shape}"
        )
    return layer_norm_fused(
        x,
        k,
        None if weight is None else lift(weight, x),
        None if bias is None else lift(bias, x),
        eps,
    )


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    *,
    _overflow_is_bias: bool = False,
) -> Tensor:
    """Normalise each example over each group of C / num_groups channels and all spatial
    positions (Wu & He 2018; biased variance), then scale and shift per channel.
    (``_overflow_is_bias``: instance_norm's rule, see ops/normalization.py.)"""
    x = lift(input)
    if x.ndim < 2 or num_groups < 1 or x.shape[1] % num_groups:
        raise RuntimeError(
            f"group_norm: {num_groups} groups need an input (N, C, ...) with C "
            f"divisible by them, got shape {x.shape}"
        )
    n, c = x.shape[:2]
    if x.numel() == 0:  # an empty batch or spatial size: nothing to normalise (torch)
        y = x * 1
        view = (1, c) + (1,) * (x.ndim - 2)
        if weight is not None:
            y = y * lift(weight, x).reshape(view)
        return y if bias is None else y + lift(bias, x).reshape(view)
    # the fused layer normalization of each group (its hand-derived backward forms the gradient
    # without the composition's overflowing intermediates: issue 11), over the group's channels
    # and positions (the last two dims), the weight and bias inside the node (per channel, one
    # value along the positions; why inside: ops/normalization.py, LayerNorm)
    shape = (n, num_groups, c // num_groups, -1)
    y = layer_norm_fused(
        x.reshape(shape),
        2,
        None if weight is None else lift(weight, x).reshape(shape[1:3] + (1,)),
        None if bias is None else lift(bias, x).reshape(shape[1:3] + (1,)),
        eps,
        _overflow_is_bias,
    )
    return y.reshape(x.shape)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each example over its spatial positions (Ulyanov et al. 2016):
    group_norm with one group per channel. Running statistics are not supported."""
    x = lift(input)
    if running_mean is not None or running_var is not None or not use_input_stats:
        raise NotImplementedError(
            "instance_norm: running statistics are not supported "
            "(use_input_stats=True, no running_mean/running_var)"
        )
    if x.ndim < 3:
        raise ValueError(
            f"instance_norm: expected an input (N, C, ...) with spatial dims, got shape {x.shape}"
        )
    # C = 0: one (empty) group
    return group_norm(x, max(x.shape[1], 1), weight, bias, eps, _overflow_is_bias=True)


def rms_norm(
    input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dims (Zhang & Sennrich 2019), times weight; eps
    defaults to the dtype's machine epsilon, as torch."""
    x = lift(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x.shape[-k:]) != shape:
        raise RuntimeError(
            f"rms_norm: normalized_shape {shape} does not match the trailing dims "
            f"of the input of shape {x.shape}"
        )
    e = float(np.finfo(x._data.dtype).eps) if eps is None else eps
    y = x * ops.rsqrt((x * x).mean(tuple(range(x.ndim - k, x.ndim)), keepdim=True) + e)
    return y if weight is None else y * lift(weight, x)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    x = lift(input)
    return x / ops.clamp(ops.norm(x, p, dim, keepdim=True), min=eps)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """b_c = a_c / (k + alpha / size * sum of a_c'^2 over the ``size`` channels around c)^beta
    (Krizhevsky et al. 2012), the window zero-padded at the channel ends as torch."""
    x = lift(input)
    if x.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected an input (N, C, ...) with at least 3 "
            f"dims, got shape {x.shape}"
        )
    if x.numel() == 0:
        # torch returns an empty input itself: its gradient is g, with no graph to x, where the
        # recorded backward of the composition below ties it to x, and a second derivative's
        # zeros went on to an earlier step's inf (fuzz seed 300309259: NaN, torch 0)
        return x
    c = x.shape[1]
    sq = (x * x).movedim(1, -1)  # channels last, so F.pad's last-dim rule pads them
    padded = pad(sq, (size // 2, (size - 1) // 2))
    window = padded[..., 0:c]
    for i in range(1, size):
        window = window + padded[..., i : i + c]
    div = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return x / div


__all__ = [
    "batch_norm",
    "layer_norm",
    "group_norm",
    "instance_norm",
    "rms_norm",
    "normalize",
    "local_response_norm",
]
