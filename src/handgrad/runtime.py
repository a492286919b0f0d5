"""What PyTorch programs ask of torch's top-level namespace besides tensors: ``compile`` (the
model itself: handgrad runs eagerly), the process-wide precision and determinism settings
(accepted, checked and remembered: handgrad's float32 products are always float32, and its
kernels are deterministic), ``finfo`` / ``iinfo`` (NumPy's, under torch's names and fields)
and ``Size`` (shapes are tuples in handgrad)."""

from __future__ import annotations

from typing import Any

import numpy as np

_matmul_precision = "highest"
_deterministic = False


def compile(model: Any = None, **kwargs: Any) -> Any:  # noqa: A001  (torch's name)
    """``torch.compile(model)`` returns the model (or function) unchanged: handgrad runs eagerly,
    so compiled and eager results are the same. Usable as ``@torch.compile`` and
    ``@torch.compile(mode=...)``."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError(f"compile: expected a Module or a function, got {type(model).__name__}")
    return model


def set_float32_matmul_precision(precision: str) -> None:
    """Accepted: 'highest', 'high' or 'medium' (handgrad's float32 products are always full
    float32, torch's 'highest')."""
    global _matmul_precision
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(
            f"set_float32_matmul_precision: expected 'highest', 'high' or 'medium', got "
            f"{precision!r}"
        )
    _matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted and remembered: every handgrad kernel is deterministic already."""
    global _deterministic
    _deterministic = bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic


class finfo:  # noqa: N801  (torch's name)
    """Machine limits of a float dtype, with torch's fields (bits, eps, max, min, tiny,
    smallest_normal, resolution, dtype)."""

    def __init__(self, dtype: Any = None) -> None:
        from ._tensor_base import get_default_dtype

        info = np.finfo(np.dtype(dtype) if dtype is not None else get_default_dtype())
        self.bits, self.dtype = info.bits, str(info.dtype)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0**-info.precision  # as torch: 1e-06 for float32

    def __repr__(self) -> str:
        return f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, bits={self.bits}, dtype={self.dtype})"  # noqa: E501


class iinfo:  # noqa: N801
    """Limits of an integer dtype, with torch's fields (bits, max, min, dtype)."""

    def __init__(self, dtype: Any) -> None:
        info = np.iinfo(np.dtype(dtype))
        self.bits, self.max, self.min, self.dtype = (
            info.bits,
            int(info.max),
            int(info.min),
            str(info.dtype),
        )

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, bits={self.bits}, dtype={self.dtype})"


class Size(tuple):
    """``torch.Size``: a tuple of ints (handgrad's shapes are plain tuples, equal to it)."""

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


__all__ = [
    "Size",
    "are_deterministic_algorithms_enabled",
    "compile",
    "finfo",
    "get_float32_matmul_precision",
    "iinfo",
    "set_float32_matmul_precision",
    "use_deterministic_algorithms",
]
