"""``relu``'s forward as one NumPy call where NumPy's ``maximum`` gives torch's zero signs.

torch's relu keeps -0.0 as -0.0 and a NaN as that NaN (sign included). ``np.maximum(0, a)``
returns its second operand when the two compare equal or the second is NaN, so it keeps both,
in one pass: 0.12 ms against 0.35 ms for the bitwise selection ``_select`` makes (a (32, 16, 32, 32)
float32 activation of bench/bench_models.py's ResNet, one thread, 2026-12-07). Which operand
``maximum`` returns on a tie is NumPy's implementation, not its contract (its SIMD loops and its
scalar loop are separate code), so it is probed once, on every length up to two vector widths
and beyond, contiguous and strided; where it does not hold, ``relu`` keeps the selection.
"""

from __future__ import annotations

import numpy as np

from .blas import flat_parts


def _keeps_signs() -> bool:
    for dtype in (np.float32, np.float64):
        zero = dtype(0)
        for n in (*range(1, 40), 1000, 4099):
            base = np.full(2 * n + 3, -0.0, dtype)
            base[::3], base[1::5] = np.nan, -np.nan
            for a in (base[:n], base[1 : n + 1], base[::2]):
                out = np.empty_like(a)
                for r in (np.maximum(zero, a), np.maximum(zero, a, out=out)):
                    if not np.array_equal(r.view(f"u{a.itemsize}"), a.view(f"u{a.itemsize}")):
                        return False
    return True


KEEPS_SIGNS = _keeps_signs()


def relu_array(a: np.ndarray) -> np.ndarray | None:
    """max(a, 0) with -0.0 and NaN (and their signs) kept, or None where NumPy would not keep them
    (then the caller selects bit by bit). Large arrays are shared among the BLAS pool's threads
    (``blas.flat_parts``)."""
    if not KEEPS_SIGNS or a.dtype not in (np.float32, np.float64):
        return None
    zero = a.dtype.type(0)
    out = flat_parts(lambda o, x: np.maximum(zero, x, out=o), a, a)
    return out if out is not None else np.maximum(zero, a)
