"""Thread-pool limits for NumPy's BLAS and OpenMP, in one place.

On small problems, and on a machine whose cores are shared, BLAS threads (and scikit-learn's
OpenMP loops) cost more in synchronisation than they save: the commands and the training job
run with one thread unless asked otherwise. The limit uses threadpoolctl (installed with
scikit-learn); without it, or for ``threads=None``, the context does nothing.
"""

from __future__ import annotations

import contextlib
from typing import Any


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


__all__ = ["limit_threads"]
