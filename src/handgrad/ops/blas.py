"""The BLAS thread pool seen from the primitives: ``one_blas_thread`` for loops of small products.

An LSTM layer's time loop (ops/rnn_cell.py) makes one small product per step (h W^T, 32 x 128 x 512
in bench/bench_models.py), each depending on the last. A second BLAS thread cannot speed such a
product up much, and on a loaded 2-core machine it made the LSTM step 17x slower than one thread
(both threads of every small product must be scheduled at once). handgrad.threads sizes the pool
for the user (``set_num_threads``); this module only narrows it for the length of such a loop.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from ..autograd.grad_mode import is_grad_enabled, set_grad_enabled
from ._blocks import flat_views, unflat

_libs: list | None = None  # threadpoolctl's controllers of the BLAS libraries, found once


def blas_libs() -> list:
    """threadpoolctl's controllers of the BLAS libraries NumPy loaded (found on first use)."""
    global _libs
    if _libs is None:
        try:
            import threadpoolctl
        except ImportError:  # an optional extra: without it the pool keeps NumPy's own size
            _libs = []
            return _libs
        _libs = list(threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers)
    return _libs


class one_blas_thread:
    """``with one_blas_thread():`` the block's matrix products run on one BLAS thread; the
    previous sizes are restored on exit. About 10 us when the pool has more than one thread,
    nothing otherwise."""

    def __enter__(self) -> None:
        self.saved: list = []
        for lib in blas_libs():
            n = lib.get_num_threads()
            if n and n > 1:
                self.saved.append((lib, n))
                lib.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        for lib, n in self.saved:
            lib.set_num_threads(n)


def blas_threads() -> int:
    """The BLAS pool's size (1 without threadpoolctl or a threaded BLAS)."""
    return max((lib.get_num_threads() or 1 for lib in blas_libs()), default=1)


# ---- Python threads that share a primitive's independent parts -----------------------------

_pool: Any = None  # worker threads (grown to the BLAS pool's size - 1), named handgrad-conv-*


def _part_pool(workers: int) -> Any:
    global _pool
    if _pool is None or _pool._max_workers < workers - 1:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="handgrad-conv")
    return _pool


def _forget_pool() -> None:
    # A forked child (a DataLoader worker, a Hogwild process) inherits the pool object but not
    # its threads: work submitted there would wait forever. The child starts a pool of its own.
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_pool)


# True on a thread while it runs a part: a primitive called from inside a part (the two
# gradients of a convolution run side by side, each with its own bands) runs its own parts on
# that thread, so a part never waits on the pool it occupies.
_inside = threading.local()


def _as_part(body: Any, *args: Any) -> Any:
    was = getattr(_inside, "part", False)
    _inside.part = True
    try:
        return body(*args)
    finally:
        _inside.part = was


# OpenBLAS's pthreads workers spin for 2^28 cycles (about 0.1 s) after each threaded product before
# they sleep; a part run on handgrad's thread then shares its core with a spinning worker.
_SPIN_LOG2 = 4
_spin_checked = False


def _short_blas_spin() -> None:
    """Once, before handgrad first runs parts on its own threads: OpenBLAS's idle workers sleep
    after 2^_SPIN_LOG2 cycles instead of 2^28, unless the user set OPENBLAS_THREAD_TIMEOUT.
    OpenBLAS reads the setting when it starts its workers, so they are stopped and restarted
    (by its next threaded product) with it."""
    global _spin_checked
    if _spin_checked:
        return
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(not t.name.startswith("handgrad-conv") for t in others):
        return  # another thread may be inside a product: not while it could be (asked again)
    _spin_checked = True
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    for lib in blas_libs():
        dll: Any = getattr(lib, "dynlib", None)
        if getattr(lib, "internal_api", "") != "openblas" or lib.threading_layer != "pthreads":
            continue
        if not all(hasattr(dll, f) for f in ("openblas_read_env", "blas_thread_shutdown_")):
            continue
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(_SPIN_LOG2)
        try:
            dll.openblas_read_env()
            dll.blas_thread_shutdown_()
        finally:
            del os.environ["OPENBLAS_THREAD_TIMEOUT"]


