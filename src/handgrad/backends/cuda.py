"""``handgrad.backends.cuda``: torch's CUDA matmul flags, with torch's defaults; no effect."""

from __future__ import annotations

from types import SimpleNamespace


def is_built() -> bool:
    return False


matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)
