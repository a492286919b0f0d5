"""``torch.nn.utils.fusion``: a convolution (or linear layer) followed by an eval-mode batch
norm folded into one layer, as deployment scripts do before export:

    bn(conv(x)) = gamma (W x + b - mean) / sqrt(var + eps) + beta
                = (s W) x + s (b - mean) + beta,     s = gamma / sqrt(var + eps),

s scaling each output channel (dim 0 of the weight; dim 1 for a transposed convolution). The
layers are not changed: the fused layer is a copy of the first with the new weight and bias."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..module import Module, Parameter


def _fuse(
    weight: Any, bias: Any, mean: Any, var: Any, eps: float, gamma: Any, beta: Any, axis: int
) -> tuple[np.ndarray, np.ndarray]:
    w = weight._data if hasattr(weight, "_data") else np.asarray(weight)
    dtype = w.dtype
    b = np.zeros(w.shape[axis], dtype) if bias is None else np.asarray(getattr(bias, "_data", bias))
    g = np.ones_like(b) if gamma is None else np.asarray(getattr(gamma, "_data", gamma))
    be = np.zeros_like(b) if beta is None else np.asarray(getattr(beta, "_data", beta))
    m, v = np.asarray(getattr(mean, "_data", mean)), np.asarray(getattr(var, "_data", var))
    scale = g / np.sqrt(v + eps)
    shape = [1] * w.ndim
    shape[axis] = -1
    return (w * scale.reshape(shape)).astype(dtype), ((b - m) * scale + be).astype(dtype)


def fuse_conv_bn_weights(
    conv_w: Any,
    conv_b: Any,
    bn_rm: Any,
    bn_rv: Any,
    bn_eps: float,
    bn_w: Any,
    bn_b: Any,
    transpose: bool = False,
) -> tuple[Parameter, Parameter]:
    w, b = _fuse(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, 1 if transpose else 0)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_w.requires_grad)


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of ``conv`` computing ``bn(conv(x))`` of the eval-mode ``bn``."""
    if conv.training or bn.training:
        raise AssertionError("fuse_conv_bn_eval: only eval-mode layers can be fused")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight,
        fused.bias,
        bn.running_mean,
        bn.running_var,
        bn.eps,
        bn.weight,
        bn.bias,
        transpose,
    )
    return fused


def fuse_linear_bn_weights(
    linear_w: Any, linear_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any, bn_b: Any
) -> tuple[Parameter, Parameter]:
    w, b = _fuse(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, 0)
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_w.requires_grad)


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of ``linear`` computing ``bn(linear(x))`` of the eval-mode ``bn``."""
    if linear.training or bn.training:
        raise AssertionError("fuse_linear_bn_eval: only eval-mode layers can be fused")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    return fused


__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]
