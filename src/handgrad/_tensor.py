"""The public ``Tensor``: ``TensorBase`` (what a tensor is) plus the method groups of
``handgrad.tensor_methods`` (what you can do with it). Nothing is installed at import: every method
is a ``def`` in one of those classes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tensor_base import TensorBase, get_default_dtype, lift, set_default_dtype  # noqa: F401
from .composed.inplace_variants import InplaceVariants
from .device import as_device
from .random import SamplingMethods  # with composed.methods.ComposedMethods
from .tensor_methods import (
    AutogradMethods,
    ConversionMethods,
    ElementwiseMethods,
    IndexingMethods,
    InplaceMethods,
    LinalgMethods,
    ReductionMethods,
    ShapeMethods,
)


class Tensor(
    ElementwiseMethods,
    ReductionMethods,
    ShapeMethods,
    IndexingMethods,
    LinalgMethods,
    InplaceMethods,
    InplaceVariants,
    SamplingMethods,
    ConversionMethods,
    AutogradMethods,
    TensorBase,
    output=True,
):
    """An n-dimensional array that can record the operations applied to it.

    Make tensors with ``handgrad.tensor(data)`` and the factories (``zeros``, ``randn``, ...).
    Calling the class itself follows PyTorch's legacy constructor: ``Tensor(2, 3)`` is an
    uninitialised 2x3 tensor of the default dtype, ``Tensor([[1, 2]])`` a tensor of the default
    dtype holding the data, ``Tensor()`` an empty one, ``Tensor(t)`` a tensor sharing ``t``'s data.
    """

    __slots__ = ()
    __hash__ = TensorBase.__hash__  # a tensor is hashed by identity (== is element-wise)

    def __init__(self, *args: Any, device: Any = None) -> None:
        as_device(device, "Tensor")
        if len(args) == 1 and isinstance(args[0], TensorBase):
            # torch.Tensor(t) aliases t's memory (an integer t keeps its dtype, as PyTorch's)
            self._setup(args[0]._data, version=args[0]._version)
            return
        self._setup(_legacy_array("Tensor", args, get_default_dtype()))


def _legacy_array(op: str, args: tuple, dtype: np.dtype) -> np.ndarray:
    """PyTorch's legacy constructors: one sequence is data, ints are sizes (uninitialised)."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        data = args[0]
        if isinstance(data, TensorBase):
            data = data._data
        if np.ndim(data) == 0:
            raise TypeError(f"{op}(): data must be a sequence (got {type(data).__name__})")
        return np.array(data, dtype=dtype)
    if not all(isinstance(s, (int, np.integer)) and s >= 0 for s in args):
        raise TypeError(f"{op}(): sizes must be non-negative ints, got {args}")
    return np.empty(tuple(int(s) for s in args) if args else (0,), dtype)


class _LegacyTensorType(type):
    """The metaclass of ``FloatTensor`` & co.: calling one makes a Tensor of its dtype, and
    ``isinstance(t, hg.FloatTensor)`` asks whether ``t`` is a float32 tensor, as in PyTorch."""

    legacy_dtype: np.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        as_device(device, cls.__name__)
        return TensorBase._wrap(_legacy_array(cls.__name__, args, cls.legacy_dtype))

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, TensorBase) and obj.dtype == cls.legacy_dtype


class FloatTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("float32")


class DoubleTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("float64")


class HalfTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("float16")


class LongTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("int64")


class IntTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("int32")


class ShortTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("int16")


class CharTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("int8")


class ByteTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("uint8")


class BoolTensor(metaclass=_LegacyTensorType):
    legacy_dtype = np.dtype("bool")


__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "Tensor",
    "get_default_dtype",
    "set_default_dtype",
]
