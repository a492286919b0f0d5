"""``handgrad.cuda``: what a PyTorch program asks of ``torch.cuda`` on a machine without a GPU.

handgrad runs on the CPU only, so ``is_available()`` is False and ``device_count()`` 0; the
seeding and cache calls programs make unconditionally are accepted and do nothing, as torch's
do when CUDA is absent. The usual idiom then picks the CPU:
``device = torch.device("cuda" if torch.cuda.is_available() else "cpu")``.
"""

from __future__ import annotations


def is_available() -> bool:
    """False: handgrad has no GPU backend."""
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No GPU generator to seed (torch ignores the call without CUDA too)."""


def manual_seed_all(seed: int) -> None:
    """No GPU generators to seed."""


def empty_cache() -> None:
    """No GPU memory to release."""


__all__ = [
    "device_count",
    "empty_cache",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
]


from . import amp  # noqa: F401,E402  (torch.cuda.amp.GradScaler / autocast, the older spelling)
