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


class _ListHandle:
    """What ``Tensor.register_hook`` returns: ``handle.remove()`` as torch's RemovableHandle, and
    callable, as the remover function it used to be."""

    def __init__(self, hooks: list[Callable], hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        # removing twice is a no-op, as torch's handle
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    __call__ = remove

    def __enter__(self) -> _ListHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


__all__ = ["RemovableHandle"]
