"""Tensor conveniences a PyTorch user reaches for, kept out of tensor.py so that the engine stays
short: ``new_*`` constructors, size and layout queries, more in-place data updates, integer and
bitwise operators, ``unfold`` (sliding windows), ``sum_to_size``, ``addmm``/``mv``, ``nansum``.
Each is a thin composition of handgrad functions; none is a primitive."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import composed, creation, ops
from .ops.reduce import normalize_dims
from ._tensor import Tensor, lift


def _size(size: tuple) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def new_zeros(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return creation.zeros(*_size(size), dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_ones(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return creation.ones(*_size(size), dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_empty(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return creation.empty(*_size(size), dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_full(self: Tensor, size: Any, fill_value: Any, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return creation.full(size, fill_value, dtype=dtype or self.dtype,
                         requires_grad=requires_grad)


def new_tensor(self: Tensor, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return creation.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def element_size(self: Tensor) -> int:
    return self._data.itemsize


def is_contiguous(self: Tensor, memory_format: Any = None) -> bool:
    return bool(self._data.flags.c_contiguous)


def stride(self: Tensor, dim: int | None = None) -> Any:
    """Strides in elements (NumPy's are in bytes)."""
    s = tuple(b // self._data.itemsize for b in self._data.strides)
    return s if dim is None else s[dim]


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last dim
    (the building block of im2col); the gradient sums over the windows an element falls in."""
    d = normalize_dims("unfold", dimension, self.ndim)[0] if self.ndim else 0
    n = self.shape[d] if self.ndim else 1
    if size < 0 or size > n or step < 1:
        raise RuntimeError(f"unfold: size {size} and step {step} do not fit dim {d} of size {n}")
    starts = np.arange(0, n - size + 1, step)
    idx = starts[:, None] + np.arange(size)[None, :]  # (windows, size)
    x = ops.getitem(self, (slice(None),) * d + (idx,))  # (..., windows, size, ...)
    return composed.movedim(x, d + 1, -1)


def sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """Sum broadcast dims away so that the result has ``size`` (the reverse of expand)."""
    size = _size(size)
    lead = self.ndim - len(size)
    if lead < 0:
        raise RuntimeError(f"sum_to_size: size {size} is not expandable to {self.shape}")
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(size)
                                      if n == 1 and self.shape[lead + i] != 1)
    for i, n in enumerate(size):
        if n not in (1, self.shape[lead + i]):
            raise RuntimeError(f"sum_to_size: size {size} is not expandable to {self.shape}")
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(size)


def mv(self: Tensor, vec: Tensor) -> Tensor:
    if self.ndim != 2 or lift(vec).ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {self.shape} and "
                           f"{lift(vec).shape}")
    return ops.matmul(self, vec)


def nansum(self: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return ops.where(ops.isnan(self), 0.0, self).sum(dim, keepdim=keepdim)


def nanmean(self: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    keep = ~ops.isnan(self)
    return nansum(self, dim, keepdim) / keep.to(self.dtype).sum(dim, keepdim=keepdim)


def index_fill(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    d = normalize_dims("index_fill", dim, self.ndim)[0]
    mask = np.zeros(self.shape[d], bool)
    mask[lift(index)._data] = True
    view = [1] * self.ndim
    view[d] = self.shape[d]
    return ops.where(Tensor._wrap(mask.reshape(view)), value, self)


def _bitwise(name: str, ufunc: Any) -> Any:
    def method(self: Tensor, other: Any) -> Tensor:
        a, b = self._data, lift(other)._data
        if a.dtype.kind not in "biu" or b.dtype.kind not in "biu":
            raise RuntimeError(f"{name}: needs integer or boolean tensors, got {a.dtype} and "
                               f"{b.dtype}")
        return Tensor._wrap(np.asarray(ufunc(a, b)))

    method.__name__ = name
    return method


def _inplace_unary(name: str, fn: Any) -> Any:
    def method(self: Tensor, *args: Any) -> Tensor:
        self._inplace(name)
        self._data[...] = fn(self._data, *[a._data if isinstance(a, Tensor) else a for a in args])
        return self

    method.__name__ = name
    return method


def _floordiv(self: Tensor, other: Any) -> Tensor:
    return (self / other).floor() if self._data.dtype.kind == "f" or isinstance(other, float) \
        else Tensor._wrap(np.floor_divide(self._data, lift(other)._data))


def _install() -> None:
    methods = {
        "new_zeros": new_zeros, "new_ones": new_ones, "new_empty": new_empty,
        "new_full": new_full, "new_tensor": new_tensor, "element_size": element_size,
        "is_contiguous": is_contiguous, "stride": stride, "unfold": unfold,
        "sum_to_size": sum_to_size, "mv": mv, "nansum": nansum, "nanmean": nanmean,
        "index_fill": index_fill,
        "ndimension": lambda self: self.ndim, "nelement": lambda self: self.numel(),
        "half": lambda self: self.to(np.float16), "short": lambda self: self.to(np.int16),
        "byte": lambda self: self.to(np.uint8), "t": lambda self: ops.t(self),
        "reshape_as": lambda self, other: self.reshape(other.shape),
        "addmm": lambda self, mat1, mat2, *, beta=1, alpha=1: composed.addmm(self, mat1, mat2,
                                                                       beta=beta, alpha=alpha),
        "sgn": lambda self: self.sign(),
        "true_divide": lambda self, other: self / other,
        "floor_divide": _floordiv, "__floordiv__": _floordiv,
        "__rfloordiv__": lambda self, other: _floordiv(lift(other, self), self),
        "remainder": lambda self, other: ops.remainder(self, other),
        "__mod__": lambda self, other: ops.remainder(self, other)
        if self._data.dtype.kind == "f" else Tensor._wrap(np.mod(self._data, lift(other)._data)),
        "__contains__": lambda self, item: bool(np.any(self._data == lift(item)._data)),
        "logical_xor": lambda self, other: Tensor._wrap(np.logical_xor(self._data,
                                                                      lift(other)._data)),
        "bitwise_and": _bitwise("bitwise_and", np.bitwise_and),
        "bitwise_or": _bitwise("bitwise_or", np.bitwise_or),
        "bitwise_xor": _bitwise("bitwise_xor", np.bitwise_xor),
        "__xor__": _bitwise("bitwise_xor", np.bitwise_xor),
        "bitwise_not": lambda self: Tensor._wrap(np.invert(self._data)),
        "exp_": _inplace_unary("exp_", np.exp), "sqrt_": _inplace_unary("sqrt_", np.sqrt),
        "neg_": _inplace_unary("neg_", np.negative), "abs_": _inplace_unary("abs_", np.abs),
        "square_": _inplace_unary("square_", np.square),
        "floor_": _inplace_unary("floor_", np.floor), "ceil_": _inplace_unary("ceil_", np.ceil),
        "round_": _inplace_unary("round_", np.round), "pow_": _inplace_unary("pow_", np.power),
        "lerp_": _inplace_unary("lerp_", lambda a, end, w: a + w * (end - a)),
        "masked_fill_": _inplace_unary("masked_fill_", lambda a, m, v: np.where(m, v, a)),
        "clip_": lambda self, min=None, max=None: self.clamp_(min, max),  # noqa: A002
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.H = property(lambda self: self.T)  # real tensors: the conjugate is the tensor
    Tensor.mH = property(lambda self: self.mT)


_install()
