"""The ``Case`` record and the input generators the parity cases share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@dataclass
class Case:
    """One way to exercise a primitive.

    ``fn(lib, *tensors, **params)`` runs the operation with ``lib`` = ``torch`` or ``handgrad``
    (the APIs are the same, which is itself under test). ``draw(data)`` returns
    ``(arrays, params)``: float arrays become tensors that require grad, integer and boolean
    arrays become constant tensors.
    """

    fn: Callable
    draw: Callable[[Any], tuple[list[np.ndarray], dict]]
    grad: bool = True  # compare first derivatives with PyTorch
    second: bool = True  # compare second derivatives with PyTorch
    fd: bool = True  # finite-difference check (inputs away from kinks)
    tol32: tuple = (1e-4, 1e-5)  # (rtol, atol) in float32
    tol64: tuple = (1e-9, 1e-11)
    note: str = ""
    kwargs: dict = field(default_factory=dict)


def rng(data: Any) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def shape(
    data: Any, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> tuple:
    return data.draw(
        hnp.array_shapes(
            min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
        ),
        label="shape",
    )


def broadcast_shapes(data: Any, n: int = 2, max_dims: int = 3) -> tuple:
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, max_side=4)
    )
    return shapes.input_shapes


def values(r: np.random.Generator, shape: tuple, kind: str = "any") -> np.ndarray:
    """Float64 values of a given kind: ``any`` (normal), ``pos`` (in [0.5, 2]), ``nonzero``
    (|x| in [0.3, 2]), ``distinct`` (no two within 0.1: no ties, no kinks at 0), ``unit``
    (in (0.05, 0.95)), ``ints`` (small integers as floats: ties and exact zeros on purpose)."""
    n = int(np.prod(shape)) if shape else 1
    if kind == "any":
        a = r.standard_normal(n)
    elif kind == "pos":
        a = r.uniform(0.5, 2.0, n)
    elif kind == "nonzero":
        a = r.uniform(0.3, 2.0, n) * r.choice([-1.0, 1.0], n)
    elif kind == "distinct":
        a = (r.permutation(n) - n / 2 + 0.5 + r.uniform(-0.3, 0.3, n) * 0.5) * 0.25 + 0.0625
    elif kind == "unit":
        a = r.uniform(0.05, 0.95, n)
    elif kind == "ints":
        a = r.integers(-2, 3, n).astype(np.float64)
    else:
        raise ValueError(kind)
    return a.reshape(shape)


def dim(data: Any, ndim: int, allow_none: bool = True) -> Any:
    """None, an int (possibly negative) or a tuple of distinct dims."""
    if ndim == 0:
        return data.draw(st.sampled_from([None, 0, -1] if allow_none else [0, -1]))
    options = [st.integers(-ndim, ndim - 1)]
    if allow_none:
        options += [
            st.none(),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
        ]
    return data.draw(st.one_of(*options), label="dim")


def unary(kind: str = "any", **shape_kw: Any) -> Callable:
    def draw(data: Any) -> tuple[list[np.ndarray], dict]:
        return [values(rng(data), shape(data, **shape_kw), kind)], {}

    return draw


def binary(kind_a: str = "any", kind_b: str = "any") -> Callable:
    def draw(data: Any) -> tuple[list[np.ndarray], dict]:
        r = rng(data)
        sa, sb = broadcast_shapes(data)
        return [values(r, sa, kind_a), values(r, sb, kind_b)], {}

    return draw
