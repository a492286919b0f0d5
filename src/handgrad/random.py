"""Random number generation: one global NumPy generator, seeded by ``manual_seed``.

handgrad's streams are not PyTorch's: the same seed gives the same numbers run after run, but
not the numbers PyTorch would draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
