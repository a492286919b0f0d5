"""``RemovableHandle``, as ``torch.utils.hooks``: what every ``register_*_hook`` returns."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable


class RemovableHandle:
    """Returned by ``register_forward_hook``, ``register_step_pre_hook`` and friends:
    ``handle.remove()`` unregisters the hook (also usable as a context manager)."""

    _next_id = 0

    def __init__(self, store: OrderedDict[int, Callable]) -> None:
        self._store = store
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._store.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


__all__ = ["RemovableHandle"]
