"""Data-loading worker processes: what runs inside each worker of
``DataLoader(num_workers=N)``, ``get_worker_info()``, and the parent's side of the exchange.

Protocol (torch's): the parent sends each worker, round robin, tasks ``(epoch, idx, indices)``
on the worker's own index queue and keeps ``prefetch_factor * num_workers`` tasks in flight;
workers put ``(epoch, idx, batch)`` on one shared result queue; the parent hands batches out in
``idx`` order, whatever order they arrive in. ``None`` on an index queue stops the worker.
Each worker seeds Python's ``random``, NumPy's legacy global generator and handgrad's global
generator with ``base_seed + worker_id`` (``base_seed`` drawn by the parent for each iterator,
as torch), then calls ``worker_init_fn(worker_id)``.

An exception in a worker travels back as ``_WorkerFailure`` and is raised in the parent, for
the batch it belongs to, with the worker's traceback; a worker that dies (killed, segfault,
``os._exit``) is noticed within a second and named in a ``RuntimeError``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import random
import time
import traceback
import weakref
from collections.abc import Callable
from multiprocessing import reduction
from typing import Any

import numpy as np

from .. import random as hg_random
from .collate import default_collate

_POLL = 0.5  # seconds between liveness checks while waiting


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed``,
    ``dataset`` (this worker's copy). Read-only, as torch's."""

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key: str, value: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"WorkerInfo: cannot assign attribute {key!r}: it is read-only")
        super().__setattr__(key, value)

    def __repr__(self) -> str:
        return f"WorkerInfo({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__keys)})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker: its ``WorkerInfo``; in the main process: ``None``. An
    ``IterableDataset`` uses it to give each worker its own share of the stream."""
    return _worker_info


class _WorkerFailure:
    """An exception raised in a worker, carried to the parent as its type and traceback."""

    def __init__(self, worker_id: int, where: str) -> None:
        import sys

        self.exc_type = sys.exc_info()[0]
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # a class defined inside a function cannot travel
            self.exc_type = RuntimeError
        self.text = (
            f"Caught {self.exc_type.__name__} {where} in DataLoader worker process "
            f"{worker_id}.\nOriginal {traceback.format_exc()}"
        )

    def reraise(self) -> None:
        try:
            error = self.exc_type(self.text)
        except Exception:  # an exception type whose constructor takes other arguments
            error = RuntimeError(self.text)
        raise error


class _IterableEnd:
    """A worker's copy of an ``IterableDataset`` is exhausted."""


_NO_MORE = object()  # the sampler has no more batches


def _seed_worker(seed: int) -> None:
    random.seed(seed)
    hg_random.manual_seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))


def _fetch_stream(
    stream: Any, collate_fn: Callable, batch_size: int | None, drop_last: bool
) -> Any:
    if batch_size is None:
        return collate_fn(next(stream))
    batch = list(itertools.islice(stream, batch_size))
    if not batch or (drop_last and len(batch) < batch_size):
        raise StopIteration
    return collate_fn(batch)


def _fetch_map(dataset: Any, indices: Any, collate_fn: Callable, batched: bool) -> Any:
    if not batched:
        return collate_fn(dataset[indices])
    if collate_fn is default_collate:
        fast = getattr(dataset, "_collated_batch", None)
        out = None if fast is None else fast(np.asarray(indices, dtype=np.int64))
        if out is not None:
            return out
    return collate_fn([dataset[i] for i in indices])


def worker_loop(
    dataset: Any,
    index_queue: Any,
    result_queue: Any,
    collate_fn: Callable,
    batched: bool,
    iterable: bool,
    batch_size: int | None,
    drop_last: bool,
    seed: int,
    worker_id: int,
    num_workers: int,
    init_fn: Callable | None,
    parent_pid: int,
) -> None:
    """The body of one worker process. Ctrl-C reaches the whole process group: the worker
    leaves quietly and the main process raises ``KeyboardInterrupt`` (as torch's workers)."""
    try:
        _worker_body(
            dataset,
            index_queue,
            result_queue,
            collate_fn,
            batched,
            iterable,
            batch_size,
            drop_last,
            seed,
            worker_id,
            num_workers,
            init_fn,
            parent_pid,
        )
    except KeyboardInterrupt:
        pass


