"""The BLAS thread pool seen from the primitives: ``one_blas_thread`` for loops of small products.

An LSTM layer's time loop (ops/rnn_cell.py) makes one small product per step (h W^T, 32 x 128 x 512
in bench/bench_models.py), each depending on the last. A second BLAS thread cannot speed such a
product up much, and on a loaded 2-core machine it made the LSTM step 17x slower than one thread
(both threads of every small product must be scheduled at once). handgrad.threads sizes the pool
for the user (``set_num_threads``); this module only narrows it for the length of such a loop.
"""

from __future__ import annotations

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
