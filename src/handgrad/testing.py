"""``torch.testing.assert_close``: tensors (or numbers, or sequences of them) equal within
torch's default tolerances for their dtype, with torch's arguments."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tensor_base import TensorBase

# torch's defaults, by dtype: (rtol, atol)
_TOLERANCES = {
    np.dtype("float16"): (1e-3, 1e-5),
    np.dtype("float32"): (1.3e-6, 1e-5),
    np.dtype("float64"): (1e-7, 1e-7),
}


def _array(x: Any) -> np.ndarray:
    return x._data if isinstance(x, TensorBase) else np.asarray(x)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_dtype: bool = True,
    msg: str | None = None,
    **kwargs: Any,
) -> None:
    """Raise AssertionError unless |actual - expected| <= atol + rtol |expected| everywhere (the
    same shape; the same dtype unless ``check_dtype=False``; rtol and atol given together or
    both from the dtype's defaults)."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: rtol and atol must both be given or both be omitted")
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise AssertionError(f"assert_close: lengths differ, {len(actual)} != {len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype)
        return
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        raise AssertionError(msg or f"assert_close: the shapes differ, {a.shape} != {e.shape}")
    if check_dtype and a.dtype != e.dtype:
        raise AssertionError(msg or f"assert_close: the dtypes differ, {a.dtype} != {e.dtype}")
    if rtol is None or atol is None:  # (both or neither, checked above: for the type checker)
        rtol, atol = _TOLERANCES.get(np.result_type(a, e), (0.0, 0.0))
    ok = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if not ok.all():
        bad = int((~ok).sum())
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        raise AssertionError(
            msg
            or f"assert_close: {bad} / {a.size} elements differ (greatest absolute difference "
            f"{np.nanmax(diff):.3g}; allowed atol={atol}, rtol={rtol})"
        )


__all__ = ["assert_close"]
