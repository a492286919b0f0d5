"""Argument checks shared by the estimators (cluster, manifold, sparse): messages name the
estimator or function, the argument and the value at fault."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._tensor import Tensor
from .random import Generator


def float64(op: str, name: str, x: Any, expected: str) -> np.ndarray:
    """``x`` (an array, a tensor, nested lists) as a float64 array; anything else is a TypeError
    saying that ``name`` must be ``expected``. Tensors are read without copying."""
    if isinstance(x, Tensor):
        x = x._data
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be {expected}, got {type(x).__name__}") from None


def as_data(op: str, x: Any, name: str = "X") -> np.ndarray:
    """``x`` as a finite float64 (N, D) array; tensors are read without copying."""
    arr = float64(op, name, x, "an (n_samples, n_features) array or tensor of numbers")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{op}: {name} must be a non-empty 2-d array (n_samples, n_features), "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{op}: {name} contains NaN or infinite values")
    return arr


def as_batch(op: str, data: Any) -> np.ndarray:
    """``data`` (an array, a tensor, or a TensorDataset: its inputs) as a non-empty floating-point
    batch (N, ...), in its own dtype."""
    if hasattr(data, "tensors"):  # a TensorDataset: its inputs
        data = data.tensors[0]
    array = data._data if isinstance(data, Tensor) else np.asarray(data)
    if array.dtype.kind != "f" or array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(
            f"{op}: data must be a non-empty floating-point batch (N, ...), got "
            f"dtype {array.dtype} shape {array.shape}"
        )
    return array


def positive_int(op: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_float(op: str, name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(float(value))
        or value < 0
    ):
        raise ValueError(f"{op}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def rng_from(op: str, random_state: Any) -> np.random.Generator:
    """scikit-learn's ``random_state``: None (fresh entropy), an int seed, a NumPy Generator or
    RandomState, or a handgrad Generator."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{op}: random_state must be a non-negative seed, got {random_state}")
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    if isinstance(random_state, Generator):
        return random_state._rng
    raise TypeError(
        f"{op}: random_state must be None, an int, or a NumPy/handgrad Generator, "
        f"got {random_state!r}"
    )
