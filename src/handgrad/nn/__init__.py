"""``handgrad.nn``: what a PyTorch user expects under ``torch.nn``."""

from . import functional  # noqa: F401
