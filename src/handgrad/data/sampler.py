"""Samplers: the order in which a DataLoader visits a dataset's indices (``torch.utils.data``).

Each epoch's indices are drawn in one vectorised NumPy call when iteration starts. Without a
``generator`` the global one (``handgrad.manual_seed``) is used, looked up at each epoch so that
re-seeding takes effect. The streams are NumPy's, not PyTorch's: a seed fixes the order run
after run, but it is not the order PyTorch would give.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from ..random import Generator, _generator


class Sampler:
    """Base class: an iterable over dataset indices (or over batches of them)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


def _positive_int(name: str, value: Any, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer, got {name}={value!r}")
    return int(value)


def _bool(name: str, value: Any, owner: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {name} should be a boolean, got {name}={value!r}")
    return value


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices into ``data_source``.

    Without replacement each epoch is a permutation of ``0 .. n-1``; a ``num_samples`` larger
    than ``n`` chains fresh permutations (as PyTorch does). With replacement the indices are
    ``num_samples`` independent uniform draws, so a point is missed in an epoch of ``n`` draws
    with probability ``(1 - 1/n)^n -> 1/e`` (see ``epoch_coverage``)."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = _bool("replacement", replacement, "RandomSampler")
        self._num_samples = num_samples
        self.generator = generator
        _positive_int("num_samples", self.num_samples, "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        if n == 0:
            raise ValueError(f"RandomSampler: cannot draw {k} samples from an empty data_source")
        rng = _generator(self.generator)
        if self.replacement:
            idx = rng.integers(0, n, size=k)
        else:
            perms = [rng.permutation(n) for _ in range(-(-k // n))]
            idx = np.concatenate(perms)[:k]
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a fresh permutation each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        perm = _generator(self.generator).permutation(len(self.indices))
        return iter(np.asarray(self.indices)[perm].tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices ``i`` drawn with probability ``weights[i] / sum(weights)``."""

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                "WeightedRandomSampler: weights must be a 1-D sequence of finite, "
                "non-negative numbers with a positive sum"
            )
        self.weights = w
        self.num_samples = _positive_int("num_samples", num_samples, "WeightedRandomSampler")
        self.replacement = _bool("replacement", replacement, "WeightedRandomSampler")
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw num_samples={num_samples} "
                f"without replacement from {np.count_nonzero(w)} non-zero weights"
            )
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        idx = _generator(self.generator).choice(len(p), self.num_samples, self.replacement, p)
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter batch is
    kept unless ``drop_last``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = _positive_int("batch_size", batch_size, "BatchSampler")
        self.drop_last = _bool("drop_last", drop_last, "BatchSampler")

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        # list(islice(...)) runs in C: no Python bytecode per index.
        while batch := list(itertools.islice(it, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
