"""Utilities outside the engine, and what PyTorch programs import from ``torch.utils``.

- ``keep_freed_memory()``: the allocator opt-in that training entry points apply (see
  ``handgrad.utils.allocator``);
- ``hooks``: ``RemovableHandle``, as ``torch.utils.hooks``;
- ``checkpoint``: ``torch.utils.checkpoint`` (the function called, every activation kept);
- ``data``: ``handgrad.data`` under torch's path (see ``utils/data.py``), imported by
  ``handgrad/__init__`` once ``handgrad.data`` exists, since ``nn`` imports ``utils.hooks`` first.
"""

from . import checkpoint, hooks  # noqa: F401
from .allocator import keep_freed_memory

__all__ = ["checkpoint", "keep_freed_memory", "hooks"]
