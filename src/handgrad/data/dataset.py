"""Map-style datasets: an object with ``__len__`` and ``__getitem__`` (``torch.utils.data``).

Datasets that can produce a whole collated batch from an index array in one NumPy operation
define ``_collated_batch(indices)``; ``DataLoader`` uses it instead of fetching and stacking
items one by one (it returns ``None`` where the fast path does not apply).
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..random import Generator, _generator


class Dataset:
    """A map from indices ``0 .. len(self) - 1`` to samples; subclasses define ``__getitem__``
    and ``__len__``. ``a + b`` concatenates two datasets."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` (and may define ``__len__``). The
    DataLoader batches the stream in order; samplers and shuffling do not apply to it."""

    def __iter__(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Any) -> Any:
        raise TypeError(f"{type(self).__name__}: iterable datasets cannot be concatenated with +")


class TensorDataset(Dataset):
    """Samples are slices along the first dimension of each tensor: ``ds[i]`` is
    ``(t[i] for t in tensors)`` as a tuple. NumPy arrays are wrapped without copying."""

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        tensors = tuple(
            t if isinstance(t, Tensor) else Tensor._wrap(np.asarray(t)) for t in tensors
        )
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: all need the same "
                f"first dimension, got shapes {shapes}"
            )
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _collated_batch(self, indices: np.ndarray) -> list[Tensor] | None:
        # Stacking t[i] for i in indices equals fancy-indexing t with the index array. Tensors
        # that require grad take the slow path, which keeps them in the graph.
        if any(t.requires_grad for t in self.tensors):
            return None
        return [Tensor._wrap(t._data[indices]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    @property
    def indices(self) -> Sequence[int]:
        return self._indices

    @indices.setter
    def indices(self, value: Sequence[int]) -> None:
        self._indices = value
        self._index_array: np.ndarray | None = None  # made on the first fast-path batch

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _collated_batch(self, indices: np.ndarray) -> Any:
        inner = getattr(self.dataset, "_collated_batch", None)
        if inner is None:
            return None
        if self._index_array is None:
            self._index_array = np.asarray(self._indices, dtype=np.int64)
        return inner(self._index_array[indices])


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise IndexError(
                    f"ConcatDataset: index {index} out of range for length {len(self)}"
                )
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` may be fractions summing to 1 (as in PyTorch): each split then gets
    ``floor(frac * len(dataset))`` samples and the remainder is dealt out one by one,
    round-robin from the first split. Without ``generator`` the global generator is used."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(
                    f"random_split: fraction at index {i} is {frac}, not between 0 and 1"
                )
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: split at index {i} is empty", stacklevel=2)
        lengths = sizes
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative ints or fractions "
            f"summing to 1, got {list(lengths)}"
        )
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: lengths {list(lengths)} sum to {sum(lengths)}, "
            f"but the dataset has {n} samples"
        )
    perm = _generator(generator).permutation(n).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, perm[end - k : end]) for end, k in zip(ends, lengths)]
