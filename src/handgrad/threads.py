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
with one thread unless asked otherwise (``limit_threads``). ``one_blas_thread`` (ops/blas.py) runs
a block on one BLAS thread, for loops of small sequential products.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from .ops.blas import blas_threads, one_blas_thread

_limiter: Any = None  # the active set_num_threads limit (kept alive: it holds the setting)


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


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the matrix products (NumPy's BLAS), as ``torch.set_num_threads``.

    The pool is reached through threadpoolctl (in the ``extras``); without it the call is checked
    and then changes nothing, with a warning, so that a ported program still runs."""
    global _limiter
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(
            f"set_num_threads: expected a positive integer number of threads, got {n!r}"
        )
    try:
        import threadpoolctl
    except ImportError:
        warnings.warn(
            "set_num_threads: threadpoolctl is not installed (pip install 'handgrad[extras]'), "
            "so NumPy's BLAS keeps its own thread count",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    _limiter = threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads the matrix products use (NumPy's BLAS pool; 1 if NumPy has no
    threaded BLAS), as ``torch.get_num_threads``."""
    return blas_threads()


__all__ = ["get_num_threads", "limit_threads", "one_blas_thread", "set_num_threads"]