def each_part(body: Any, size: int, workers: int) -> list:
    """``[body(lo, hi) for the parts]``, ``workers`` contiguous parts of ``range(size)`` in order,
    the first on the calling thread and the others on the pool's, every matrix product on one
    BLAS thread: NumPy's copies, ufuncs and products release the GIL, so independent parts of a
    primitive (a convolution's bands of rows, a normalization's channels) run on the cores the
    user gave the BLAS (``set_num_threads``). ``body`` may only write its own part of shared
    arrays; the results come back in part order, so sums of them round alike for any count.
    Called from inside a part, it runs every part on the calling thread."""
    if getattr(_inside, "part", False):
        workers = 1
    workers = max(1, min(workers, size))
    cuts = [size * i // workers for i in range(workers + 1)]
    with one_blas_thread():
        if workers == 1:
            return [body(0, size)]
        _short_blas_spin()
        pool = _part_pool(workers)
        futures = [pool.submit(_as_part, body, cuts[i], cuts[i + 1]) for i in range(1, workers)]
        return [_as_part(body, cuts[0], cuts[1])] + [f.result() for f in futures]


def two_threads() -> bool:
    """Whether work handed to ``side_by_side`` or ``wavefront`` here would run on two threads:
    the BLAS pool has more than one and the caller is not a part already."""
    return not getattr(_inside, "part", False) and blas_threads() > 1


def side_by_side(first: Any, second: Any) -> tuple:
    """``(first(), second())``, the second on a pool thread while the first runs here, when the
    BLAS pool has more than one thread and neither is inside a part already; each then runs
    its own parts on its own thread, every product on one BLAS thread. For two independent
    computations of one primitive (a convolution's input and weight gradients): each keeps its
    data in one core's cache, where sharing both computations' parts between the cores moved
    the data between them (bench/bench_models.py's ResNet backward). The second runs under the
    caller's grad mode."""
    if not two_threads():
        return first(), second()
    _short_blas_spin()
    recording = is_grad_enabled()

    def carried() -> Any:  # grad mode is per thread: the second runs under the caller's
        with set_grad_enabled(recording):
            return second()

    with one_blas_thread():
        future = _part_pool(2).submit(_as_part, carried)
        return _as_part(first), future.result()


def wavefront(stages: list, chunks: int) -> None:
    """``stage(c)`` for every stage and every chunk c = 0 .. chunks - 1, each stage's chunks in
    order and stage k's chunk c after stage k - 1's chunk c (stage k reads what stage k - 1 wrote
    for that chunk). With more than one BLAS thread the stages alternate between the calling
    thread and a pool thread, so that stage k works on chunk c while stage k - 1 works on chunk
    c + 1: the layers of a stacked LSTM, whose time loops are sequential within a layer but not
    between layers. Every product runs on one BLAS thread. The arithmetic is that of running the
    stages one after the other, so one thread and two give the same bits. A stage that raises
    releases the chunks it had not done (the other thread finishes on whatever they hold), and
    the error is raised here once both threads are done."""
    if len(stages) < 2 or chunks < 2 or not two_threads():
        with one_blas_thread():
            for stage in stages:
                for c in range(chunks):
                    stage(c)
        return
    done = [[threading.Event() for _ in range(chunks)] for _ in stages]

    def run(first: int) -> None:  # stages first, first + 2, ... (a stage's chunks in order)
        mine = range(first, len(stages), 2)
        try:
            for k in mine:
                for c in range(chunks):
                    if k:
                        done[k - 1][c].wait()
                    stages[k](c)
                    done[k][c].set()
        finally:  # after an error too: no stage of the other thread waits forever on these
            for k in mine:
                for event in done[k]:
                    event.set()

    _short_blas_spin()
    with one_blas_thread():
        future = _part_pool(2).submit(_as_part, run, 1)
        try:
            _as_part(run, 0)
        finally:
            future.result()


# From this many multiply-adds in each of two products ``both`` runs them side by side: handing one
# to the pool thread costs some tens of microseconds.
_SIDE_BY_SIDE_MACS = 1 << 23


def both(first: Any, second: Any, needed: tuple, macs: int) -> tuple:
    """``(first(), second())`` with None for what is not ``needed``: two independent products of
    a primitive's backward (linear's dL/dx = g W and dL/dW = g^T x, ``macs`` multiply-adds each),
    side by side (``side_by_side``) when both are needed, large, and no graph of the gradient is
    recorded; each then runs on a core of its own with one BLAS thread, where OpenBLAS split
    each product between the cores (bench/bench_models.py's Transformer step at two threads:
    25.8 -> 24.5 ms, 8 alternated processes on a quiet machine; 121 -> 48 ms with a test suite
    on the second core, where OpenBLAS's threads of one product waited on each other). Not the
    LSTM layer's four products of DZ: side by side, with its input projection's rows also shared
    between the threads, its step at two threads took 15.3 ms against 14.4 (8 alternated
    processes; the side by side alone was slower too)."""
    if all(needed) and macs >= _SIDE_BY_SIDE_MACS and not is_grad_enabled():
        return side_by_side(first, second)
    return (first() if needed[0] else None), (second() if needed[1] else None)


# From this many elements an element-wise pass is shared among the BLAS pool's threads
# (``flat_parts``): below, handing half to the pool thread (some tens of microseconds) costs
# about what it saves.
_FLAT_PARTS_ELEMENTS = 1 << 18


def flat_parts(body: Any, ref: Any, *arrays: Any) -> Any:
    """An element-wise pass over arrays of ``ref``'s shape and memory order, shared among the
    BLAS pool's threads: ``body(out, *flat slices)`` on contiguous pieces of their memory, each
    piece on its own thread (NumPy's ufuncs and the compiled kernels release the GIL). Returns
    the output (``ref``'s dtype, shape and memory order), or None when it would run on one
    thread or an array's memory is not in ref's order (the caller then runs the pass whole)."""
    if ref.size < _FLAT_PARTS_ELEMENTS or not two_threads():
        return None
    flat = flat_views(list(arrays), ref)
    if flat is None or any(a.ndim != 1 for a in flat[0]):
        return None
    views, order = flat
    out = np.empty(ref.size, ref.dtype)
    n = ref.size

    def piece(lo: int, hi: int) -> None:
        a, b = n * lo // workers, n * hi // workers
        body(out[a:b], *(v[a:b] for v in views))

    workers = blas_threads()
    each_part(piece, workers, workers)
    return unflat(out, ref.shape, order)


def shared_binary(ufunc: Any, a: Any, b: Any) -> Any:
    """``ufunc(a, b)`` shared among the BLAS pool's threads (``flat_parts``) for two large float
    arrays of one shape, dtype and memory order (a residual block's sum); else None."""
    if getattr(a, "size", 0) < _FLAT_PARTS_ELEMENTS:  # (every add asks: the cheap test first)
        return None
    same = getattr(a, "shape", None) == getattr(b, "shape", 0) and a.dtype == b.dtype
    if not (same and a.dtype.kind == "f"):
        return None
    return flat_parts(lambda o, x, y: ufunc(x, y, out=o), a, a, b)
