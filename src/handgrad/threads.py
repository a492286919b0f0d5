"""``set_num_threads`` / ``get_num_threads``, as torch's: the intra-op thread count a program
asks for. handgrad's arithmetic is NumPy's (its BLAS picks its own threads), so the number is
recorded and reported back, and changes nothing else."""

from __future__ import annotations

import os

_num_threads = os.cpu_count() or 1


def set_num_threads(n: int) -> None:
    global _num_threads
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    _num_threads = n


def get_num_threads() -> int:
    return _num_threads


__all__ = ["get_num_threads", "set_num_threads"]
