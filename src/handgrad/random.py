"""Random number generation: one global NumPy generator, seeded by ``manual_seed``.

handgrad's streams are not PyTorch's: the same seed gives the same numbers run after run, but
not the numbers PyTorch would draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._tensor_base import TensorBase, get_default_dtype
from .composed.methods import ComposedMethods

if TYPE_CHECKING:  # pragma: no cover
    from ._tensor import Tensor


class Generator:
    """A seedable source of random numbers (``torch.Generator``), wrapping
    ``numpy.random.Generator``; pass it as ``generator=`` to random functions and DataLoaders."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._seed = seed

    def manual_seed(self, seed: int) -> Generator:
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict:
        return dict(self._rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (and return it), as ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    entropy = np.random.SeedSequence().entropy
    assert isinstance(entropy, int)  # drawn from the OS when no entropy is given: an int
    s = entropy % (2**63)
    default_generator.manual_seed(s)
    return s


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _generator(generator: Any = None) -> np.random.Generator:
    return (generator or default_generator)._rng


# ---- sampling ---------------------------------------------------------------------------------


def bernoulli(
    input: Tensor, p: float | None = None, *, generator: Any = None, out: Any = None
) -> Tensor:
    """1 with probability ``input`` (or ``p``, for every element), else 0, elementwise; of
    ``input``'s dtype. Not differentiable."""
    if out is not None:
        raise NotImplementedError("bernoulli: out= is not supported")
    a = np.asarray(input._data if isinstance(input, TensorBase) else input)
    probs = np.full(a.shape, p) if p is not None else a
    if probs.size and not ((probs >= 0) & (probs <= 1)).all():
        raise RuntimeError(
            f"bernoulli: probabilities must be in [0, 1], got {probs.min()}..{probs.max()}"
        )
    draws = _generator(generator).random(a.shape) < probs
    dtype = a.dtype if a.dtype.kind == "f" else get_default_dtype()
    return TensorBase._wrap(draws.astype(dtype))


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


class SamplingMethods(ComposedMethods):
    """The Tensor methods that draw from the generator, beside ``uniform_`` / ``normal_`` (and
    through the base class the other methods of composed functions). NumPy's distributions
    (torch's streams differ), written in place under the rules of ``tensor_methods/inplace.py``:

        exponential_(lambd)       -log(U) / lambd
        geometric_(p)             the number of trials up to the first success, 1, 2, ...
        cauchy_(median, sigma)    median + sigma tan(pi (U - 1/2))
        log_normal_(mean, std)    exp(N(mean, std))
        random_(from, to)         integers in [from, to), or [0, to) with one argument
        bernoulli_(p)             1 with probability p, else 0
    """

    __slots__ = ()

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Tensor:
        return bernoulli(self, p, generator=generator)  # type: ignore[arg-type]

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
