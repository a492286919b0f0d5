"""Affine layers: ``Identity``, ``Linear``, ``Bilinear`` and ``NormalizedLinear`` (whose
primitive and hand-derived backward are in ``handgrad.ops.normalized_linear``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, get_default_dtype
from ..ops.normalized_linear import NormalizedLinearFn, normalized_linear
from . import init
from .functional.linear import bilinear
from .module import Module, Parameter


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features).

    Initialised as in PyTorch: W ~ U(-1/sqrt(in), 1/sqrt(in)) (``kaiming_uniform_`` with
    a = sqrt(5)) and b ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a non-negative int, got {v!r}"
                )
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return ops.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class NormalizedLinear(Linear):
    """y_i = (w_i . x + b_i) / ||w_i||: a linear layer whose outputs do not change when a weight
    row is rescaled, so each unit is the signed distance (up to b_i / ||w_i||) of x to a
    hyperplane. Same parameters and initialisation as ``Linear``; the hand-derived backward is
    the primitive ``handgrad.ops.normalized_linear.NormalizedLinearFn``. Used in exercise
    002-a9."""

    def forward(self, input: Tensor) -> Tensor:
        return normalized_linear(input, self.weight, self.bias)


__all__ = ["Identity", "Linear", "NormalizedLinear", "NormalizedLinearFn", "normalized_linear"]


class Bilinear(Module):
    """y_k = x1^T W_k x2 + b_k, weight (out, in1, in2); initialised U(-1/sqrt(in1), 1/sqrt(in1))
    as torch."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dt))
        if bias:
            self.bias = Parameter(np.empty(out_features, dt))
        else:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if bias:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class LazyLinear(Linear):
    """A ``Linear`` whose ``in_features`` is read from its first input (torch's ``LazyLinear``):
    until then its weight is an empty parameter; the first call gives it the shape
    (out_features, input.shape[-1]) in place (the same Parameter object, so an optimizer built
    before the dry run holds it), initialises it as ``Linear``'s and makes the module a
    ``Linear``."""

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(0, out_features, bias, device, dtype)

    def reset_parameters(self) -> None:
        if self.in_features:
            super().reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        self.in_features = int(input.shape[-1])
        dtype = self.weight._data.dtype
        self.weight._data = np.empty((self.out_features, self.in_features), dtype)
        if self.bias is not None:
            self.bias._data = np.empty(self.out_features, dtype)
        self.__class__ = Linear  # type: ignore[assignment]
        self.reset_parameters()
        return self.forward(input)
