"""Functions that make tensors: from data, filled, ranges, random (PyTorch names and defaults).

Every factory takes PyTorch's ``device=`` (the CPU is the only device: anything else raises) and,
where PyTorch's does, ``size=`` as a keyword (``hg.empty(size=(2, 3))``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._tensor_base import TensorBase, _infer_array, get_default_dtype
from .device import as_device
from .random import _generator

Tensor = TensorBase  # what these functions return is the public Tensor (see TensorBase._wrap)


def _size(size: Sequence, keyword: Any = None, op: str = "size") -> tuple:
    if keyword is not None:
        if size:
            raise TypeError(f"{op}: size given both positionally {tuple(size)} and as size=")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(
                f"{op}: size must be a sequence of non-negative ints, got {tuple(size)}"
            )
    return tuple(int(s) for s in size)


def _make(array: np.ndarray, requires_grad: bool, device: Any = None, op: str = "") -> Tensor:
    as_device(device, op)
    t = TensorBase._wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, a NumPy array or a tensor).
    Python floats become float32 (the default dtype), ints int64, bools bool."""
    if isinstance(data, TensorBase):
        data = data._data
    return _make(_infer_array(data, dtype), requires_grad, device, "tensor")


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array (or tensor) when the dtype allows."""
    as_device(device, "as_tensor")
    if isinstance(data, TensorBase):
        # every TensorBase made at run time is the public Tensor (TensorBase._wrap), which has to()
        return data if dtype is None else data.to(dtype)  # type: ignore[attr-defined]
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return TensorBase._wrap(data)
    return tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return TensorBase._wrap(array)


def _dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    shape = _size(size, kw.pop("size", None), "zeros")
    return _make(np.zeros(shape, _dtype(dtype)), requires_grad, device, "zeros")


def ones(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    shape = _size(size, kw.pop("size", None), "ones")
    return _make(np.ones(shape, _dtype(dtype)), requires_grad, device, "ones")


def empty(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
    **kw: Any,
) -> Tensor:
    shape = _size(size, kw.pop("size", None), "empty")
    return _make(np.empty(shape, _dtype(dtype)), requires_grad, device, "empty")


def full(
    size: Sequence,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if dtype is None:
        dtype = _infer_array(fill_value).dtype
    return _make(
        np.full(_size((size,), None, "full"), fill_value, dtype), requires_grad, device, "full"
    )


def eye(
    n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad, device, "eye")


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = get_default_dtype() if floats else np.int64
    return _make(np.arange(start, end, step).astype(dtype), requires_grad, device, "arange")


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """base ** linspace(start, end, steps), as torch.logspace (computed in float64, then cast)."""
    values = np.power(float(base), np.linspace(start, end, steps))
    return _make(values.astype(_dtype(dtype)), requires_grad, device, "logspace")


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _make(
        np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad, device, "linspace"
    )


def rand(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Uniform samples on [0, 1)."""
    a = _generator(generator).random(_size(size, kw.pop("size", None), "rand"), dtype=np.float64)
    return _make(a.astype(_dtype(dtype)), requires_grad, device, "rand")


def randn(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Standard normal samples."""
    a = _generator(generator).standard_normal(_size(size, kw.pop("size", None), "randn"))
    return _make(a.astype(_dtype(dtype)), requires_grad, device, "randn")


def randint(
    low: int,
    high: Any = None,
    size: Sequence = (),
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, high if high is not None else size
    a = _generator(generator).integers(low, high, _size((size,), None, "randint"))
    return _make(a.astype(np.int64 if dtype is None else dtype), requires_grad, device, "randint")


def randperm(
    n: int,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _make(
        _generator(generator).permutation(n).astype(dtype or np.int64),
        requires_grad,
        device,
        "randperm",
    )


def normal(
    mean: float,
    std: float,
    size: Sequence,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    a = _generator(generator).normal(mean, std, _size((size,), None, "normal"))
    return _make(a.astype(_dtype(dtype)), False, device, "normal")


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """``num_samples`` indices drawn from the categories weighted by each row of ``input`` (1-D or
    2-D, non-negative weights that need not sum to 1); without replacement no index repeats
    within a row. Not differentiable (the result is an int64 index tensor)."""
    w = np.asarray(input._data if isinstance(input, TensorBase) else input, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {w.shape}")
    rows = w.reshape(-1, w.shape[-1])
    n = rows.shape[1]
    if n == 0:
        raise RuntimeError("multinomial: the number of categories cannot be zero")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} <= 0 samples")
    if not replacement and num_samples > n:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist "
            f"size ({n}) samples without replacement"
        )
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError(
            "multinomial: probability tensor contains either inf, nan or element < 0"
        )
    sums = rows.sum(axis=1)
    if (sums <= 0).any():
        raise RuntimeError(
            "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
        )
    if not replacement and ((rows > 0).sum(axis=1) < num_samples).any():
        raise RuntimeError(
            "multinomial: invalid multinomial distribution (with replacement=False, "
            "not enough non-negative category to sample)"
        )
    rng = _generator(generator)
    out = np.empty((rows.shape[0], num_samples), np.int64)
    for i, (p, s) in enumerate(zip(rows, sums)):
        out[i] = rng.choice(n, size=num_samples, replace=replacement, p=p / s)
    return TensorBase._wrap(out.reshape(w.shape[:-1] + (num_samples,)))


def _like(fn: Any) -> Any:
    def like(
        input: Tensor,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        memory_format: Any = None,
        **kw: Any,
    ) -> Tensor:
        return fn(
            input.shape,
            dtype=input.dtype if dtype is None else dtype,
            device=device,
            requires_grad=requires_grad,
            **kw,
        )

    like.__name__ = fn.__name__ + "_like"
    like.__qualname__ = like.__name__
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(
    input: Tensor,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
) -> Tensor:
    return full(
        input.shape,
        fill_value,
        dtype=dtype or input.dtype,
        device=device,
        requires_grad=requires_grad,
    )


def randint_like(
    input: Tensor,
    low: int,
    high: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        input.shape,
        dtype=dtype or input.dtype,
        device=device,
        requires_grad=requires_grad,
    )


def is_complex(input: Tensor) -> bool:
    return input.dtype.kind == "c"


def is_floating_point(input: Tensor) -> bool:
    return input.dtype.kind == "f"


contiguous_format = "contiguous_format"
preserve_format = "preserve_format"
channels_last = "channels_last"

__all__ = [
    "arange",
    "as_tensor",
    "channels_last",
    "contiguous_format",
    "empty",
    "empty_like",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "is_complex",
    "is_floating_point",
    "linspace",
    "logspace",
    "multinomial",
    "normal",
    "ones",
    "ones_like",
    "preserve_format",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]
