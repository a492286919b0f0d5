"""Utilities outside the engine. ``keep_freed_memory()`` is the allocator opt-in that training
entry points apply (see ``handgrad.utils.allocator``)."""

from .allocator import keep_freed_memory

__all__ = ["keep_freed_memory"]
