"""DataLoader(num_workers=N): batches loaded in worker processes, against num_workers=0 and
torch.utils.data (order, IterableDataset splitting, worker info, seeding, errors, shutdown)."""

from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest
import torch.utils.data as tdata

import handgrad as hg
from handgrad.data import DataLoader, Dataset, IterableDataset, get_worker_info


class Squares(Dataset):
    """A deterministic dataset that also says which process loaded each sample."""

    def __len__(self):
        return 23

    def __getitem__(self, i):
        return np.array([i, i * i], np.float32), i % 5


class WhoAmI(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array(
            [
                info.id,
                info.num_workers,
                os.getpid(),
                float(hg.rand(1).item()),
                float(np.random.rand()),
            ]
        ), info.seed


def _stream(base, worker_info):
    class Range(base):
        def __iter__(self):
            info = worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(np.arange(start, 11, step, dtype=np.float32).tolist())

    return Range


class Failing(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 4:
            raise KeyError(f"no sample {i}")
        return np.float32(i)


class Dying(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            os._exit(7)
        return np.float32(i)


class Sleepy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(3)
        return np.float32(i)


def _init(worker_id):
    np.random.seed(1000 + worker_id)  # a user's worker_init_fn: re-seeds NumPy per worker


def _batches(loader):
    return [[t.numpy() for t in batch] for batch in loader]


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_same_batches_in_the_same_order_as_in_process(context):
    kw = dict(batch_size=4, shuffle=True)
    plain = _batches(DataLoader(Squares(), generator=hg.Generator(5), **kw))
    workers = _batches(
        DataLoader(
            Squares(),
            generator=hg.Generator(5),
            num_workers=2,
            multiprocessing_context=context,
            **kw,
        )
    )
    assert len(plain) == len(workers) == 6
    for a, b in zip(plain, workers):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("batch_size", [None, 2, 3])
def test_iterable_dataset_is_interleaved_across_workers_as_torch(batch_size):
    ours = list(
        DataLoader(
            _stream(IterableDataset, get_worker_info)(), batch_size=batch_size, num_workers=2
        )
    )
    theirs = list(
        tdata.DataLoader(
            _stream(tdata.IterableDataset, tdata.get_worker_info)(),
            batch_size=batch_size,
            num_workers=2,
        )
    )

    def values(batches):
        return [np.asarray(b.numpy() if hasattr(b, "numpy") else b).tolist() for b in batches]

    assert values(ours) == values(theirs)


def test_worker_info_seeds_and_worker_init_fn():
    def run(seed):
        loader = DataLoader(
            WhoAmI(),
            batch_size=2,
            num_workers=2,
            worker_init_fn=_init,
            generator=hg.Generator(seed),
        )
        batches = list(loader)
        return (
            np.concatenate([b[0].numpy() for b in batches]),
            np.concatenate([b[1].numpy() for b in batches]),
        )

    rows, seeds = run(0)
    assert get_worker_info() is None  # the main process is not a worker
    ids = rows[:, 0].astype(int)
    assert ids.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]  # batches go round robin to the workers
    assert set(rows[:, 1]) == {2}
    assert (seeds[ids == 1] - seeds[ids == 0] == 1).all()  # base_seed + worker_id, as torch
    assert len(set(rows[:, 2])) == 2 and os.getpid() not in rows[:, 2]
    first = rows[[0, 2], 3]
    assert first[0] != first[1]  # handgrad's generator is seeded differently per worker
    expected = [np.random.RandomState(1000 + i).rand() for i in (0, 1)]
    np.testing.assert_allclose(rows[[0, 2], 4], expected)  # worker_init_fn ran in the worker
    again, again_seeds = run(0)  # the same loader generator: the same seeds and draws
    np.testing.assert_array_equal(again_seeds, seeds)
    np.testing.assert_array_equal(again[:, [0, 1, 3, 4]], rows[:, [0, 1, 3, 4]])


def test_an_exception_in_a_worker_is_raised_with_its_type_and_traceback():
    with pytest.raises(KeyError, match=r"(?s)in DataLoader worker process 0.*no sample 4"):
        list(DataLoader(Failing(), batch_size=2, num_workers=2))


def test_a_worker_that_dies_is_named():
    with pytest.raises(
        RuntimeError,
        match=r"DataLoader worker\(s\) exited unexpectedly: "
        r"pid \d+ \(exit code 7\)",
    ):
        list(DataLoader(Dying(), batch_size=1, num_workers=2))


def test_timeout():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        list(DataLoader(Sleepy(), batch_size=1, num_workers=1, timeout=0.5))


def test_persistent_workers_survive_epochs_and_others_stop():
    loader = DataLoader(
        Squares(), batch_size=5, num_workers=2, persistent_workers=True, prefetch_factor=1
    )
    first = _batches(loader)
    pids = [w.pid for w in loader._persistent_iter.workers]
    for _ in range(2):
        for a, b in zip(_batches(loader), first):
            np.testing.assert_array_equal(a[0], b[0])
        assert [w.pid for w in loader._persistent_iter.workers] == pids
    for _batch in loader:  # leave an epoch early: the next one starts clean
        break
    assert len(_batches(loader)) == 5
    persistent = list(loader._persistent_iter.workers)
    del loader  # persistent workers live as long as their loader
    assert all(not w.is_alive() for w in persistent)

    it = iter(DataLoader(Squares(), batch_size=5, num_workers=2))
    next(it)
    workers = list(it.workers)
    del it  # a `break` out of the loop: the workers are stopped
    assert all(not w.is_alive() for w in workers)
    list(DataLoader(Squares(), batch_size=5, num_workers=2))
    assert not multiprocessing.active_children()


def test_worker_option_errors_as_torch():
    ds = Squares()
    for kw in ({"persistent_workers": True}, {"prefetch_factor": 2}):
        with pytest.raises(ValueError):
            tdata.DataLoader(ds, **kw)
        with pytest.raises(ValueError, match="DataLoader: p"):
            DataLoader(ds, **kw)


class Uneven(IterableDataset):
    """Worker 0 streams 2 items, worker 1 streams 9: the loader must keep asking worker 1."""

    def __iter__(self):
        info = get_worker_info()
        n = 2 if info.id == 0 else 9
        return iter([float(100 * info.id + k) for k in range(n)])


def test_uneven_streams_are_read_to_the_end():
    ours = [
        float(v)
        for b in DataLoader(Uneven(), batch_size=1, num_workers=2, prefetch_factor=1)
        for v in b.numpy()
    ]

    class Theirs(tdata.IterableDataset):
        def __iter__(self):
            info = tdata.get_worker_info()
            n = 2 if info.id == 0 else 9
            return iter([float(100 * info.id + k) for k in range(n)])

    theirs = [
        float(v)
        for b in tdata.DataLoader(Theirs(), batch_size=1, num_workers=2, prefetch_factor=1)
        for v in b.numpy()
    ]
    assert ours == theirs and len(ours) == 11
