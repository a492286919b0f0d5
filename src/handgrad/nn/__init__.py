"""``handgrad.nn``: what a PyTorch user expects under ``torch.nn``."""

from . import functional  # noqa: F401
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential  # noqa: F401
