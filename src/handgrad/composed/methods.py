"""``ComposedMethods``: the Tensor methods of functions that live outside the core engine
(element-wise predicates, ``unflatten``, ``bernoulli`` and the in-place samplers beside
``uniform_`` / ``normal_``), one ``def`` each, as the method groups of ``tensor_methods`` are;
``Tensor`` inherits them.

The samplers draw from handgrad's generator with NumPy's distributions (torch's streams differ)
and write in place under the rules of ``tensor_methods/inplace.py``:

    exponential_(lambd)       -log(U) / lambd
    geometric_(p)             the number of trials up to the first success, 1, 2, ...
    cauchy_(median, sigma)    median + sigma tan(pi (U - 1/2))
    log_normal_(mean, std)    exp(N(mean, std))
    random_(from, to)         integers in [from, to), or [0, to) with one argument
    bernoulli_(p)             1 with probability p, else 0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import creation, ops
from ..random import _generator
from . import predicates
from .arrange import unflatten

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor


def _fill(t: Any, name: str, draw: Callable[[np.random.Generator, tuple], Any], gen: Any) -> Any:
    t._inplace(name)  # the in-place rules: a leaf requiring grad only under no_grad, ...
    t._data[...] = draw(_generator(gen), t._data.shape)
    return t


def _random_bounds(t: Any, args: tuple) -> tuple[int, int]:
    if len(args) == 1:
        return 0, int(args[0])
    if len(args) == 2:
        return int(args[0]), int(args[1])
    if args:
        raise TypeError(f"random_: takes at most 2 bounds (from, to), got {len(args)}")
    # no bounds: torch's [0, 2^mantissa] for floats, the dtype's range for integers
    dt = t._data.dtype
    if dt.kind == "f":
        return 0, 2 ** (np.finfo(dt).nmant + 1) + 1
    return (0, 2) if dt.kind == "b" else (0, int(np.iinfo(dt).max))


class ComposedMethods:
    __slots__ = ()

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Tensor:
        return creation.bernoulli(self, p, generator=generator)  # type: ignore[arg-type, return-value]

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        probs = np.asarray(p._data if hasattr(p, "_data") else p)
        return _fill(self, "bernoulli_", lambda g, s: g.random(s) < probs, generator)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        return _fill(self, "exponential_", lambda g, s: g.exponential(1 / lambd, s), generator)

    def geometric_(self, p: float, *, generator: Any = None) -> Tensor:
        return _fill(self, "geometric_", lambda g, s: g.geometric(p, s), generator)

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
        return _fill(self, "cauchy_", lambda g, s: median + sigma * g.standard_cauchy(s), generator)

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
        return _fill(self, "log_normal_", lambda g, s: g.lognormal(mean, std, s), generator)

    def random_(self, *bounds: int, generator: Any = None) -> Tensor:
        low, high = _random_bounds(self, bounds)
        return _fill(self, "random_", lambda g, s: g.integers(low, high, s), generator)

    def isnan(self) -> Tensor:
        return ops.isnan(self)

    def isfinite(self) -> Tensor:
        return ops.isfinite(self)

    def isinf(self) -> Tensor:
        return predicates.isinf(self)

    def isposinf(self) -> Tensor:
        return predicates.isposinf(self)

    def isneginf(self) -> Tensor:
        return predicates.isneginf(self)

    def isreal(self) -> Tensor:
        return predicates.isreal(self)

    def signbit(self) -> Tensor:
        return predicates.signbit(self)

    def logical_xor(self, other: Any) -> Tensor:
        return predicates.logical_xor(self, other)

    def equal(self, other: Any) -> bool:
        return predicates.equal(self, other)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        return unflatten(self, dim, sizes)  # type: ignore[arg-type]
