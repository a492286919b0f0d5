"""Input values by mode: ``normal``, ``ties`` (few distinct small integers: ties and exact zeros),
``wide`` (magnitudes spread over many decades) and ``edge`` (normal values sprinkled with 0, -0.0,
denormals, huge values, +-inf and NaN). Shapes include 0-d, size-1 and size-0 dims."""

from __future__ import annotations

import numpy as np

MODES = ("normal", "ties", "wide", "edge")


def make_values(r: np.random.Generator, shape: tuple, dtype: np.dtype, mode: str) -> np.ndarray:
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) if shape else 1
    if mode == "ties":
        a = r.integers(-2, 3, n).astype(np.float64)
    elif mode == "wide":
        top = 30 if dtype == np.float32 else 200
        a = r.standard_normal(n) * 10.0 ** r.uniform(-top, top, n)
    elif mode == "edge":
        fi = np.finfo(dtype)
        specials = np.array(
            [
                0.0,
                -0.0,
                float(fi.smallest_subnormal),
                -float(fi.smallest_subnormal),
                float(fi.max) / 4,
                -float(fi.max) / 4,
                np.inf,
                -np.inf,
                np.nan,
                1.0,
            ]
        )
        a = r.standard_normal(n)
        pick = r.random(n) < 0.3
        a[pick] = r.choice(specials, int(pick.sum()))
    else:
        a = r.standard_normal(n)
    with np.errstate(over="ignore"):
        return a.astype(dtype).reshape(shape)


def random_shape(r: np.random.Generator) -> tuple:
    """0 to 4 dims of sides 0 to 4, size 1 and size 0 common; (N, C, L) and (N, C, H, W) often,
    so that convolution and pooling apply."""
    kind = r.random()
    if kind < 0.1:
        return ()
    if kind < 0.3:
        nd = int(r.integers(3, 5))
        return tuple(
            int(r.choice([0, 1, 2, 3, 4, 5], p=[0.08, 0.2, 0.25, 0.2, 0.15, 0.12]))
            for _ in range(nd)
        )
    nd = int(r.integers(1, 4))
    return tuple(int(r.choice([0, 1, 2, 3, 4], p=[0.08, 0.22, 0.25, 0.25, 0.2])) for _ in range(nd))
