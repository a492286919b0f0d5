"""DataLoader: batches of samples from a dataset, with PyTorch's arguments and collate rules.

``num_workers=0`` loads every batch in the calling process; ``num_workers=N`` loads in N worker
processes (``worker.py``: torch's protocol, seeding, ``worker_init_fn``, ``prefetch_factor``,
``persistent_workers``, ``timeout``), giving the same batches in the same order. Workers pay off
when each sample costs Python work (decoding, augmentation); for in-memory tensors NumPy
indexing in one process is faster. ``pin_memory`` is accepted and does nothing (no GPU), and
``in_order=False`` still delivers in order.

When the dataset can hand over a whole batch from an index array (``TensorDataset``, a
``Subset`` of one, ``MNIST`` without transforms) and the default collate is used, each batch is
one fancy-indexing operation instead of a Python loop over its samples (in a worker too); the
result is the same as fetching and collating item by item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..random import Generator
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, _positive_int
from .worker import MultiProcessIter


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    ``shuffle=True`` draws a fresh permutation each epoch from ``generator`` (or, without it,
    from the global generator, at the start of the epoch). A seeded generator gives the same
    batches run after run. ``sampler`` (any iterable of indices) and ``shuffle`` are exclusive;
    ``batch_sampler`` (an iterable of index lists) excludes ``batch_size``, ``shuffle``,
    ``sampler`` and ``drop_last``. ``batch_size=None`` turns batching off: samples come one by one
    through ``default_convert``. ``len(loader)`` is the number of batches."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler: Iterable | None = None,
        batch_sampler: Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be a non-negative int, got {num_workers!r}"
            )
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in "
                "multiprocessing; let num_workers > 0 to enable multiprocessing, "
                "otherwise set prefetch_factor to None"
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(
                f"DataLoader: prefetch_factor option should be non-negative, got {prefetch_factor}"
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        self.num_workers, self.pin_memory, self.timeout = int(num_workers), pin_memory, timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._persistent_iter: MultiProcessIter | None = None
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError(
                    "DataLoader: an IterableDataset is read in its own order: "
                    "shuffle, sampler and batch_sampler must be left unset (got "
                    f"shuffle={shuffle}, sampler={sampler!r}, batch_sampler="
                    f"{batch_sampler!r})"
                )
            if batch_size is not None:
                _positive_int("batch_size", batch_size, "DataLoader")
            self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
            self.sampler = self.batch_sampler = None
            self.generator = generator
            self.collate_fn = collate_fn or (
                default_convert if batch_size is None else default_collate
            )
            return
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with "
                    "batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "DataLoader: batch_size=None disables batching and is mutually "
                    "exclusive with drop_last"
                )
        else:
            _positive_int("batch_size", batch_size, "DataLoader")
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_convert if batch_sampler is None else default_collate

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.generator = generator

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return self._iter_single()
        if not self.persistent_workers:
            return MultiProcessIter(self)
        if self._persistent_iter is None or self._persistent_iter.done:
            self._persistent_iter = MultiProcessIter(self)
        else:
            self._persistent_iter.reset()
        return self._persistent_iter

    def _iter_single(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        fetch = None
        if self.collate_fn is default_collate:
            fetch = getattr(self.dataset, "_collated_batch", None)
        for batch in self.batch_sampler:
            out = None if fetch is None else fetch(np.asarray(batch, dtype=np.int64))
            if out is None:
                fetch = None  # this dataset declined the fast path; don't ask again
                out = self.collate_fn([self.dataset[i] for i in batch])
            yield out

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch: list = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # a TypeError names the dataset when it has no length
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