def _worker_body(
    dataset: Any,
    index_queue: Any,
    result_queue: Any,
    collate_fn: Callable,
    batched: bool,
    iterable: bool,
    batch_size: int | None,
    drop_last: bool,
    seed: int,
    worker_id: int,
    num_workers: int,
    init_fn: Callable | None,
    parent_pid: int,
) -> None:
    global _worker_info
    # On exit, do not wait for the queue's feeder thread to flush into a pipe the parent may
    # have stopped reading (it reads what it needs before telling workers to stop).
    result_queue.cancel_join_thread()
    _seed_worker(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    init_failure = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        init_failure = _WorkerFailure(worker_id, "in worker_init_fn")
    stream, stream_epoch = None, None
    while True:
        try:
            task = index_queue.get(timeout=_POLL * 2)
        except queue.Empty:
            if os.getppid() != parent_pid:  # the parent is gone: nobody will stop us
                return
            continue
        if task is None:
            return
        epoch, idx, indices = task
        data: Any
        if init_failure is not None:
            data = init_failure
        else:
            try:
                if iterable:
                    if stream_epoch != epoch:
                        stream, stream_epoch = iter(dataset), epoch
                    data = _fetch_stream(stream, collate_fn, batch_size, drop_last)
                else:
                    data = _fetch_map(dataset, indices, collate_fn, batched)
            except StopIteration:
                data = _IterableEnd() if iterable else _WorkerFailure(worker_id, "")
            except Exception:
                data = _WorkerFailure(worker_id, "")
        try:  # pickled here, so that a batch that cannot be pickled is reported, not lost
            payload = bytes(reduction.ForkingPickler.dumps((epoch, idx, data)))
        except Exception:
            payload = bytes(
                reduction.ForkingPickler.dumps(
                    (epoch, idx, _WorkerFailure(worker_id, "while sending the batch"))
                )
            )
        result_queue.put(payload)
        del data, payload


class MultiProcessIter:
    """The parent's iterator over batches loaded by worker processes (see the module
    docstring). With ``persistent_workers`` the loader keeps it and calls ``reset`` for each new
    epoch; otherwise the workers stop at the end of the epoch, on an error, or when the
    iterator is garbage-collected (a ``break`` out of the loop)."""

    def __init__(self, loader: Any) -> None:
        # A weak reference: the loader keeps a persistent iterator, and a cycle would keep the
        # workers alive after the loader is dropped, until the garbage collector ran.
        self._loader = weakref.ref(loader)
        self.persistent, self.timeout = loader.persistent_workers, loader.timeout
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self.num_workers = loader.num_workers
        # at least one task in flight, or prefetch_factor=0 would end the epoch at once
        self.prefetch = max(1, loader.prefetch_factor * self.num_workers)
        self.result_queue = ctx.Queue()
        self.index_queues: list = []
        self.workers: list = []
        self.epoch = 0
        self.batches: Any = iter(())
        self._started = False
        self.reset()  # the sampler draws its order before the base seed is drawn
        base_seed = int(hg_random._generator(loader.generator).integers(0, 2**62))
        for worker_id in range(self.num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            w = ctx.Process(
                target=worker_loop,
                daemon=True,
                args=(
                    loader.dataset,
                    index_queue,
                    self.result_queue,
                    loader.collate_fn,
                    loader.batch_sampler is not None,
                    loader._iterable,
                    loader.batch_size,
                    loader.drop_last,
                    base_seed + worker_id,
                    worker_id,
                    self.num_workers,
                    loader.worker_init_fn,
                    os.getpid(),
                ),
            )
            w.start()
            self.index_queues.append(index_queue)
            self.workers.append(w)
        self._started = True
        for _ in range(self.prefetch):
            self._put()

    def reset(self) -> None:
        """Start an epoch: a fresh order from the sampler, nothing in flight."""
        self.epoch += 1
        loader = self._loader()
        if loader._iterable:
            self.batches = itertools.repeat(None)
        else:
            it = iter(loader.batch_sampler if loader.batch_sampler is not None else loader.sampler)
            # Pull the first batch now: a sampler draws its order on the first next(), and
            # that draw must come before the base seed's, as in torch.
            first = next(it, _NO_MORE)
            self.batches = iter(()) if first is _NO_MORE else itertools.chain([first], it)
        self.send_idx = self.rcvd_idx = 0
        self.results: dict = {}
        self.owner: dict = {}
        self.active = [True] * self.num_workers
        self.next_worker = itertools.cycle(range(self.num_workers))
        self.done = False
        if self._started:
            for _ in range(self.prefetch):
                self._put()

    def _put(self) -> None:
        if not any(self.active):
            return
        for worker_id in self.next_worker:
            if self.active[worker_id]:
                break
        indices = next(self.batches, _NO_MORE)
        if indices is _NO_MORE:
            return
        self.index_queues[worker_id].put((self.epoch, self.send_idx, indices))
        self.owner[self.send_idx] = worker_id
        self.send_idx += 1

    def __iter__(self) -> MultiProcessIter:
        return self

    def __next__(self) -> Any:
        while True:
            if self.rcvd_idx == self.send_idx:
                self._end_epoch()
                raise StopIteration
            if self.rcvd_idx in self.results:
                data = self.results.pop(self.rcvd_idx)
                worker_id = self.owner.pop(self.rcvd_idx)
                self.rcvd_idx += 1
                if isinstance(data, _IterableEnd):
                    self.active[worker_id] = False
                    self._put()  # the task goes to a worker whose stream may still run
                    continue
                if isinstance(data, _WorkerFailure):
                    self.shutdown()
                    data.reraise()
                self._put()
                return data
            epoch, idx, data = self._get()
            if epoch == self.epoch:  # results of an epoch left early are dropped
                self.results[idx] = data

    def _get(self) -> tuple:
        timeout = self.timeout
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            wait = _POLL if deadline is None else max(0.0, min(_POLL, deadline - time.monotonic()))
            try:
                return pickle.loads(self.result_queue.get(timeout=wait))
            except queue.Empty:
                pass
            dead = [w for w in self.workers if not w.is_alive()]
            if dead:
                self.shutdown()
                pids = ", ".join(f"{w.pid} (exit code {w.exitcode})" for w in dead)
                raise RuntimeError(
                    f"DataLoader worker(s) exited unexpectedly: pid {pids}; "
                    f"a worker killed by a signal has a negative exit code "
                    f"(-9: SIGKILL, e.g. out of memory)"
                )
            if deadline is not None and time.monotonic() >= deadline:
                self.shutdown()
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def _end_epoch(self) -> None:
        if not self.persistent:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the workers: ask, wait a little, then terminate the ones still running."""
        workers, self.workers = self.workers, []
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join()
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()
        self.index_queues = []
        self.done = True
        loader = self._loader()
        if loader is not None and loader._persistent_iter is self:
            loader._persistent_iter = None

    def __del__(self) -> None:
        if getattr(self, "workers", None):
            self.shutdown()
