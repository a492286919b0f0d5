"""``handgrad.accelerator``, as ``torch.accelerator``: there is none; handgrad runs on the CPU."""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False) -> None:
    """None: no accelerator (torch returns None too when none is present)."""
    return


__all__ = ["current_accelerator", "device_count", "is_available"]
