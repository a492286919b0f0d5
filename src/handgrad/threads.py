"""Thread-pool limits for NumPy's BLAS and OpenMP, in one place; and torch's
``set_num_threads`` / ``get_num_threads``.

On small problems, and on a machine whose cores are shared, BLAS threads (and scikit-learn's
OpenMP loops) cost more in synchronisation than they save: the commands and the training job
run with one thread unless asked otherwise. The limit uses threadpoolctl (installed with
scikit-learn); without it, or for ``threads=None``, the context does nothing.

``set_num_threads(n)`` (a PyTorch program's call, ``hg.set_num_threads``) records the number
and ``get_num_threads()`` reports it back; handgrad's arithmetic is NumPy's, whose BLAS picks
its own threads, so nothing else changes (use ``limit_threads`` for that).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

_num_threads = os.cpu_count() or 1


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
    global _num_threads
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    _num_threads = n


def get_num_threads() -> int:
    return _num_threads


__all__ = ["get_num_threads", "limit_threads", "set_num_threads"]
