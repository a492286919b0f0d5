"""Keep freed memory in the process, as PyTorch's caching allocator does.

A training step frees and re-allocates the same large arrays (activations, gradients, optimizer
temporaries) every iteration. glibc returns blocks above its mmap threshold to the kernel on
``free`` and gets fresh zeroed pages on the next ``malloc``: for the float64 MLP of bench/ that is
about 750 page faults and 3 MB of zeroing per step, 40% of the step. Raising the mmap and trim
thresholds lets freed blocks be reused instead. Set ``HANDGRAD_KEEP_MEMORY=0`` to leave the
allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(mmap_threshold: int = 64 << 20, trim_threshold: int = 512 << 20) -> bool:
    """Ask glibc to serve blocks up to ``mmap_threshold`` bytes from its heap and to keep up to
    ``trim_threshold`` bytes of free heap. Returns whether the setting took effect (False off
    Linux/glibc or when disabled by the environment)."""
    if os.environ.get("HANDGRAD_KEEP_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        # glibc only (musl has no mallopt of this meaning): the lookup raises AttributeError
        _ = libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
