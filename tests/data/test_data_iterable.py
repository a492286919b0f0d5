"""IterableDataset streams and the worker options of DataLoader, against torch.utils.data."""

from __future__ import annotations

import numpy as np
import pytest
import torch.utils.data as tdata

import handgrad as hg
from handgrad.data import DataLoader, IterableDataset, TensorDataset


def _stream(base):
    class Squares(base):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            for i in range(self.n):
                yield np.array([i, i * i], dtype=np.float32), i % 3

        def __len__(self):
            return self.n

    return Squares


@pytest.mark.parametrize(
    "batch_size, drop_last", [(4, False), (4, True), (1, False), (None, False), (10, False)]
)
def test_iterable_batches_as_torch(batch_size, drop_last):
    ours = DataLoader(_stream(IterableDataset)(10), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(
        _stream(tdata.IterableDataset)(10), batch_size=batch_size, drop_last=drop_last
    )
    a, b = list(ours), list(theirs)
    assert len(a) == len(b) == len(ours) == len(theirs)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(
                np.asarray(u.numpy() if hasattr(u, "numpy") else u),
                v.numpy() if hasattr(v, "numpy") else v,
            )


def test_worker_options_give_the_same_batches():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    ds = TensorDataset(hg.from_numpy(x))
    plain = [b[0].numpy() for b in DataLoader(ds, batch_size=3)]
    workers = [
        b[0].numpy()
        for b in DataLoader(
            ds,
            batch_size=3,
            num_workers=2,
            pin_memory=True,
            persistent_workers=True,
            prefetch_factor=2,
        )
    ]
    for a, b in zip(plain, workers):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kw, pattern",
    [
        ({"shuffle": True}, r"DataLoader: an IterableDataset is read in its own order"),
        ({"batch_size": 0}, r"batch_size"),
    ],
)
def test_iterable_errors(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        DataLoader(_stream(IterableDataset)(3), **kw)


def test_worker_option_errors():
    ds = TensorDataset(hg.zeros(3))
    with pytest.raises(
        ValueError,
        match=r"DataLoader: num_workers option should be a "
        r"non-negative int, got -1",
    ):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(TypeError):
        len(DataLoader(type("NoLen", (IterableDataset,), {"__iter__": lambda s: iter([])})()))
