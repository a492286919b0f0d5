"""Thread pools, in one place: ``set_num_threads`` / ``get_num_threads`` (as torch's), the
``limit_threads`` context of the commands and the training job, and ``one_blas_thread`` for loops
of small products.

handgrad's parallelism is the BLAS library under NumPy (OpenBLAS in NumPy's wheels): every matrix
product of a convolution, a linear layer or an attention runs on its thread pool, which by default
has one thread per core, as PyTorch's intra-op pool has. ``set_num_threads`` and
``get_num_threads`` set and read that pool's size for the whole process, through threadpoolctl
(the one portable way to reach the BLAS library NumPy loaded). Element-wise NumPy work stays on
one thread, as it always is.

On small problems, and on a machine whose cores are shared, BLAS threads (and scikit-learn's
OpenMP loops) cost more in synchronisation than they save: the commands and the training job run
with one thread unless asked otherwise (``limit_threads``). ``one_blas_thread`` runs a block on
one BLAS thread: for loops of small sequential products (an LSTM layer's per-step h W^T,
32 x 128 x 512 in bench/bench_models.py), which a second thread cannot speed up much and which,
on a loaded 2-core machine, made the LSTM step 17x slower with two threads than with one (both
threads of every small product must be scheduled at once).
"""

from __future__ import annotations

import contextlib
from typing import Any

_limiter: Any = None  # the active set_num_threads limit (kept alive: it holds the setting)
_libs: list | None = None  # threadpoolctl's controllers of the BLAS libraries, found once


def limit_threads(threads: int | None, user_api: str | None = "blas") -> Any:
    """A context limiting the thread pools of ``user_api`` ("blas", "openmp", or None for every
    pool threadpoolctl knows) to ``threads`` threads."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api=user_api)


def _blas_libs() -> list:
    global _libs
    if _libs is None:
        import threadpoolctl

        _libs = list(threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers)
    return _libs


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the matrix products (NumPy's BLAS), as ``torch.set_num_threads``."""
    import threadpoolctl

    global _limiter
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer number of threads, got "
                         f"{n!r}")
    _limiter = threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads the matrix products use (NumPy's BLAS pool; 1 if NumPy has no
    threaded BLAS), as ``torch.get_num_threads``."""
    return max((lib.get_num_threads() or 1 for lib in _blas_libs()), default=1)


class one_blas_thread:
    """``with one_blas_thread():`` the block's matrix products run on one BLAS thread; the
    previous sizes are restored on exit. About 10 us when the pool has more than one thread,
    nothing otherwise."""

    def __enter__(self) -> None:
        self.saved: list = []
        for lib in _blas_libs():
            n = lib.get_num_threads()
            if n and n > 1:
                self.saved.append((lib, n))
                lib.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        for lib, n in self.saved:
            lib.set_num_threads(n)


__all__ = ["get_num_threads", "limit_threads", "one_blas_thread", "set_num_threads"]
