"""Functions that make tensors: from data, filled, ranges, random (PyTorch names and defaults)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .random import _generator
from ._tensor import Tensor, _infer_array, get_default_dtype


def _size(size: Sequence) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"size must be a sequence of non-negative ints, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, a NumPy array or a tensor).
    Python floats become float32 (the default dtype), ints int64, bools bool."""
    if isinstance(data, Tensor):
        data = data._data
    return _make(_infer_array(data, dtype), requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array (or tensor) when the dtype allows."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor._wrap(data)
    return tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def _dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_size(size), _dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_size(size), _dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.empty(_size(size), _dtype(dtype)), requires_grad)


def full(size: Sequence, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _infer_array(fill_value).dtype
    return _make(np.full(_size((size,)), fill_value, dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(
    start: Any, end: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = get_default_dtype() if floats else np.int64
    return _make(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _make(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def _like(fn: Any) -> Any:
    def like(input: Tensor, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        return fn(input.shape, dtype=input.dtype if dtype is None else dtype,
                  requires_grad=requires_grad, **kw)

    like.__name__ = fn.__name__ + "_like"
    return like


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False,
         generator: Any = None) -> Tensor:
    """Uniform samples on [0, 1)."""
    a = _generator(generator).random(_size(size), dtype=np.float64)
    return _make(a.astype(_dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False,
          generator: Any = None) -> Tensor:
    """Standard normal samples."""
    a = _generator(generator).standard_normal(_size(size))
    return _make(a.astype(_dtype(dtype)), requires_grad)


def randint(low: int, high: Any = None, size: Sequence = (), dtype: Any = None,
            generator: Any = None) -> Tensor:
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, high if high is not None else size
    a = _generator(generator).integers(low, high, _size((size,)))
    return _make(a.astype(np.int64 if dtype is None else dtype), False)


def randperm(n: int, dtype: Any = None, generator: Any = None) -> Tensor:
    return _make(_generator(generator).permutation(n).astype(dtype or np.int64), False)


def normal(mean: float, std: float, size: Sequence, generator: Any = None,
           dtype: Any = None) -> Tensor:
    a = _generator(generator).normal(mean, std, _size((size,)))
    return _make(a.astype(_dtype(dtype)), False)


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye", "arange",
    "linspace", "rand", "randn", "randint", "randperm", "normal", "zeros_like", "ones_like",
    "empty_like", "rand_like", "randn_like", "full_like",
]
