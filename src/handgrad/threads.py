"""``set_num_threads`` / ``get_num_threads``, as torch's: how many threads handgrad's compute uses.

handgrad's parallelism is the BLAS library under NumPy (OpenBLAS in NumPy's wheels): every matrix
product of a convolution, a linear layer or a recurrent step runs on its thread pool, which by
default has one thread per core, as PyTorch's intra-op pool has. These functions set and read
that pool's size for the whole process, through threadpoolctl (the one portable way to reach
the BLAS library NumPy loaded). Element-wise NumPy work stays on one thread, as it always is.
"""

from __future__ import annotations

from typing import Any

_limiter: Any = None  # the active threadpoolctl limit (kept alive: it holds the setting)


def _blas_pools() -> list[dict]:
    import threadpoolctl

    return [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]


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
    return max((p.get("num_threads", 1) for p in _blas_pools()), default=1)


__all__ = ["get_num_threads", "set_num_threads"]
